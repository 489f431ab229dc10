""""算了 / 取消": a report, 帮我办 request or redemption in progress is dropped and nothing is filed; "算了" as the
answer to the phone question still means "no number"."""

from __future__ import annotations

import pytest
from rasa_sdk.events import ActiveLoop

from actions.cancel import ActionCancel
from actions.report import ValidateReportForm
from action_support import DOMAIN, make_tracker, said, slots_of


@pytest.mark.parametrize("form, told", [("report_form", "不登记了"), ("proxy_form", "帮我办"),
                                        ("redeem_form", "不兑换了")])
async def test_cancelling_ends_the_form_and_clears_it(form, told, dispatcher):
    tracker = make_tracker("不报了", intent="cancel", active_loop=form,
                           slots={"requested_slot": "township", "description": "路灯坏了", "beneficiary": "我妈",
                                  "pending_redemption": {"code": "soap"}})
    events = await ActionCancel().run(dispatcher, tracker, DOMAIN)
    assert ActiveLoop(None) in events
    assert told in said(dispatcher)
    cleared = slots_of(events)
    assert cleared["requested_slot"] is None
    assert all(value is None for value in cleared.values())


async def test_cancelling_a_report_files_nothing(svc, dispatcher, case_service):
    tracker = make_tracker("算了 不弄了", intent="cancel", active_loop="report_form",
                           slots={"requested_slot": "confirmed", "description": "路灯坏了", "township": "官亭镇"})
    await ActionCancel().run(dispatcher, tracker, DOMAIN)
    assert case_service.cases_of_reporter("resident-1") == []


@pytest.mark.parametrize("text", ["算了", "不用了", "算了吧 不留了"])
async def test_at_the_phone_question_it_means_no_number(text, dispatcher):
    tracker = make_tracker(text, intent="cancel", active_loop="report_form", slots={"requested_slot": "phone"})
    assert ValidateReportForm().extract_phone(dispatcher, tracker, DOMAIN) == {"phone": "declined"}


@pytest.mark.parametrize("text", ["算了不报了", "取消"])
async def test_a_clear_stop_at_the_phone_question_is_not_taken_as_an_answer(text, dispatcher):
    tracker = make_tracker(text, intent="cancel", active_loop="report_form", slots={"requested_slot": "phone"})
    assert ValidateReportForm().extract_phone(dispatcher, tracker, DOMAIN) == {}  # the form rejects: the rule cancels


@pytest.mark.parametrize("intent", ["cancel", "ask_points", "ask_mall_items"])
async def test_cancelling_or_a_points_question_is_not_read_as_the_township(intent, dispatcher):
    tracker = make_tracker("取消", intent=intent, active_loop="report_form", slots={"requested_slot": "township"})
    assert ValidateReportForm().extract_township(dispatcher, tracker, DOMAIN) == {}


async def test_with_nothing_in_progress_it_says_so(dispatcher):
    events = await ActionCancel().run(dispatcher, make_tracker("取消", intent="cancel"), DOMAIN)
    assert events == [ActiveLoop(None)] and "没有正在登记" in said(dispatcher)
