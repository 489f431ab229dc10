"""The resident rates a resolved case in their own words; what they are told; case updates pushed through Rasa."""

from __future__ import annotations

import re

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.notify import ActionNotifyCaseUpdate
from actions.rating import ActionRateCase
from actions.report import ActionSubmitReport
from action_support import DOMAIN, make_tracker, said
from workflow.status import CaseStatus
from workflow.transitions import Actor

FILLED = {"description": "村东头路灯坏了一个月了 晚上黑咕隆咚的", "category": "city_management",
          "suggested_category": "city_management", "category_confidence": 0.5,
          "category_ranking": [{"name": "city_management", "confidence": 0.5}], "matter_type": "other",
          "township": "王虎寨镇", "village": None, "phone": "declined", "needs_review": False, "confirmed": True}


async def resolved_case(svc, sender="resident-1") -> str:
    told = CollectingDispatcher()
    await ActionSubmitReport().run(told, make_tracker("对", slots=FILLED, intent="affirm", sender=sender), DOMAIN)
    case_id = re.search(r"JL\d{8}-\d{4}", said(told)).group(0)
    loop, dispatcher = svc.lifecycle, Actor.dispatcher("调度员小王")
    loop.accept(case_id, dispatcher, importance_level=1)
    unit = loop.assign(case_id, dispatcher).lead_unit.code
    loop.acknowledge(case_id, Actor.unit(unit))
    loop.resolve(case_id, Actor.unit(unit), result="已更换路灯灯泡，恢复照明")
    return case_id


@pytest.mark.parametrize("text, intent, rating", [("满意", "rate_satisfied", "satisfied"),
                                                  ("还行吧", "rate_basically_satisfied", "basically_satisfied")])
async def test_a_rating_closes_the_resolved_case(svc, dispatcher, text, intent, rating):
    case_id = await resolved_case(svc)
    await ActionRateCase().run(dispatcher, make_tracker(text, intent=intent), DOMAIN)
    case = svc.lifecycle.get(case_id)
    assert case.status is CaseStatus.CLOSED and case.rating.value == rating
    assert "感谢您的评价" in said(dispatcher) and case_id in said(dispatcher)


async def test_unsatisfied_reopens_once_then_goes_to_review(svc, dispatcher):
    case_id = await resolved_case(svc)
    await ActionRateCase().run(dispatcher, make_tracker("根本没解决 灯还是不亮", intent="rate_unsatisfied"), DOMAIN)
    case = svc.lifecycle.get(case_id)
    assert case.status is CaseStatus.REOPENED and case.rating_comment == "根本没解决 灯还是不亮"
    assert "重新交办" in said(dispatcher) and case.lead_unit.name in said(dispatcher)

    unit = Actor.unit(case.lead_unit.code)
    svc.lifecycle.acknowledge(case_id, unit)
    svc.lifecycle.resolve(case_id, unit, result="再次检修线路")
    second = CollectingDispatcher()
    await ActionRateCase().run(second, make_tracker("还是老样子", intent="rate_unsatisfied"), DOMAIN)
    case = svc.lifecycle.get(case_id)
    assert case.status is CaseStatus.RETURNED and case.needs_review
    assert "复核" in said(second)


async def test_only_the_reporter_can_rate_and_nothing_to_rate_is_said_plainly(svc, dispatcher):
    case_id = await resolved_case(svc, sender="owner")
    await ActionRateCase().run(dispatcher, make_tracker("不满意", intent="rate_unsatisfied", sender="stranger"), DOMAIN)
    assert "没有等待评价的工单" in said(dispatcher)
    other = CollectingDispatcher()
    named = make_tracker(f"{case_id} 不满意", intent="rate_unsatisfied", sender="stranger",
                         entities=[{"entity": "case_id", "value": case_id}])
    await ActionRateCase().run(other, named, DOMAIN)
    assert "没有查到您名下" in said(other)
    assert svc.lifecycle.get(case_id).status is CaseStatus.RESOLVED


async def test_a_confident_ordinary_report_is_accepted_at_once(svc, dispatcher):
    await ActionSubmitReport().run(dispatcher, make_tracker(
        "对", slots={**FILLED, "category_confidence": 0.97}, intent="affirm"), DOMAIN)
    case_id = re.search(r"JL\d{8}-\d{4}", said(dispatcher)).group(0)
    assert svc.lifecycle.get(case_id).status is CaseStatus.ACCEPTED
    assert "已为您登记并受理" in said(dispatcher) and "办理时限" in said(dispatcher)


async def test_an_unsure_or_emergency_report_waits_for_a_dispatcher(svc, dispatcher):
    await ActionSubmitReport().run(dispatcher, make_tracker(
        "对", slots={**FILLED, "category_confidence": 0.97, "matter_type": "emergency"}, intent="affirm"), DOMAIN)
    case_id = re.search(r"JL\d{8}-\d{4}", said(dispatcher)).group(0)
    assert svc.lifecycle.get(case_id).status is CaseStatus.REPORTED
    assert "调度员受理后" in said(dispatcher)


async def test_a_pushed_update_is_said_to_the_resident(dispatcher):
    tracker = make_tracker("", intent="EXTERNAL_case_update", entities=[
        {"entity": "notification_text", "value": "您的工单JL20261130-0001已办结：已更换路灯。请评价：满意/基本满意/不满意"},
        {"entity": "case_id", "value": "JL20261130-0001"}])
    events = await ActionNotifyCaseUpdate().run(dispatcher, tracker, DOMAIN)
    assert "已更换路灯" in said(dispatcher)
    assert {"event": "slot", "timestamp": None, "name": "last_case_id", "value": "JL20261130-0001"} in events


@pytest.mark.parametrize("text, rating", [("办得不错 满意了", "satisfied"), ("不太满意 拖太久", "unsatisfied"),
                                          ("没怎么满意", "unsatisfied"), ("基本上满意吧", "basically_satisfied"),
                                          ("还算满意", "basically_satisfied"), ("非常满意", "satisfied")])
async def test_the_offered_words_said_outright_win_over_the_intent_model(svc, dispatcher, text, rating):
    case_id = await resolved_case(svc)
    # The intent model read it the other way round (as it did for "办得不错 满意了"): the words decide.
    wrong = "rate_unsatisfied" if rating != "unsatisfied" else "rate_satisfied"
    await ActionRateCase().run(dispatcher, make_tracker(text, intent=wrong), DOMAIN)
    assert svc.lifecycle.get(case_id).to_dict()["rating"] == rating
