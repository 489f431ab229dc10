"""Grid workers in the conversation: binding the chat with the console's code, "网格待办", patrol reports with
the grid filled in; residents asking for a grid's cases get told it is for grid workers."""

from __future__ import annotations

import pytest

from actions.grid_worker import ActionBindAccount, ActionGridCases
from actions.report import ActionStartReport, ActionSubmitReport
from action_support import DOMAIN, make_tracker, said, slots_of
from workflow.cases import NewReport

WORKER_CHAT = "wx-worker-liu"
PARSE = {"category": {"name": "city_management", "confidence": 0.7},
         "category_ranking": [{"name": "city_management", "confidence": 0.7}],
         "matter_type": {"name": "other", "confidence": 0.9}}




@pytest.fixture
def bound(svc, houpeng_worker, dispatcher):
    code = svc.grid_work.issue_binding_code(houpeng_worker.id)
    return code


async def bind(code, dispatcher, sender=WORKER_CHAT):
    tracker = make_tracker(f"绑定 {code}", intent="bind_account", sender=sender, channel="wechat",
                           entities=[{"entity": "binding_code", "value": code}])
    return await ActionBindAccount().run(dispatcher, tracker, DOMAIN)


async def test_the_console_code_binds_the_chat_once(svc, houpeng_worker, dispatcher):
    code = svc.grid_work.issue_binding_code(houpeng_worker.id)
    await bind(code, dispatcher)
    assert "绑定成功：刘秀兰，负责后彭村第一网格" in said(dispatcher)
    assert svc.grid_work.worker_of_sender("wechat", WORKER_CHAT).account_id == houpeng_worker.id

    again = type(dispatcher)()
    await bind(code, again, sender="wx-someone-else")
    assert "绑定码不对或已过期" in said(again)
    assert svc.grid_work.worker_of_sender("wechat", "wx-someone-else") is None


async def test_a_code_is_read_from_the_text_when_no_entity_came(svc, houpeng_worker, dispatcher):
    code = svc.grid_work.issue_binding_code(houpeng_worker.id)
    tracker = make_tracker(f"网格员绑定{code}", intent="bind_account", sender=WORKER_CHAT, channel="wechat")
    await ActionBindAccount().run(dispatcher, tracker, DOMAIN)
    assert "绑定成功" in said(dispatcher)


async def test_guessing_codes_is_locked_out(svc, houpeng_worker, dispatcher):
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        await bind(guess, type(dispatcher)())
    code = svc.grid_work.issue_binding_code(houpeng_worker.id)
    await bind(code, dispatcher)
    assert "错误次数太多" in said(dispatcher)


async def test_grid_cases_lists_the_open_cases_of_the_workers_grid(svc, bound, dispatcher, case_service):
    await bind(bound, type(dispatcher)())
    filed = case_service.file_report(NewReport(description="后彭村村口的路灯坏了一个星期", category_code="city_management",
                                               matter_type="other", township="官亭镇", village="后彭村",
                                               reporter_id="wx-resident-9", channel="wechat"))
    elsewhere = case_service.file_report(NewReport(description="东关村的垃圾没人拉", category_code="city_management",
                                                   matter_type="other", township="巨鹿镇", village="东关村",
                                                   reporter_id="wx-resident-8", channel="wechat"))
    tracker = make_tracker("网格待办", intent="ask_grid_cases", sender=WORKER_CHAT, channel="wechat")
    await ActionGridCases().run(dispatcher, tracker, DOMAIN)
    text = said(dispatcher)
    assert filed.case_id in text and "后彭村村口的路灯" in text
    assert elsewhere.case_id not in text


async def test_a_resident_asking_for_grid_cases_is_told_it_is_for_grid_workers(svc, dispatcher):
    await ActionGridCases().run(dispatcher, make_tracker("网格待办", intent="ask_grid_cases"), DOMAIN)
    assert "给网格员用的" in said(dispatcher) and "我的工单" in said(dispatcher)


async def test_a_workers_report_is_a_patrol_report_of_their_grid(svc, bound, dispatcher, case_service):
    await bind(bound, type(dispatcher)())
    tracker = make_tracker("巡查发现村北头的排水沟堵了", sender=WORKER_CHAT, channel="wechat", parse_extra=PARSE)
    events = await ActionStartReport().run(dispatcher, tracker, DOMAIN)
    slots = slots_of(events)
    assert (slots["township"], slots["village"]) == ("官亭镇", "后彭村")
    assert slots["patrol_grid"]["grid_code"] == "guanting_houpeng_g1"
    assert slots["phone"] == "declined"  # the county knows its grid worker: no call-back number asked
    assert "收到巡查上报（后彭村第一网格）" in said(dispatcher)

    filing = make_tracker("对", intent="affirm", sender=WORKER_CHAT, channel="wechat", slots={
        **slots, "description": "巡查发现村北头的排水沟堵了", "confirmed": True})
    submitted = await ActionSubmitReport().run(dispatcher, filing, DOMAIN)
    case = case_service.get_case(slots_of(submitted)["last_case_id"])
    assert case.kind == "patrol" and case.grid_code == "guanting_houpeng_g1"


async def test_a_resident_report_is_not_a_patrol(svc, houpeng_worker, dispatcher):
    tracker = make_tracker("村北头的排水沟堵了 官亭镇后彭村", sender="wx-resident-3", channel="wechat",
                           parse_extra=PARSE)
    slots = slots_of(await ActionStartReport().run(dispatcher, tracker, DOMAIN))
    assert slots["patrol_grid"] is None and slots["phone"] is None
    assert "巡查" not in said(dispatcher)
