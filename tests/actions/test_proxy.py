"""帮我办 in the conversation: who, where and what are collected; the request is filed as a proxy case for the
grid worker of the village; the requester is told who acts and by when."""

from __future__ import annotations

import pytest
from rasa_sdk.events import ActiveLoop

from actions.proxy import (
    ActionAskProxyConfirmed,
    ActionStartProxy,
    ActionSubmitProxy,
    ValidateProxyForm,
    beneficiary_in,
    looks_like_proxy,
)
from actions.report import ActionStartReport
from action_support import DOMAIN, make_tracker, said, slots_of

PARSE = {"category": {"name": "civil_affairs", "confidence": 0.8},
         "category_ranking": [{"name": "civil_affairs", "confidence": 0.8}],
         "matter_type": {"name": "public_service", "confidence": 0.7}}



@pytest.mark.parametrize("text, who", [
    ("帮我家老人办一下高龄补贴", "我家老人"), ("俺娘腿脚不好能不能帮她办个残疾证", "俺娘"),
    ("我在外地打工，家里老人的医保怎么交", "家里老人"), ("帮我爸办下养老认证", "我爸"), ("帮忙办个低保", None),
])
def test_it_reads_who_the_request_is_for(text, who):
    assert beneficiary_in(text) == who


async def test_it_starts_a_request_from_the_first_message(svc, dispatcher):
    tracker = make_tracker("帮我家老人办一下高龄补贴 官亭镇后彭村的", intent="request_proxy", parse_extra=PARSE)
    events = await ActionStartProxy().run(dispatcher, tracker, DOMAIN)
    slots = slots_of(events)
    assert slots["beneficiary"] == "我家老人" and slots["proxy_matter"].startswith("帮我家老人办一下高龄补贴")
    assert (slots["township"], slots["village"]) == ("官亭镇", "后彭村")
    assert ActiveLoop("proxy_form") in events
    assert "网格员" in said(dispatcher) and "两个工作日" in said(dispatcher)


async def test_the_form_asks_who_then_where(svc, dispatcher):
    form = ValidateProxyForm()
    slots = await form.required_slots([], dispatcher, make_tracker(""), DOMAIN)
    assert slots == ["beneficiary", "township", "village", "phone", "confirmed"]
    asked = make_tracker("我母亲王秀英 78岁了", intent="inform", slots={"requested_slot": "beneficiary"},
                         active_loop="proxy_form")
    value = form.extract_beneficiary(dispatcher, asked, DOMAIN)["beneficiary"]
    assert form.validate_beneficiary(value, dispatcher, asked, DOMAIN) == {"beneficiary": "我母亲王秀英 78岁了"}
    too_short = form.validate_beneficiary("妈", dispatcher, asked, DOMAIN)
    assert too_short == {"beneficiary": None} and "帮谁办" in said(dispatcher)


async def test_the_village_is_resolved_in_the_township_or_kept_as_said(svc, dispatcher):
    form = ValidateProxyForm()
    tracker = make_tracker("后彭", intent="inform", slots={"requested_slot": "village", "township": "官亭镇"},
                           active_loop="proxy_form")
    assert form.validate_village("后彭", dispatcher, tracker, DOMAIN) == {"village": "后彭村"}
    assert form.validate_village("小刘庄", dispatcher, tracker, DOMAIN) == {"village": "小刘庄"}


async def test_no_means_asking_who_and_where_again_keeping_the_matter(svc, dispatcher):
    result = ValidateProxyForm().validate_confirmed(False, dispatcher, make_tracker("不对"), DOMAIN)
    assert result["beneficiary"] is None and result["township"] is None and "proxy_matter" not in result


async def test_the_summary_says_who_what_where_and_the_two_working_days(svc, dispatcher):
    tracker = make_tracker("", slots={"beneficiary": "我母亲王秀英", "proxy_matter": "帮我妈办一下高龄补贴",
                                      "township": "官亭镇", "village": "后彭村", "phone": "13912345678"})
    await ActionAskProxyConfirmed().run(dispatcher, tracker, DOMAIN)
    text = said(dispatcher)
    assert "帮谁办：我母亲王秀英" in text and "办什么：帮我妈办一下高龄补贴" in text and "住址：官亭镇后彭村" in text
    assert "两个工作日" in text


async def test_a_relatives_request_goes_to_the_villages_grid_worker(svc, houpeng_worker, dispatcher, case_service):
    tracker = make_tracker("对", intent="affirm", sender="wx-son-in-beijing", channel="wechat", slots={
        "beneficiary": "我母亲王秀英", "proxy_matter": "我在北京打工，帮我妈办一下高龄补贴",
        "category": "civil_affairs", "suggested_category": "civil_affairs", "category_confidence": 0.8,
        "matter_type": "public_service", "township": "官亭镇", "village": "后彭村", "phone": "13912345678",
        "confirmed": True})
    events = await ActionSubmitProxy().run(dispatcher, tracker, DOMAIN)
    case_id = slots_of(events)["last_case_id"]
    case = case_service.get_case(case_id)
    assert case.kind == "proxy" and case.beneficiary == "我母亲王秀英"
    assert case.assignee_name == "刘秀兰" and case.reporter == "wx-son-in-beijing"
    text = said(dispatcher)
    assert case_id in text and "网格员刘秀兰" in text and "帮我办" in text


async def test_a_request_in_a_village_without_a_worker_waits_for_a_dispatcher(svc, dispatcher, case_service):
    tracker = make_tracker("对", intent="affirm", slots={
        "beneficiary": "俺爹", "proxy_matter": "俺爹瘫在床上 想办个残疾证", "category": "disabled_persons",
        "matter_type": "public_service", "township": "官亭镇", "village": "后彭村", "phone": "declined",
        "confirmed": True})
    events = await ActionSubmitProxy().run(dispatcher, tracker, DOMAIN)
    case = case_service.get_case(slots_of(events)["last_case_id"])
    assert case.kind == "proxy" and case.assignee_name is None
    assert "调度员会尽快" in said(dispatcher)


@pytest.mark.parametrize("text, proxy", [
    ("替我家老太太办个高龄津贴", True), ("代办", True), ("帮俺娘申请个残疾证", True), ("给我爸交一下医保", True),
    ("我娘的低保一直没发", False), ("我家老人被骗了三千块钱", False), ("村里老人的高龄补贴啥时候发", False),
])
def test_it_tells_a_request_on_someones_behalf_from_a_complaint(text, proxy):
    assert looks_like_proxy(text) is proxy


async def test_a_proxy_request_read_as_a_report_opens_the_proxy_form(svc, dispatcher):
    tracker = make_tracker("替我家老太太办个高龄津贴", intent="report_issue", parse_extra=PARSE)
    events = await ActionStartReport().run(dispatcher, tracker, DOMAIN)
    assert ActiveLoop("proxy_form") in events and "帮我办" in said(dispatcher)
