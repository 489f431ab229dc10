"""Case service: filing (validation, routing, deadline, case ids, audit event, one transaction) and reading."""

from __future__ import annotations

import datetime as dt
import json
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import workflow.cases
from workflow.cases import CaseService, NewReport
from workflow.deadlines import MatterType
from workflow.exceptions import CaseNotFound, InvalidReport, NotCaseOwner, UnknownCategory, UnknownTownship
from workflow.models import Case, CaseEvent, CaseSequence
from workflow.routing import UnitRef
from workflow.status import CaseStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
#: The clock fixture's time: Monday 2026-11-30 09:30 Asia/Shanghai.
MONDAY_MORNING = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
#: Tuesday 2026-12-01 00:30 Asia/Shanghai, still Monday 16:30 in UTC: the case id takes the Shanghai date.
TUESDAY_JUST_AFTER_MIDNIGHT = dt.datetime(2026, 12, 1, 0, 30, tzinfo=SHANGHAI)
# Deadlines of a case accepted on MONDAY_MORNING (17:30 Asia/Shanghai; working days Mon–Fri, no holiday that week).
OTHER_DEADLINE = dt.datetime(2026, 12, 9, 17, 30, tzinfo=SHANGHAI)  # 7th working day after Monday 30 Nov
PUBLIC_SERVICE_DEADLINE = dt.datetime(2026, 12, 2, 17, 30, tzinfo=SHANGHAI)
POLICY_DEADLINE = dt.datetime(2026, 11, 30, 17, 30, tzinfo=SHANGHAI)
EMERGENCY_DEADLINE = dt.datetime(2026, 11, 30, 11, 30, tzinfo=SHANGHAI)


def report(**overrides) -> NewReport:
    values = dict(
        description="村东头有人焚烧秸秆，烟很大",
        category_code="eco_environment",
        suggested_category_code="eco_environment",
        category_confidence=0.91,
        category_ranking=[{"name": "eco_environment", "confidence": 0.91}, {"name": "agriculture", "confidence": 0.05}],
        matter_type="other",
        township="王虎寨",
        village="小韩寨",
        reporter_id="wx-openid-1",
        reporter_phone="13812345678",
        channel="wechat",
    )
    values.update(overrides)
    return NewReport(**values)


def _count(session_factory, model) -> int:
    with session_factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# ---------------------------------------------------------------------- filing
def test_it_files_a_routed_case_with_deadline_and_audit_event(case_service, session_factory):
    view = case_service.file_report(report())

    assert view.case_id == "JL20261130-0001"
    assert view.status is CaseStatus.REPORTED and view.status_label == "已登记，等待受理"
    assert (view.category, view.category_name) == ("eco_environment", "生态环境")
    assert (view.township, view.township_name) == ("wanghuzhai_zhen", "王虎寨镇")
    assert (view.village, view.village_code) == ("小韩寨村", "wanghuzhai_xiaohanzhai")
    assert view.lead_unit == UnitRef("county_ecology", "县生态环境分局")
    assert view.cooperating_units == (
        UnitRef("wanghuzhai_zhen_gov", "王虎寨镇人民政府"),
        UnitRef("county_urban_management", "县城市管理综合行政执法局"),
    )
    assert view.created_at == MONDAY_MORNING and view.deadline == OTHER_DEADLINE
    assert view.accepted_at is None and view.needs_review is False
    with session_factory() as session:
        case = session.execute(select(Case)).scalar_one()
        assert (case.village_name, case.category_ranking[1]) == ("小韩寨", {"name": "agriculture", "confidence": 0.05})
        (event,) = case.events
        assert (event.event, event.actor, event.actor_role) == ("filed", "wx-openid-1", "resident")
        assert (event.from_status, event.to_status, event.at) == (None, "reported", MONDAY_MORNING)
        assert event.data["lead_unit"] == "county_ecology"
        assert event.data["deadline"] == OTHER_DEADLINE.astimezone(UTC).isoformat()


@pytest.mark.parametrize(
    "matter_type,deadline",
    [
        (MatterType.EMERGENCY, EMERGENCY_DEADLINE),
        ("policy_consultation", POLICY_DEADLINE),
        ("public_service", PUBLIC_SERVICE_DEADLINE),
        ("other", OTHER_DEADLINE),
    ],
)
def test_it_sets_the_deadline_by_matter_type(case_service, matter_type, deadline):
    view = case_service.file_report(report(matter_type=matter_type))
    assert view.matter_type is MatterType(matter_type)
    assert view.deadline == deadline


def test_it_numbers_cases_per_shanghai_day(case_service, clock):
    ids = [case_service.file_report(report()).case_id for _ in range(3)]
    assert ids == ["JL20261130-0001", "JL20261130-0002", "JL20261130-0003"]
    clock.now = TUESDAY_JUST_AFTER_MIDNIGHT.astimezone(UTC)
    assert clock.now.date() == dt.date(2026, 11, 30)
    assert case_service.file_report(report()).case_id == "JL20261201-0001"


@pytest.mark.parametrize("township", ["王虎寨", "王虎寨镇", "王虎寨乡", "wanghuzhai_zhen", "王虎寨镇政府", " 王虎寨镇 "])
def test_it_accepts_the_township_as_name_alias_or_code(case_service, township):
    assert case_service.file_report(report(township=township)).township == "wanghuzhai_zhen"


def test_it_takes_the_township_from_an_unambiguous_village(case_service):
    view = case_service.file_report(report(township=None, village="后彭村", category_code="agriculture"))
    assert (view.township, view.village_code) == ("guanting_zhen", "guanting_houpeng")
    assert view.cooperating_units == (UnitRef("guanting_zhen_gov", "官亭镇人民政府"),)


def test_it_keeps_an_unknown_village_as_given(case_service):
    view = case_service.file_report(report(village="王家大院东边"))
    assert (view.village, view.village_code) == ("王家大院东边", None)


def test_it_keeps_a_long_description_whole(case_service, session_factory):
    description = "楼下烧烤店油烟太大，" * 600  # 6,000 characters
    view = case_service.file_report(report(description=description))
    assert view.description == description
    with session_factory() as session:
        assert len(session.execute(select(Case.description)).scalar_one()) == 6000


@pytest.mark.parametrize(
    "phone,stored",
    [
        ("１３８１２３４５６７８", "13812345678"),
        ("139 1234 5678", "13912345678"),
        ("+86 139-1234-5678", "13912345678"),
        ("0319-5123456", "0319-5123456"),
        ("(0319)5123456", "0319-5123456"),
        ("", None),
        (None, None),
    ],
)
def test_it_normalises_the_phone(case_service, phone, stored):
    assert case_service.file_report(report(reporter_phone=phone)).reporter_phone == stored


def test_it_sends_a_report_without_category_to_the_dispatch_centre(case_service):
    view = case_service.file_report(report(category_code=None, needs_review=True))
    assert view.needs_review is True
    assert (view.category, view.category_name) == (None, None)
    assert view.suggested_category == "eco_environment"
    assert view.lead_unit == UnitRef("county_dispatch_center", "县社会治理综合服务中心(调度)")
    assert view.cooperating_units == ()


def test_it_drops_an_unknown_suggested_category(case_service):
    assert case_service.file_report(report(suggested_category_code="weather")).suggested_category is None


INVALID = [
    (dict(description="  \n\t "), "description"),
    (dict(description=""), "description"),
    (dict(matter_type="urgent"), "matter_type"),
    (dict(reporter_id=" "), "reporter_id"),
    (dict(channel=""), "channel"),
    (dict(reporter_phone="12345"), "reporter_phone"),
    (dict(reporter_phone="400-810-8888"), "reporter_phone"),
    (dict(reporter_phone="138123456789"), "reporter_phone"),
    (dict(category_code=None), "category_code"),
    (dict(category_confidence=1.5), "category_confidence"),
    (dict(category_confidence=float("nan")), "category_confidence"),
    (dict(category_ranking=[{"confidence": 0.5}]), "category_ranking"),
    (dict(category_ranking=[{"name": "agriculture", "confidence": -0.1}]), "category_ranking"),
]


@pytest.mark.parametrize("overrides,field", INVALID)
def test_it_rejects_an_invalid_report_and_writes_nothing(case_service, session_factory, overrides, field):
    with pytest.raises(InvalidReport) as raised:
        case_service.file_report(report(**overrides))
    assert raised.value.context["field"] == field
    assert _count(session_factory, Case) == 0


def test_it_rejects_an_unknown_category(case_service, session_factory):
    with pytest.raises(UnknownCategory) as raised:
        case_service.file_report(report(category_code="weather"))
    assert raised.value.context == {"category": "weather"}
    assert _count(session_factory, Case) == 0


@pytest.mark.parametrize(
    "township,village", [("北京市", None), ("巨鹿县", None), (None, None), ("", "前营村"), (None, "西门外")]
)
def test_it_rejects_an_unknown_township(case_service, session_factory, township, village):
    with pytest.raises(UnknownTownship):
        case_service.file_report(report(township=township, village=village))
    assert _count(session_factory, Case) == 0


def test_it_files_in_one_transaction(case_service, session_factory, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(workflow.cases, "case_views", fail)  # runs after the case and event are flushed
    with pytest.raises(RuntimeError):
        case_service.file_report(report())
    assert (_count(session_factory, Case), _count(session_factory, CaseEvent)) == (0, 0)
    assert _count(session_factory, CaseSequence) == 0
    monkeypatch.undo()
    assert case_service.file_report(report()).case_id == "JL20261130-0001"  # the number was given back


def test_it_rejects_a_naive_clock(session_factory, calendar):
    service = CaseService(session_factory, calendar, clock=lambda: dt.datetime(2026, 11, 30, 9, 30))
    with pytest.raises(ValueError, match="naive"):
        service.file_report(report())


def test_concurrent_filings_get_distinct_consecutive_ids(case_service):
    # PostgreSQL queues the filings on the sequence row lock; SQLite on its write lock (busy timeout).
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    ids: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def file(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            view = case_service.file_report(report(reporter_id=f"resident-{n}"))
            with lock:
                ids.append(view.case_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=file, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(ids) == [f"JL20261130-{n:04d}" for n in range(1, threads_count + 1)]


# ---------------------------------------------------------------------- preview
def test_it_previews_routing_and_deadline_without_filing(case_service, session_factory):
    preview = case_service.preview("public_security", "emergency", "官亭")
    assert (preview.category_code, preview.category_name) == ("public_security", "社会治安")
    assert preview.lead_unit == UnitRef("county_public_security", "县公安局")
    assert preview.cooperating_units == [UnitRef("guanting_zhen_zongzhi", "官亭镇综治中心")]
    assert preview.deadline == EMERGENCY_DEADLINE
    assert preview.to_dict()["deadline"] == "2026-11-30T03:30:00+00:00"
    assert _count(session_factory, Case) == 0


def test_it_previews_a_report_for_the_dispatcher(case_service):
    preview = case_service.preview(None, "public_service", "堤村")
    assert (preview.category_code, preview.category_name) == (None, None)
    assert preview.lead_unit.code == "county_dispatch_center"
    assert preview.deadline == PUBLIC_SERVICE_DEADLINE


def test_preview_rejects_what_filing_rejects(case_service):
    with pytest.raises(UnknownCategory):
        case_service.preview("weather", "other", "官亭")
    with pytest.raises(UnknownTownship):
        case_service.preview("agriculture", "other", "北京")
    with pytest.raises(InvalidReport):
        case_service.preview("agriculture", "soon", "官亭")


# ---------------------------------------------------------------------- reading
def test_it_gets_a_case_by_a_sloppily_typed_id(case_service):
    filed = case_service.file_report(report())
    assert case_service.get_case(" ｊｌ20261130－0001 ") == filed
    assert case_service.get_case("JL20261130-0001", reporter_id="wx-openid-1") == filed


def test_it_tells_missing_cases_and_other_peoples_cases_apart(case_service):
    case_service.file_report(report())
    with pytest.raises(CaseNotFound) as raised:
        case_service.get_case("JL20261130-0002")
    assert raised.value.context == {"case_id": "JL20261130-0002"}
    with pytest.raises(NotCaseOwner):
        case_service.get_case("JL20261130-0001", reporter_id="somebody-else")


def test_it_lists_cases_newest_first_with_filters_and_paging(case_service, clock):
    filed = []
    for n, (reporter, category, township) in enumerate(
        [
            ("a", "eco_environment", "王虎寨"),
            ("b", "agriculture", "官亭"),
            ("a", "agriculture", "官亭"),
            ("a", "eco_environment", "官亭"),
        ]
    ):
        clock.advance(dt.timedelta(minutes=n))
        filed.append(case_service.file_report(report(reporter_id=reporter, category_code=category, township=township)))
    newest_first = [v.case_id for v in reversed(filed)]
    assert [v.case_id for v in case_service.list_cases()] == newest_first
    assert [v.case_id for v in case_service.list_cases(limit=2, offset=1)] == newest_first[1:3]
    by_a = [filed[3].case_id, filed[2].case_id, filed[0].case_id]
    assert [v.case_id for v in case_service.list_cases(reporter="a")] == by_a
    assert [v.case_id for v in case_service.list_cases(category="agriculture", township="guanting_zhen")] == [
        filed[2].case_id,
        filed[1].case_id,
    ]
    assert len(case_service.list_cases(status=CaseStatus.REPORTED)) == 4
    assert case_service.list_cases(status="closed") == []
    assert [v.case_id for v in case_service.cases_of_reporter("a", limit=2)] == [filed[3].case_id, filed[2].case_id]


@pytest.mark.parametrize("kwargs", [dict(limit=0), dict(limit=201), dict(offset=-1), dict(status="lost")])
def test_it_rejects_bad_list_arguments(case_service, kwargs):
    with pytest.raises(ValueError):
        case_service.list_cases(**kwargs)


def test_the_view_is_json_ready(case_service):
    data = case_service.file_report(report()).to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data["created_at"] == "2026-11-30T01:30:00+00:00"
    assert dt.datetime.fromisoformat(data["deadline"]) == OTHER_DEADLINE
    assert data["lead_unit"] == {"code": "county_ecology", "name": "县生态环境分局"}
    assert data["cooperating_units"][0] == {"code": "wanghuzhai_zhen_gov", "name": "王虎寨镇人民政府"}
    assert (data["status"], data["matter_type"], data["category"]) == ("reported", "other", "eco_environment")
    assert data["status_description"] == "您的工单JL20261130-0001已登记，等待受理。"
    expected_keys = {
        "case_id", "status", "status_label", "category", "category_name", "suggested_category",
        "category_confidence", "matter_type", "township", "township_name", "village", "description", "reporter",
        "reporter_phone", "channel", "created_at", "deadline", "lead_unit", "cooperating_units", "needs_review",
    }  # fmt: skip
    assert expected_keys <= set(data)


@pytest.mark.parametrize("point, field", [((91.0, 115.0), "latitude"), ((37.2, float("nan")), "longitude"),
                                          ((True, 115.0), "latitude"), ((37.2, None), "latitude")])
def test_it_refuses_a_shared_location_that_is_not_a_point(case_service, point, field):
    with pytest.raises(InvalidReport) as raised:
        case_service.file_report(report(latitude=point[0], longitude=point[1]))
    assert raised.value.context["field"] == field


def test_it_keeps_a_shared_location_with_the_case(case_service):
    case = case_service.file_report(report(latitude=37.301, longitude=115.083, location_label="王虎寨镇"))
    assert (case.latitude, case.longitude, case.location_label) == (37.301, 115.083, "王虎寨镇")
