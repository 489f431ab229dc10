"""Growers in the conversation: a cited honeysuckle answer, an expert when the base has none, the field's readings,
a batch's trace chain, and a policy question answered from the policy base (or offered as a same-day case)."""

from __future__ import annotations

import datetime as dt

import pytest
from rasa_sdk.events import ActiveLoop

from actions.growers import (
    ActionAnswerFarming,
    ActionFieldConditions,
    ActionStartExpert,
    ActionSubmitExpert,
    ActionTraceQuery,
    reading_focus,
)
from actions.report import ActionStartReport
from action_support import DOMAIN, make_tracker, said, slots_of
from workflow.accounts import AccountService
from workflow.farms import Farms

GROWER = "wx-grower-liu"
UTC = dt.timezone.utc


def grower(text, **kwargs):
    return make_tracker(text, sender=GROWER, channel="wechat", **kwargs)


async def test_a_question_the_base_knows_gets_its_answer_with_the_source(svc, dispatcher):
    await ActionAnswerFarming().run(dispatcher, grower("金银花什么时候打顶", intent="ask_farming"), DOMAIN)
    text = said(dispatcher)
    assert "三四十厘米" in text and "来源：" in text and "核对日期：" in text and "问专家" in text


async def test_a_question_the_base_cannot_answer_goes_to_an_expert(svc, session_factory, dispatcher, case_service):
    AccountService(session_factory).create("lim", "Julu2026console", role="expert", display_name="李明")
    events = await ActionAnswerFarming().run(
        dispatcher, grower("俺家金银花旁边的鱼塘今年鱼老是翻白肚", intent="ask_farming"), DOMAIN)
    case = case_service.get_case(slots_of(events)["last_case_id"])
    assert case.kind == "expert" and case.assignee_name == "李明" and case.reporter == GROWER
    assert "知识库里没有把握的答案" in said(dispatcher) and "由李明为您解答" in said(dispatcher)
    assert case.case_id in said(dispatcher) and "前前" not in said(dispatcher)


async def test_asking_for_an_expert_with_the_question_files_it_at_once(svc, dispatcher, case_service):
    events = await ActionStartExpert().run(
        dispatcher, grower("我想问问专家 俺家金银花叶子背面有一层白粉是咋回事", intent="ask_expert"), DOMAIN)
    case = case_service.get_case(slots_of(events)["last_case_id"])
    assert case.kind == "expert" and "白粉" in case.description
    assert "正在为您安排专家" in said(dispatcher)  # no expert account yet: a dispatcher assigns one


async def test_asking_for_an_expert_without_a_question_asks_for_it(svc, dispatcher, case_service):
    events = await ActionStartExpert().run(dispatcher, grower("能找个专家给看看不", intent="ask_expert"), DOMAIN)
    assert ActiveLoop("expert_form") in events and said(dispatcher) == ""
    filled = grower("花蕾发黑掉了一地", slots={"expert_question": "花蕾发黑掉了一地"})
    events = await ActionSubmitExpert().run(dispatcher, filled, DOMAIN)
    assert case_service.get_case(slots_of(events)["last_case_id"]).description == "花蕾发黑掉了一地"


@pytest.mark.parametrize("text, focus", [("我家地的墒情怎么样", "soil_moisture"), ("地里干不干", "soil_moisture"),
                                         ("这两天虫情咋样", "pest_count"), ("地里情况怎么样", None)])
def test_it_knows_what_a_field_question_is_about(text, focus):
    assert reading_focus(text) == focus


async def test_the_field_question_answers_from_the_growers_plots(svc, session_factory, clock, dispatcher):
    await ActionFieldConditions().run(dispatcher, grower("我家地的墒情怎么样", intent="ask_field_conditions"), DOMAIN)
    assert "还没有查到您名下登记的地块" in said(dispatcher)

    farms = Farms(session_factory, clock=clock)
    farms.create_plot("HP-001", "老刘家东地", "官亭镇", growth_stage="花期")
    farms.add_grower(["HP-001"], "刘建国", channel="wechat", sender_id=GROWER)
    farms.register_device("SOIL-01", "HP-001", "soil_probe")
    result = svc.sensors.ingest([{"device_id": "SOIL-01", "kind": "soil_moisture", "value": 23.5, "unit": "%",
                                  "depth_cm": 20, "measured_at": (clock.now - dt.timedelta(hours=2)).isoformat()}])
    assert result.accepted == 1
    answered = type(dispatcher)()
    await ActionFieldConditions().run(answered, grower("我家地的墒情怎么样", intent="ask_field_conditions"), DOMAIN)
    assert "老刘家东地" in said(answered) and "23.5" in said(answered)


async def test_a_trace_code_shows_the_chain_and_an_unknown_one_says_how_codes_look(svc, session_factory, clock,
                                                                                  dispatcher):
    await ActionTraceQuery().run(dispatcher, grower("查一下溯源码 JYH-2026-7K3QX", intent="ask_trace"), DOMAIN)
    assert "没有查到溯源码“JYH-2026-7K3QX”" in said(dispatcher)

    farms = Farms(session_factory, clock=clock)
    farms.create_plot("HP-002", "刘家西地", "官亭镇")
    liu = farms.add_grower(["HP-002"], "刘建国", channel="wechat", sender_id="wx-grower-2")
    code = svc.trace.create_batch("HP-002", liu.id, created_by="农业站")
    svc.trace.record_event(code, "planting", occurred_at=clock.now - dt.timedelta(days=400), what="栽植金银花苗",
                           place="刘家西地", actor="刘建国", recorded_by="农业站")
    shown = type(dispatcher)()
    await ActionTraceQuery().run(shown, grower(f"这包是哪产的 {code}", intent="ask_trace",
                                               entities=[{"entity": "trace_code", "value": code}]), DOMAIN)
    assert code in said(shown) and "刘家西地" in said(shown) and "栽植金银花苗" in said(shown)


async def test_no_trace_code_asks_for_the_label(svc, dispatcher):
    await ActionTraceQuery().run(dispatcher, grower("这包金银花是哪产的", intent="ask_trace"), DOMAIN)
    assert "溯源码" in said(dispatcher) and "JYH-2026-" in said(dispatcher)


POLICY = {"category": {"name": "civil_affairs", "confidence": 0.7}, "category_ranking": [],
          "matter_type": {"name": "policy_consultation", "confidence": 0.8}}


async def test_a_policy_question_gets_the_policy_bases_answer_and_the_offer_of_a_case(svc, dispatcher):
    events = await ActionStartReport().run(dispatcher, make_tracker("高龄补贴怎么申请", parse_extra=POLICY), DOMAIN)
    text = said(dispatcher)
    assert "政策参考：" in text and "来源：" in text and "咨询：" in text and "算了" in text
    assert ActiveLoop("report_form") in events


async def test_a_policy_question_the_base_cannot_answer_becomes_a_same_day_consultation(svc, dispatcher):
    await ActionStartReport().run(dispatcher, make_tracker("村里的祠堂能不能申请文物保护", parse_extra=POLICY), DOMAIN)
    assert "登记成政策咨询，当天答复" in said(dispatcher)
