"""The report conversation's actions: what the resident is told and what is filed."""

from __future__ import annotations

import re

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet

from actions.case_status import ActionCaseStatus
from actions.report import (
    ActionAskCategoryChoice,
    ActionAskConfirmed,
    ActionStartReport,
    ActionSubmitReport,
    ValidateReportForm,
)
from action_support import DOMAIN, make_tracker, said, slots_of

RANKING = [{"name": "eco_environment", "confidence": 0.62}, {"name": "water_conservancy", "confidence": 0.2},
           {"name": "agriculture", "confidence": 0.08}, {"name": "city_management", "confidence": 0.05},
           {"name": "work_safety", "confidence": 0.02}]
PARSE = {"category": RANKING[0], "category_ranking": RANKING, "matter_type": {"name": "other", "confidence": 0.9}}
FILLED = {"description": "厂子往河沟里放黑水", "category": "eco_environment", "suggested_category": "eco_environment",
          "category_confidence": 0.62, "category_ranking": RANKING, "matter_type": "other",
          "township": "王虎寨镇", "village": None, "phone": "declined", "needs_review": False}


async def test_it_starts_a_report_from_the_first_message(svc, dispatcher):
    tracker = make_tracker("我们村东头那个厂子天天晚上往河沟里放黑水 王虎寨镇东关村的", parse_extra=PARSE)
    events = await ActionStartReport().run(dispatcher, tracker, DOMAIN)
    slots = slots_of(events)
    assert slots["category"] == "eco_environment" and slots["matter_type"] == "other"
    assert slots["description"].startswith("我们村东头")
    assert slots["township"] == "王虎寨镇"
    assert ActiveLoop("report_form") in events
    assert "生态环境" in said(dispatcher)


@pytest.mark.parametrize("text", ["😡😡😡", "   ", "。。。"])
async def test_it_asks_for_words_when_the_message_has_none(svc, dispatcher, text):
    events = await ActionStartReport().run(dispatcher, make_tracker(text, parse_extra=PARSE), DOMAIN)
    assert events == []
    assert "utter_report_empty" in said(dispatcher)


async def test_it_resolves_a_township_said_without_its_suffix(svc, dispatcher):
    tracker = make_tracker("王虎寨", slots={"requested_slot": "township"}, intent="inform")
    form = ValidateReportForm()
    extracted = form.extract_township(dispatcher, tracker, DOMAIN)
    assert form.validate_township(extracted["township"], dispatcher, tracker, DOMAIN)["township"] == "王虎寨镇"


async def test_it_says_which_townships_exist_when_the_answer_is_none_of_them(svc, dispatcher):
    tracker = make_tracker("火星镇", slots={"requested_slot": "township"}, intent="inform")
    result = ValidateReportForm().validate_township("火星镇", dispatcher, tracker, DOMAIN)
    assert result["township"] is None
    assert dispatcher.messages[0]["response"] == "utter_unknown_township"


@pytest.mark.parametrize("answer, expected", [("不留", "declined"), ("１３８ １２３４ ５６７８", "13812345678"),
                                              ("0319-5123456", "0319-5123456")])
async def test_it_takes_a_phone_number_or_a_refusal(svc, dispatcher, answer, expected):
    tracker = make_tracker(answer, slots={"requested_slot": "phone"}, intent="inform")
    form = ValidateReportForm()
    value = form.extract_phone(dispatcher, tracker, DOMAIN)["phone"]
    assert form.validate_phone(value, dispatcher, tracker, DOMAIN)["phone"] == expected


async def test_it_asks_again_for_a_number_that_is_not_one(svc, dispatcher):
    tracker = make_tracker("12345", slots={"requested_slot": "phone"}, intent="inform")
    assert ValidateReportForm().validate_phone("12345", dispatcher, tracker, DOMAIN) == {"phone": None}
    assert dispatcher.messages[0]["response"] == "utter_invalid_phone"


async def test_the_confirmation_names_category_unit_and_deadline(svc, dispatcher):
    tracker = make_tracker("不留", slots={**FILLED, "requested_slot": "confirmed"}, intent="deny")
    await ActionAskConfirmed().run(dispatcher, tracker, DOMAIN)
    text = said(dispatcher)
    assert "生态环境" in text and "县生态环境分局" in text and "王虎寨镇" in text
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", text)


async def test_saying_wrong_offers_the_next_categories_and_a_dispatcher(svc, dispatcher):
    tracker = make_tracker("不对", slots={**FILLED, "requested_slot": "confirmed"}, intent="deny")
    form = ValidateReportForm()
    update = form.validate_confirmed(False, dispatcher, tracker, DOMAIN)
    assert update["awaiting_category_choice"] is True and update["confirmed"] is None
    tracker.slots.update(update)
    assert "category_choice" in await form.required_slots([], dispatcher, tracker, DOMAIN)
    await ActionAskCategoryChoice().run(dispatcher, tracker, DOMAIN)
    text = said(dispatcher)
    assert "1. 水利" in text and "2. 农业农村" in text and "3. 城市管理" in text and "4. 都不是" in text


async def test_a_chosen_category_replaces_the_suggestion(svc, dispatcher):
    slots = {**FILLED, "requested_slot": "category_choice", "awaiting_category_choice": True}
    tracker = make_tracker("第二个", slots=slots, intent="choose_option")
    update = ValidateReportForm().validate_category_choice("第二个", dispatcher, tracker, DOMAIN)
    assert update["category"] == "agriculture" and update["awaiting_category_choice"] is False


async def test_it_files_the_confirmed_report_and_tells_the_case_number(svc, dispatcher):
    tracker = make_tracker("对", slots={**FILLED, "confirmed": True}, intent="affirm")
    events = await ActionSubmitReport().run(dispatcher, tracker, DOMAIN)
    case_id = re.search(r"JL\d{8}-\d{4}", said(dispatcher)).group(0)
    case = svc.cases.get_case(case_id)
    assert case.category == "eco_environment" and case.reporter == "resident-1" and case.channel == "rest"
    assert case.reporter_phone is None and case.description == "厂子往河沟里放黑水"
    assert "县生态环境分局" in said(dispatcher)
    assert SlotSet("last_case_id", case_id) in events


async def test_a_failed_filing_keeps_everything_and_asks_to_confirm_again(svc, dispatcher, monkeypatch):
    def broken(report):
        raise ConnectionError("database is down")

    monkeypatch.setattr(svc.cases, "file_report", broken)
    tracker = make_tracker("对", slots={**FILLED, "confirmed": True}, intent="affirm")
    events = await ActionSubmitReport().run(dispatcher, tracker, DOMAIN)
    assert dispatcher.messages[0]["response"] == "utter_submit_failed"
    assert ActiveLoop("report_form") in events
    assert "description" not in slots_of(events)  # nothing the resident said is cleared


async def test_status_is_told_only_to_the_reporter(svc, dispatcher):
    tracker = make_tracker("对", slots={**FILLED, "confirmed": True}, intent="affirm", sender="owner")
    await ActionSubmitReport().run(dispatcher, tracker, DOMAIN)
    case_id = re.search(r"JL\d{8}-\d{4}", said(dispatcher)).group(0)

    mine = make_tracker(f"{case_id}到哪一步了", intent="ask_case_status", sender="owner")
    from rasa_sdk.executor import CollectingDispatcher

    answer = CollectingDispatcher()
    await ActionCaseStatus().run(answer, mine, DOMAIN)
    assert case_id in said(answer) and "登记" in said(answer)

    other = CollectingDispatcher()
    await ActionCaseStatus().run(other, make_tracker(f"{case_id}到哪一步了", intent="ask_case_status",
                                                     sender="stranger"), DOMAIN)
    assert "没有查到" in said(other) and "黑水" not in said(other)

    listing = CollectingDispatcher()
    await ActionCaseStatus().run(listing, make_tracker("我反映的事怎么样了", intent="ask_case_status",
                                                       sender="owner"), DOMAIN)
    assert case_id in said(listing)


@pytest.mark.parametrize("number, kept", [("02087654321099", None), ("031101234567", None),
                                          ("13812345678", "13812345678")])
async def test_a_number_in_the_first_message_is_kept_only_when_it_is_a_phone(svc, dispatcher, number, kept):
    # Rasa fills the phone slot from any phone-shaped entity; a card or contract number must not stick.
    tracker = make_tracker(f"社保卡一直没寄到 卡号{number} 问了好几次", parse_extra=PARSE,
                           slots={"phone": number})
    events = await ActionStartReport().run(dispatcher, tracker, DOMAIN)
    assert slots_of(events)["phone"] == kept


async def test_a_phone_the_case_service_refuses_is_asked_again_in_chinese(svc, dispatcher):
    tracker = make_tracker("对", slots={**FILLED, "phone": "031101234567", "confirmed": True}, intent="affirm")
    events = await ActionSubmitReport().run(dispatcher, tracker, DOMAIN)
    text = said(dispatcher)
    assert "联系电话" in text and "不留" in text
    assert not re.search(r"[A-Za-z]{4,}", text)  # no English error text reaches the resident
    assert SlotSet("requested_slot", "phone") in events and SlotSet("phone", None) in events
    assert ActiveLoop("report_form") in events and "description" not in slots_of(events)
    assert svc.cases.list_cases() == [] or all(c.description != FILLED["description"] for c in svc.cases.list_cases())


@pytest.mark.parametrize("text", ["Hello, the street light near my house has been broken for weeks",
                                  "lu deng huai le", "12345"])
async def test_a_message_without_chinese_gets_a_request_to_write_in_chinese(svc, dispatcher, text):
    events = await ActionStartReport().run(dispatcher, make_tracker(text, parse_extra=PARSE), DOMAIN)
    assert events == [] and said(dispatcher) == "utter_chinese_please"


async def test_the_description_is_kept_as_the_resident_wrote_it(svc, dispatcher):
    text = "厂子往河沟里放黑水，臭得很！（已经半年了）"
    events = await ActionStartReport().run(dispatcher, make_tracker(text, parse_extra=PARSE), DOMAIN)
    assert slots_of(events)["description"] == text


async def test_an_auto_accepted_report_says_the_points_it_earned(svc, dispatcher):
    slots = {**FILLED, "category_confidence": 0.97, "confirmed": True}
    await ActionSubmitReport().run(dispatcher, make_tracker("对", slots=slots, intent="affirm"), DOMAIN)
    text = said(dispatcher)
    assert "已为您登记并受理" in text
    assert "这次反映有效，获得10积分，当前积分余额10分" in text
    assert svc.points.balance("resident-1") == 10


async def test_a_report_waiting_for_a_dispatcher_promises_no_points_yet(svc, dispatcher):
    await ActionSubmitReport().run(dispatcher, make_tracker("对", slots={**FILLED, "confirmed": True},
                                                            intent="affirm"), DOMAIN)
    assert "积分" not in said(dispatcher) and svc.points.balance("resident-1") == 0


@pytest.mark.parametrize("category, number", [("fire_safety", "119"), ("public_security", "110"), ("health", "120"),
                                              ("city_management", "119（火警、救援）、110（报警）或120")])
async def test_an_emergency_is_told_to_call_the_emergency_number_first(svc, dispatcher, category, number):
    parse = {"category": {"name": category, "confidence": 0.9}, "category_ranking": [],
             "matter_type": {"name": "emergency", "confidence": 0.9}}
    await ActionStartReport().run(dispatcher, make_tracker("着火了 有老人在里面 王虎寨镇东关村", parse_extra=parse),
                                  DOMAIN)
    first = dispatcher.messages[0]["text"]
    assert f"请马上拨打{number}" in first


async def test_an_ordinary_report_gets_no_emergency_advice(svc, dispatcher):
    await ActionStartReport().run(dispatcher, make_tracker("路灯坏了好几天了 王虎寨镇东关村", parse_extra=PARSE), DOMAIN)
    assert "拨打" not in said(dispatcher)
