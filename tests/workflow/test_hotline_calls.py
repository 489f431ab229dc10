"""Hotline calls: the posted call checked, its matters filed in one transaction with the call, exactly once (also
under concurrent posts), townships nobody said, status questions and ratings (workflow/hotline.py).

Every test runs on SQLite and on PostgreSQL (the ``session_factory`` fixture)."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading

import pytest
from sqlalchemy import func, select

from workflow.cases import CaseService
from workflow.exceptions import InvalidCall
from workflow.hotline import (
    CallReading,
    HotlineDesk,
    Matter,
    NotFiled,
    RatingStatement,
    StatusQuestion,
    number_of_reporter,
    parse_call,
    reporter_id_for,
)
from workflow.models import Case, CaseEvent, HotlineCall
from workflow.reference import DISPATCH_CENTER_CODE
from workflow.transitions import Actor, Rating

CALLER = "13831912345"
CALL = {
    "call_id": "HL-T-0001",
    "caller": CALLER,
    "started_at": "2026-11-30T09:12:05+08:00",
    "turns": [
        {"speaker": "agent", "text": "您好 请讲", "start_s": 0.0, "end_s": 1.5, "asr_confidence": 0.95},
        {"speaker": "caller", "text": "我们王虎寨孙家庄有人烧秸秆", "start_s": 2.0, "end_s": 6.0, "asr_confidence": 0.9},
    ],
}


def straw(**overrides) -> Matter:
    values = dict(description="我是王虎寨镇孙家庄的，村西头有人烧秸秆，烟大得呛人", category_code="eco_environment",
                  category_confidence=0.93, matter_type="other", township="王虎寨镇", village="孙家庄村",
                  township_source="said", asr_confidence=0.9, turns=(1,))
    values.update(overrides)
    return Matter(**values)


def street_light(**overrides) -> Matter:
    values = dict(description="村里路灯坏了半个多月了", category_code="city_management", category_confidence=0.7,
                  matter_type="public_service", asr_confidence=0.9, turns=(3,))
    values.update(overrides)
    return Matter(**values)


def call(**overrides):
    body = copy.deepcopy(CALL)
    body.update(overrides)
    return parse_call(body)


@pytest.fixture
def desk(session_factory, case_service: CaseService, lifecycle) -> HotlineDesk:
    return HotlineDesk(session_factory, case_service, lifecycle)


def count(session_factory, model) -> int:
    with session_factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# ---------------------------------------------------------------- the posted call
def test_it_reads_a_well_formed_call():
    parsed = call(case_id=" jl20261120-0003 ", started_at="2026-11-30T01:12:05Z")
    assert parsed.caller_number == CALLER and parsed.reporter_id == f"hotline:{CALLER}"
    assert parsed.started_at == dt.datetime(2026, 11, 30, 1, 12, 5, tzinfo=dt.timezone.utc)
    assert parsed.case_id == "JL20261120-0003"
    assert [t.speaker for t in parsed.turns] == ["agent", "caller"]


@pytest.mark.parametrize("change, field", [
    ({"call_id": ""}, "call_id"),
    ({"call_id": 17}, "call_id"),
    ({"call_id": "x" * 65}, "call_id"),
    ({"caller": None}, "caller"),
    ({"started_at": "2026-11-30 09:12"}, "started_at"),  # no offset
    ({"started_at": "yesterday"}, "started_at"),
    ({"started_at": None}, "started_at"),
    ({"turns": []}, "turns"),
    ({"turns": "嗯"}, "turns"),
    ({"turns": [{"speaker": "robot", "text": "", "start_s": 0, "end_s": 1, "asr_confidence": 1}]}, "turns[0].speaker"),
    ({"turns": [{"speaker": "caller", "start_s": 0, "end_s": 1, "asr_confidence": 1}]}, "turns[0].text"),
    ({"turns": [{"speaker": "caller", "text": "", "start_s": "0", "end_s": 1, "asr_confidence": 1}]},
     "turns[0].start_s"),
    ({"turns": [{"speaker": "caller", "text": "", "start_s": 2, "end_s": 1, "asr_confidence": 1}]}, "turns[0].end_s"),
    ({"turns": [{"speaker": "caller", "text": "", "start_s": 0, "end_s": 1, "asr_confidence": 1.5}]},
     "turns[0].asr_confidence"),
    ({"turns": [{"speaker": "caller", "text": "", "start_s": 0, "end_s": 1, "asr_confidence": True}]},
     "turns[0].asr_confidence"),
    ({"turns": ["嗯"]}, "turns[0]"),
    ({"case_id": 12}, "case_id"),
])
def test_it_names_the_field_of_a_malformed_call(change, field):
    with pytest.raises(InvalidCall) as raised:
        call(**change)
    assert raised.value.context["field"] == field
    assert raised.value.code == "invalid_call"


def test_it_refuses_a_call_that_is_no_object():
    with pytest.raises(InvalidCall) as raised:
        parse_call(["call"])
    assert raised.value.context["field"] == "(body)"


def test_a_caller_is_known_by_their_number():
    assert reporter_id_for("0319-5261234", "HL-1") == "hotline:03195261234"
    assert reporter_id_for("", "HL-1") == "hotline:call-HL-1"
    assert number_of_reporter("hotline:13831912345") == "13831912345"
    assert number_of_reporter("hotline:call-HL-1") is None
    assert number_of_reporter("wx-openid") is None
    assert call(caller="anonymous").caller_number is None


# ---------------------------------------------------------------- filing
def test_it_files_every_matter_of_a_call_with_the_call(desk, session_factory, lifecycle):
    outcome = desk.take_call(call(), CallReading(matters=(straw(), street_light(township_source=None))))
    assert outcome["duplicate"] is False and outcome["call_id"] == "HL-T-0001"
    first, second = outcome["cases"]
    assert (first["category"], first["township"], first["township_source"], first["status"]) == (
        "eco_environment", "wanghuzhai_zhen", "said", "accepted")  # confident and said: accepted at once
    assert (second["category"], second["township"], second["township_source"], second["needs_review"]) == (
        "city_management", "wanghuzhai_zhen", "other_matter", True)  # place inferred: a dispatcher confirms it
    assert second["status"] == "reported"
    assert {"case_id", "category", "category_name", "township", "township_name", "status"} <= set(first)
    with session_factory() as session:
        cases = session.execute(select(Case).order_by(Case.id)).scalars().all()
        row = session.execute(select(HotlineCall)).scalar_one()
        filed = session.execute(select(CaseEvent).where(CaseEvent.event == "filed")).scalars().first()
    assert [c.call_id for c in cases] == ["HL-T-0001", "HL-T-0001"]
    assert {(c.channel, c.reporter_id, c.reporter_phone) for c in cases} == {
        ("hotline", f"hotline:{CALLER}", CALLER)}
    assert cases[0].village_code == "wanghuzhai_sunjiazhuang"
    assert "暂按本次来电其他事项登记为王虎寨镇" in cases[1].description
    assert filed.data["input_mode"] == "voice" and filed.data["call_id"] == "HL-T-0001"
    assert row.caller_number == CALLER and row.turns == CALL["turns"] and row.outcome["cases"] == outcome["cases"]


def test_a_spoken_call_back_number_wins_over_a_landline(desk, session_factory):
    desk.take_call(call(caller="0319-5261234"), CallReading(matters=(straw(phone="13912345678"),)))
    with session_factory() as session:
        case = session.execute(select(Case)).scalar_one()
    assert (case.reporter_id, case.reporter_phone) == ("hotline:03195261234", "13912345678")


def test_a_matter_nobody_placed_goes_to_the_dispatch_centre_and_is_not_lost(desk, session_factory):
    matter = Matter(description="我在外地住院回来报销，医保说没备案不给报", category_code="medical_insurance",
                    category_confidence=0.95, matter_type="policy_consultation")
    outcome = desk.take_call(call(), CallReading(matters=(matter,)))
    (filed,) = outcome["cases"]
    assert (filed["category"], filed["suggested_category"], filed["township"], filed["township_source"]) == (
        None, "medical_insurance", "julu_zhen", "unknown")
    assert filed["needs_review"] is True and filed["status"] == "reported"
    with session_factory() as session:
        case = session.execute(select(Case)).scalar_one()
    assert case.lead_unit_code == DISPATCH_CENTER_CODE
    assert "由调度员核实地点后分派" in case.description


def test_a_matter_nobody_placed_takes_the_callers_earlier_township(desk, session_factory):
    desk.take_call(call(), CallReading(matters=(straw(),)))
    outcome = desk.take_call(call(call_id="HL-T-0002"), CallReading(matters=(street_light(),)))
    (filed,) = outcome["cases"]
    assert (filed["township"], filed["township_source"], filed["needs_review"]) == (
        "wanghuzhai_zhen", "earlier_case", True)


def test_the_callers_own_village_counts_as_said(desk):
    outcome = desk.take_call(call(), CallReading(matters=(
        straw(), street_light(township="王虎寨镇", village="孙家庄村", township_source="our_village"))))
    assert [c["needs_review"] for c in outcome["cases"]] == [False, False]


def test_unsure_words_wait_for_a_dispatcher(desk):
    outcome = desk.take_call(call(), CallReading(matters=(
        straw(category_code="government_services", category_confidence=0.09),  # category unsure
        straw(asr_confidence=0.4),  # words unsure
        straw(matter_type="emergency", description="燃气管道漏气了"),  # a person confirms every emergency
    )))
    unsure, misheard, emergency = outcome["cases"]
    assert (unsure["category"], unsure["suggested_category"], unsure["needs_review"]) == (
        None, "government_services", True)
    assert (misheard["category"], misheard["needs_review"], misheard["status"]) == ("eco_environment", True,
                                                                                    "reported")
    assert (emergency["needs_review"], emergency["status"]) == (False, "reported")


def test_a_matter_the_service_refuses_is_filed_for_the_dispatcher(desk):
    outcome = desk.take_call(call(), CallReading(matters=(straw(category_code="no_such_category"),)))
    (filed,) = outcome["cases"]
    assert (filed["category"], filed["needs_review"], filed["township"]) == (None, True, "wanghuzhai_zhen")


def test_a_call_with_nothing_to_file_is_still_recorded(desk, session_factory):
    outcome = desk.take_call(call(), CallReading(not_filed=(NotFiled("我姓王", "no_matter"),)))
    assert outcome["cases"] == [] and outcome["not_filed"] == [{"text": "我姓王", "reason": "no_matter"}]
    assert count(session_factory, HotlineCall) == 1


def test_a_failure_while_filing_files_nothing_of_the_call(desk, session_factory, monkeypatch):
    original = CaseService.add_case
    calls = []

    def fail_on_second(self, session, report, now):
        calls.append(report)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return original(self, session, report, now)

    monkeypatch.setattr(CaseService, "add_case", fail_on_second)
    with pytest.raises(RuntimeError):
        desk.take_call(call(), CallReading(matters=(straw(), street_light())))
    assert (count(session_factory, Case), count(session_factory, HotlineCall)) == (0, 0)
    monkeypatch.setattr(CaseService, "add_case", original)
    assert len(desk.take_call(call(), CallReading(matters=(straw(), street_light())))["cases"]) == 2


# ---------------------------------------------------------------- exactly once
def test_the_same_call_posted_twice_is_filed_once(desk, session_factory):
    reading = CallReading(matters=(straw(), street_light()))
    first = desk.take_call(call(), reading)
    again = desk.take_call(call(), reading)
    assert again["duplicate"] is True
    assert {k: v for k, v in again.items() if k != "duplicate"} == {k: v for k, v in first.items()
                                                                   if k != "duplicate"}
    assert desk.previous_outcome("HL-T-0001")["cases"] == first["cases"]
    assert desk.previous_outcome("HL-T-0404") is None
    assert (count(session_factory, Case), count(session_factory, HotlineCall)) == (2, 1)


def test_two_concurrent_posts_of_one_call_file_it_once(desk, session_factory, caplog):
    caplog.set_level(logging.INFO, logger="workflow.hotline")
    reading = CallReading(matters=(straw(), street_light()))
    start = threading.Barrier(2)
    outcomes, errors = [], []

    def post():
        start.wait()
        try:
            outcomes.append(desk.take_call(call(), reading))
        except Exception as error:  # noqa: BLE001 (the test reports it)
            errors.append(error)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(o["duplicate"] for o in outcomes) == [False, True]
    assert "was taken before" in caplog.text  # the unique constraint decided, not a check before inserting
    assert [c["case_id"] for c in outcomes[0]["cases"]] == [c["case_id"] for c in outcomes[1]["cases"]]
    assert (count(session_factory, Case), count(session_factory, HotlineCall)) == (2, 1)


# ---------------------------------------------------------------- questions and ratings
def test_a_status_question_is_answered_with_the_callers_own_cases(desk, case_service):
    earlier = desk.take_call(call(), CallReading(matters=(straw(),)))["cases"][0]["case_id"]
    other = desk.take_call(call(call_id="HL-T-0009", caller="13700000000"), CallReading(matters=(straw(),)))
    outcome = desk.take_call(call(call_id="HL-T-0002"), CallReading(
        matters=(street_light(township="苏营镇", township_source="said"),),
        questions=(StatusQuestion("我上次反映的那个事咋样了"),)))
    (answer,) = outcome["answered"]
    assert answer["kind"] == "status" and answer["text"] == "我上次反映的那个事咋样了"
    assert [c["case_id"] for c in answer["cases"]] == [earlier]  # not this call's case, not somebody else's
    assert answer["answer"].startswith(f"您的工单{earlier}已受理")
    assert other["cases"][0]["case_id"] not in answer["answer"]


def test_a_status_question_without_cases_says_so(desk):
    outcome = desk.take_call(call(), CallReading(questions=(StatusQuestion("我反映的事咋样了"),)))
    assert outcome["answered"][0]["answer"] == "没有查到您用这个号码反映过的问题。"


def resolved_case(desk, lifecycle) -> str:
    case_id = desk.take_call(call(call_id="HL-T-0100"), CallReading(matters=(straw(),)))["cases"][0]["case_id"]
    lifecycle.assign(case_id, Actor.dispatcher("王芳"))
    lifecycle.acknowledge(case_id, Actor.unit("county_ecology"))
    lifecycle.resolve(case_id, Actor.unit("county_ecology"), result="已责令停止焚烧")
    return case_id


def test_a_follow_up_call_records_the_callers_rating(desk, lifecycle):
    case_id = resolved_case(desk, lifecycle)
    outcome = desk.take_call(call(call_id="HL-T-0101", case_id=case_id), CallReading(
        ratings=(RatingStatement("还行吧，基本满意，就是晚上偶尔还有点响", Rating.BASICALLY_SATISFIED),)))
    (rated,) = outcome["answered"]
    assert (rated["kind"], rated["case_id"], rated["rating"], rated["status"]) == (
        "rating", case_id, "basically_satisfied", "closed")
    view = lifecycle.get(case_id)
    assert (view.rating, view.rating_comment) == (Rating.BASICALLY_SATISFIED, "还行吧，基本满意，就是晚上偶尔还有点响")
    history = lifecycle.history(case_id)
    assert (history[-1].event, history[-1].actor, history[-1].actor_role) == (
        "rated", f"hotline:{CALLER}", "resident")


def test_the_last_rating_said_counts(desk, lifecycle):
    case_id = resolved_case(desk, lifecycle)
    outcome = desk.take_call(call(call_id="HL-T-0101", case_id=case_id), CallReading(ratings=(
        RatingStatement("满意", Rating.SATISFIED), RatingStatement("不对，不满意，根本没解决", Rating.UNSATISFIED))))
    assert outcome["answered"][0]["status"] == "reopened"


def test_a_rating_from_another_number_or_too_early_is_not_recorded(desk, lifecycle):
    case_id = resolved_case(desk, lifecycle)
    stranger = desk.take_call(call(call_id="HL-T-0102", caller="13700000000", case_id=case_id),
                              CallReading(ratings=(RatingStatement("不满意", Rating.UNSATISFIED),)))
    assert stranger["answered"][0]["error"]["code"] == "not_case_owner"
    open_case = desk.take_call(call(call_id="HL-T-0103"), CallReading(matters=(straw(),)))["cases"][0]["case_id"]
    early = desk.take_call(call(call_id="HL-T-0104", case_id=open_case),
                           CallReading(ratings=(RatingStatement("满意", Rating.SATISFIED),)))
    assert early["answered"][0]["error"]["code"] == "illegal_transition"
    missing = desk.take_call(call(call_id="HL-T-0105", case_id="JL20200101-0001"),
                             CallReading(ratings=(RatingStatement("满意", Rating.SATISFIED),)))
    assert missing["answered"][0]["error"]["code"] == "case_not_found"
    assert lifecycle.get(case_id).status.value == "resolved"
