"""The closed loop on SQLite and PostgreSQL: what dispatchers, units, residents and jobs can do to a case, the audit
trail it leaves, deadlines fixed at acceptance, authorisation, and concurrent actions (exactly one wins)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

import workflow.lifecycle
from workflow.case_views import CaseView
from workflow.deadlines import MatterType
from workflow.exceptions import (
    ActorNotAllowed,
    CaseNotFound,
    ConcurrentUpdate,
    IllegalTransition,
    InvalidCaseAction,
    NotCaseOwner,
    NotCaseUnit,
    UnknownCategory,
    UnknownUnit,
)
from workflow.lifecycle import CaseLifecycle
from workflow.models import Unit
from workflow.routing import UnitRef
from workflow.status import CaseStatus
from workflow.transitions import Actor, Rating, RejectReason
from workflow_support import report

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
S = CaseStatus

DISPATCHER = Actor.dispatcher("dispatcher-li")
RESIDENT = Actor.resident("wx-openid-1")
ECOLOGY = Actor.unit("county_ecology", "staff-zhang")  # lead unit of eco_environment
TOWNSHIP = Actor.unit("wanghuzhai_zhen_gov")  # a cooperating unit of the same cases
URBAN = Actor.unit("county_urban_management")
SYSTEM = Actor.system()

#: The clock fixture's time (tests/conftest.py): Monday 2026-11-30 09:30 Asia/Shanghai.
MONDAY_MORNING = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
FRIDAY_AFTERNOON = dt.datetime(2026, 12, 4, 16, 0, tzinfo=SHANGHAI)
NEXT_MONDAY_MORNING = dt.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)


def drive(lifecycle: CaseLifecycle, case_service, situation: str, **report_overrides) -> str:
    """File a case and take it to ``situation`` (a status, ``review`` or ``resolved_again``) the ordinary way."""
    case_id = case_service.file_report(report(**report_overrides)).case_id
    steps = PATHS[situation]
    for step in steps:
        ACTIONS[step](lifecycle, case_id)
    return case_id


TO_RESOLVED = ["accept", "assign", "acknowledge", "resolve"]
SECOND_ROUND = ["unsatisfied", "acknowledge", "resolve"]
PATHS = {
    "reported": [],
    "accepted": ["accept"],
    "rejected": ["reject"],
    "assigned": ["accept", "assign"],
    "returned": ["accept", "assign", "return"],
    "in_progress": ["accept", "assign", "acknowledge"],
    "resolved": TO_RESOLVED,
    "closed": [*TO_RESOLVED, "satisfied"],
    "reopened": [*TO_RESOLVED, "unsatisfied"],
    "resolved_again": [*TO_RESOLVED, *SECOND_ROUND],
    "review": [*TO_RESOLVED, *SECOND_ROUND, "unsatisfied"],
}

ACTIONS = {
    "accept": lambda lc, case_id: lc.accept(case_id, DISPATCHER, importance_level=2),
    "reject": lambda lc, case_id: lc.reject(case_id, DISPATCHER, reason="invalid", note="无具体内容"),
    "assign": lambda lc, case_id: lc.assign(case_id, DISPATCHER),
    "close_after_review": lambda lc, case_id: lc.close_after_review(case_id, DISPATCHER, reason="已答复清楚"),
    "acknowledge": lambda lc, case_id: lc.acknowledge(case_id, ECOLOGY),
    "note": lambda lc, case_id: lc.add_note(case_id, ECOLOGY, "已联系村委会"),
    "return": lambda lc, case_id: lc.return_case(case_id, ECOLOGY, reason="不属于本单位职责"),
    "resolve": lambda lc, case_id: lc.resolve(case_id, ECOLOGY, result="已到现场制止并清理"),
    "satisfied": lambda lc, case_id: lc.rate(case_id, RESIDENT, "satisfied"),
    "unsatisfied": lambda lc, case_id: lc.rate(case_id, RESIDENT, "unsatisfied", comment="还在烧"),
    "close_unrated": lambda lc, case_id: lc.close_unrated(case_id),
}

#: (action, situation) → (status after, audit event). Every pair not listed must raise IllegalTransition.
LEGAL = {
    ("accept", "reported"): (S.ACCEPTED, "accepted"),
    ("reject", "reported"): (S.REJECTED, "rejected"),
    ("reject", "accepted"): (S.REJECTED, "rejected"),
    ("reject", "returned"): (S.REJECTED, "rejected"),
    ("assign", "accepted"): (S.ASSIGNED, "assigned"),
    ("assign", "returned"): (S.ASSIGNED, "assigned"),
    ("assign", "review"): (S.ASSIGNED, "assigned"),
    ("close_after_review", "review"): (S.CLOSED, "closed_after_review"),
    ("acknowledge", "assigned"): (S.IN_PROGRESS, "acknowledged"),
    ("acknowledge", "reopened"): (S.IN_PROGRESS, "acknowledged"),
    ("note", "assigned"): (S.ASSIGNED, "progress_noted"),
    ("note", "reopened"): (S.REOPENED, "progress_noted"),
    ("note", "in_progress"): (S.IN_PROGRESS, "progress_noted"),
    ("return", "assigned"): (S.RETURNED, "returned"),
    ("return", "reopened"): (S.RETURNED, "returned"),
    ("return", "in_progress"): (S.RETURNED, "returned"),
    ("resolve", "in_progress"): (S.RESOLVED, "resolved"),
    ("satisfied", "resolved"): (S.CLOSED, "rated"),
    ("satisfied", "resolved_again"): (S.CLOSED, "rated"),
    ("unsatisfied", "resolved"): (S.REOPENED, "reopened"),
    ("unsatisfied", "resolved_again"): (S.RETURNED, "review_requested"),
    ("close_unrated", "resolved"): (S.CLOSED, "closed_unrated"),
    ("close_unrated", "resolved_again"): (S.CLOSED, "closed_unrated"),
}
SITUATIONS = list(PATHS)
ROLE_OF = {
    "accept": "dispatcher", "reject": "dispatcher", "assign": "dispatcher", "close_after_review": "dispatcher",
    "acknowledge": "unit", "note": "unit", "return": "unit", "resolve": "unit",
    "satisfied": "resident", "unsatisfied": "resident", "close_unrated": "system",
}  # fmt: skip


# ---------------------------------------------------------------------- the state machine, end to end
@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_action_in_every_situation(session_factory, calendar, clock, case_service, situation):
    lifecycle = CaseLifecycle(session_factory, calendar, clock=clock, rating_window=dt.timedelta(0))
    stuck = drive(lifecycle, case_service, situation)  # for the illegal actions, which change nothing
    for action, act in ACTIONS.items():
        expected = LEGAL.get((action, situation))
        if expected is None:
            before, trail = lifecycle.get(stuck), lifecycle.history(stuck)
            with pytest.raises(IllegalTransition) as raised:
                act(lifecycle, stuck)
            assert raised.value.context["case_id"] == stuck
            assert raised.value.context["from_status"] == before.status.value
            assert (lifecycle.get(stuck), lifecycle.history(stuck)) == (before, trail), action
            continue
        case_id = drive(lifecycle, case_service, situation)
        before = lifecycle.get(case_id)
        trail = lifecycle.history(case_id)
        view = act(lifecycle, case_id)
        status, event = expected
        assert view.status is status, action
        assert lifecycle.get(case_id) == view
        (*unchanged, row) = lifecycle.history(case_id)
        assert unchanged == trail
        assert (row.event, row.actor_role, row.from_status, row.to_status) == (
            event,
            ROLE_OF[action],
            before.status.value,
            status.value,
        )
        assert row.at == clock.now


def test_it_runs_the_five_step_loop_and_leaves_an_audit_row_per_step(lifecycle, case_service, clock):
    case_id = case_service.file_report(report()).case_id
    steps = [
        lambda: lifecycle.accept(case_id, DISPATCHER, importance_level=3, note="属实"),
        lambda: lifecycle.assign(case_id, DISPATCHER),
        lambda: lifecycle.acknowledge(case_id, ECOLOGY, note="收到"),
        lambda: lifecycle.add_note(case_id, ECOLOGY, "已联系王虎寨镇，明早到现场"),
        lambda: lifecycle.resolve(case_id, ECOLOGY, result="已制止焚烧，现场已清理", photo="oss://photos/jl-1.jpg"),
        lambda: lifecycle.rate(case_id, RESIDENT, Rating.BASICALLY_SATISFIED, comment="处理挺快"),
    ]
    for step in steps:
        clock.advance(dt.timedelta(hours=1))
        view = step()

    assert view.status is S.CLOSED and view.status_label == "已办结归档"
    assert (view.rating, view.rating_comment) == (Rating.BASICALLY_SATISFIED, "处理挺快")
    assert (view.result, view.result_photo) == ("已制止焚烧，现场已清理", "oss://photos/jl-1.jpg")
    start = MONDAY_MORNING.astimezone(UTC)
    assert view.accepted_at == start + dt.timedelta(hours=1)
    assert view.assigned_at == start + dt.timedelta(hours=2)
    assert view.resolved_at == start + dt.timedelta(hours=5)
    assert view.closed_at == view.updated_at == start + dt.timedelta(hours=6)
    rows = [(e.event, e.actor, e.actor_role, e.from_status, e.to_status, e.note) for e in lifecycle.history(case_id)]
    assert rows == [
        ("filed", "wx-openid-1", "resident", None, "reported", ""),
        ("accepted", "dispatcher-li", "dispatcher", "reported", "accepted", "属实"),
        ("assigned", "dispatcher-li", "dispatcher", "accepted", "assigned", ""),
        ("acknowledged", "staff-zhang", "unit", "assigned", "in_progress", "收到"),
        ("progress_noted", "staff-zhang", "unit", "in_progress", "in_progress", "已联系王虎寨镇，明早到现场"),
        ("resolved", "staff-zhang", "unit", "in_progress", "resolved", "已制止焚烧，现场已清理"),
        ("rated", "wx-openid-1", "resident", "resolved", "closed", "处理挺快"),
    ]
    history = lifecycle.history(case_id)
    assert [e.at for e in history] == [start + dt.timedelta(hours=n) for n in range(7)]
    assert history[3].data == {"unit": "county_ecology"}
    assert history[6].data == {"rating": "basically_satisfied"}
    assert json.loads(json.dumps([e.to_dict() for e in history], ensure_ascii=False))[5]["data"]["photo"] == (
        "oss://photos/jl-1.jpg"
    )


# ---------------------------------------------------------------------- accept
def test_acceptance_fixes_the_deadline_from_the_acceptance_time(lifecycle, case_service, clock):
    clock.now = FRIDAY_AFTERNOON.astimezone(UTC)
    filed = case_service.file_report(report(matter_type="policy_consultation"))
    assert filed.deadline == dt.datetime(2026, 12, 4, 17, 30, tzinfo=SHANGHAI)  # preview only
    clock.now = NEXT_MONDAY_MORNING.astimezone(UTC)

    view = lifecycle.accept(filed.case_id, DISPATCHER, importance_level=1)

    assert view.accepted_at == NEXT_MONDAY_MORNING
    assert view.deadline == dt.datetime(2026, 12, 7, 17, 30, tzinfo=SHANGHAI)
    assert lifecycle.history(filed.case_id)[-1].data["deadline"] == view.deadline.isoformat()


@pytest.mark.parametrize(
    "matter_type,deadline",
    [
        ("emergency", dt.datetime(2026, 12, 7, 12, 0, tzinfo=SHANGHAI)),
        ("policy_consultation", dt.datetime(2026, 12, 7, 17, 30, tzinfo=SHANGHAI)),
        ("public_service", dt.datetime(2026, 12, 9, 17, 30, tzinfo=SHANGHAI)),
        ("other", dt.datetime(2026, 12, 16, 17, 30, tzinfo=SHANGHAI)),
    ],
)
def test_the_dispatcher_may_change_the_matter_type_and_the_deadline_follows_it(
    lifecycle, case_service, clock, matter_type, deadline
):
    case_id = case_service.file_report(report(matter_type="public_service")).case_id
    clock.now = NEXT_MONDAY_MORNING.astimezone(UTC)

    view = lifecycle.accept(case_id, DISPATCHER, importance_level=2, matter_type=matter_type)

    assert (view.matter_type, view.suggested_matter_type) == (MatterType(matter_type), MatterType.PUBLIC_SERVICE)
    assert view.deadline == deadline


def test_a_changed_category_keeps_the_bots_suggestion_beside_it_and_reroutes(lifecycle, case_service):
    case_id = case_service.file_report(report()).case_id

    view = lifecycle.accept(case_id, DISPATCHER, importance_level=2, category_code="agriculture")

    assert (view.category, view.category_name, view.importance_level) == ("agriculture", "农业农村", 2)
    assert (view.suggested_category, view.category_confidence) == ("eco_environment", 0.91)
    assert view.lead_unit == UnitRef("county_agriculture", "县农业农村局")
    assert view.cooperating_units == (UnitRef("wanghuzhai_zhen_gov", "王虎寨镇人民政府"),)
    data = lifecycle.history(case_id)[-1].data
    assert (data["category"], data["suggested_category"], data["auto"]) == ("agriculture", "eco_environment", False)


def test_a_report_left_to_the_dispatcher_needs_a_category_to_be_accepted(lifecycle, case_service):
    case_id = case_service.file_report(report(category_code=None, needs_review=True)).case_id
    with pytest.raises(InvalidCaseAction) as raised:
        lifecycle.accept(case_id, DISPATCHER, importance_level=1)
    assert raised.value.context == {"field": "category_code"}

    view = lifecycle.accept(case_id, DISPATCHER, importance_level=1, category_code="eco_environment")

    assert (view.status, view.needs_review, view.lead_unit.code) == (S.ACCEPTED, False, "county_ecology")


@pytest.mark.parametrize(
    "kwargs,error,field",
    [
        (dict(importance_level=0), InvalidCaseAction, "importance_level"),
        (dict(importance_level=4), InvalidCaseAction, "importance_level"),
        (dict(importance_level=True), InvalidCaseAction, "importance_level"),
        (dict(importance_level="2"), InvalidCaseAction, "importance_level"),
        (dict(importance_level=2, matter_type="urgent"), InvalidCaseAction, "matter_type"),
        (dict(importance_level=2, category_code="weather"), UnknownCategory, None),
    ],
)
def test_it_refuses_a_bad_acceptance_and_writes_nothing(lifecycle, case_service, kwargs, error, field):
    case_id = case_service.file_report(report()).case_id
    with pytest.raises(error) as raised:
        lifecycle.accept(case_id, DISPATCHER, **kwargs)
    if field:
        assert raised.value.context["field"] == field
    assert lifecycle.get(case_id).status is S.REPORTED
    assert len(lifecycle.history(case_id)) == 1


# ---------------------------------------------------------------------- auto-accept
def test_a_confident_report_is_accepted_by_the_system(lifecycle, case_service):
    case_id = case_service.file_report(report(category_confidence=0.86)).case_id

    view = lifecycle.auto_accept(case_id)

    assert (view.status, view.importance_level, view.accepted_at) == (S.ACCEPTED, 1, MONDAY_MORNING)
    assert view.deadline == dt.datetime(2026, 12, 9, 17, 30, tzinfo=SHANGHAI)
    row = lifecycle.history(case_id)[-1]
    assert (row.event, row.actor, row.actor_role) == ("accepted", "system", "system")
    assert (row.data["auto"], row.data["threshold"], row.data["category_confidence"]) == (True, 0.85, 0.86)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(dict(category_confidence=0.85), id="at-the-threshold"),
        pytest.param(dict(category_confidence=0.4), id="below"),
        pytest.param(dict(category_confidence=None), id="no-confidence"),
        pytest.param(dict(matter_type="emergency", category_confidence=0.99), id="emergency"),
        pytest.param(dict(category_code="agriculture", category_confidence=0.99), id="resident-chose-another"),
        pytest.param(dict(category_code=None, needs_review=True, category_confidence=0.99), id="left-to-dispatcher"),
    ],
)
def test_it_leaves_other_reports_to_a_dispatcher(lifecycle, case_service, overrides):
    case_id = case_service.file_report(report(**overrides)).case_id

    view = lifecycle.auto_accept(case_id)

    assert (view.status, view.accepted_at) == (S.REPORTED, None)
    assert len(lifecycle.history(case_id)) == 1


def test_the_threshold_is_configuration(session_factory, calendar, clock, case_service):
    case_id = case_service.file_report(report(category_confidence=0.6)).case_id
    assert CaseLifecycle(session_factory, calendar, clock=clock).auto_accept(case_id).status is S.REPORTED
    lowered = CaseLifecycle(session_factory, calendar, clock=clock, auto_accept_threshold=0.5)
    assert lowered.auto_accept(case_id).status is S.ACCEPTED
    with pytest.raises(ValueError):
        CaseLifecycle(session_factory, calendar, auto_accept_threshold=1.5)


def test_auto_accept_leaves_a_case_a_dispatcher_already_took_alone(lifecycle, case_service):
    case_id = case_service.file_report(report()).case_id
    lifecycle.reject(case_id, DISPATCHER, reason="invalid", note="测试消息")

    assert lifecycle.auto_accept(case_id).status is S.REJECTED
    with pytest.raises(CaseNotFound):
        lifecycle.auto_accept("JL20261130-0999")


# ---------------------------------------------------------------------- reject
def test_a_duplicate_is_linked_to_its_original(lifecycle, case_service):
    original = case_service.file_report(report()).case_id
    first_copy = case_service.file_report(report()).case_id
    second_copy = case_service.file_report(report()).case_id

    view = lifecycle.reject(first_copy, DISPATCHER, reason="duplicate", note="与前一工单相同", duplicate_of=original.lower())
    # A duplicate of a duplicate is linked to the original itself.
    again = lifecycle.reject(second_copy, DISPATCHER, reason=RejectReason.DUPLICATE, note="重复", duplicate_of=first_copy)

    assert (view.status, view.rejection_reason, view.duplicate_of) == (S.REJECTED, RejectReason.DUPLICATE, original)
    assert again.duplicate_of == original
    assert view.status_description.startswith(f"您的工单{first_copy}未予受理")
    row = lifecycle.history(first_copy)[-1]
    assert (row.note, row.data) == ("与前一工单相同", {"reason": "duplicate", "duplicate_of": original})


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(reason="duplicate", note="重复"), "duplicate_of"),
        (dict(reason="invalid", note="无效", duplicate_of="JL20261130-0001"), "duplicate_of"),
        (dict(reason="invalid", note="  "), "note"),
        (dict(reason="spam", note="垃圾信息"), "reason"),
        (dict(reason="duplicate", note="重复", duplicate_of="JL20261130-0002"), "duplicate_of"),  # itself
    ],
)
def test_a_rejection_needs_a_reason_and_a_valid_link(lifecycle, case_service, kwargs, field):
    case_service.file_report(report())
    case_id = case_service.file_report(report()).case_id
    with pytest.raises(InvalidCaseAction) as raised:
        lifecycle.reject(case_id, DISPATCHER, **kwargs)
    assert raised.value.context["field"] == field
    assert lifecycle.get(case_id).status is S.REPORTED


def test_a_duplicate_of_a_missing_case_is_refused(lifecycle, case_service):
    case_id = case_service.file_report(report()).case_id
    with pytest.raises(CaseNotFound):
        lifecycle.reject(case_id, DISPATCHER, reason="duplicate", note="重复", duplicate_of="JL20261130-0099")


# ---------------------------------------------------------------------- assign
def test_it_assigns_by_the_responsibility_list(lifecycle, case_service):
    security = dict(category_code="public_security", suggested_category_code="public_security")
    case_id = drive(lifecycle, case_service, "accepted", township="官亭", **security)

    view = lifecycle.assign(case_id, DISPATCHER)

    assert view.lead_unit == UnitRef("county_public_security", "县公安局")
    assert view.cooperating_units == (UnitRef("guanting_zhen_zongzhi", "官亭镇综治中心"),)
    assert view.status_label == "已派单至县公安局"
    assert view.deadline.isoformat() == lifecycle.history(case_id)[1].data["deadline"]  # fixed at acceptance
    data = lifecycle.history(case_id)[-1].data
    assert (data["lead_unit"], data["cooperating_units"], data["override"]) == (
        "county_public_security",
        ["guanting_zhen_zongzhi"],
        False,
    )


def test_a_dispatcher_override_needs_and_records_a_reason(lifecycle, case_service):
    case_id = drive(lifecycle, case_service, "accepted")
    with pytest.raises(InvalidCaseAction) as raised:
        lifecycle.assign(case_id, DISPATCHER, lead_unit="county_urban_management")
    assert raised.value.context == {"field": "reason"}
    assert lifecycle.get(case_id).status is S.ACCEPTED

    view = lifecycle.assign(
        case_id,
        DISPATCHER,
        lead_unit="county_urban_management",
        cooperating_units=["county_urban_management", "wanghuzhai_zhen_gov", "county_ecology", "county_ecology"],
        reason="焚烧点在城区，由城管牵头",
    )

    assert view.lead_unit == UnitRef("county_urban_management", "县城市管理综合行政执法局")
    assert [u.code for u in view.cooperating_units] == ["wanghuzhai_zhen_gov", "county_ecology"]
    row = lifecycle.history(case_id)[-1]
    assert row.note == "焚烧点在城区，由城管牵头"
    assert row.data["override"] is True
    assert row.data["routing"] == {
        "lead_unit": "county_ecology",
        "cooperating_units": ["wanghuzhai_zhen_gov", "county_urban_management"],
    }


def test_naming_the_listed_units_is_not_an_override(lifecycle, case_service):
    case_id = drive(lifecycle, case_service, "accepted")
    view = lifecycle.assign(
        case_id, DISPATCHER, lead_unit="county_ecology",
        cooperating_units=["county_urban_management", "wanghuzhai_zhen_gov"],
    )  # fmt: skip
    assert lifecycle.history(view.case_id)[-1].data["override"] is False


@pytest.mark.parametrize(
    "kwargs,error",
    [
        (dict(lead_unit="county_weather_bureau", reason="试试"), UnknownUnit),
        (dict(cooperating_units=["nobody"], reason="试试"), UnknownUnit),
        (dict(lead_unit="county_dispatch_center", reason="先放着"), InvalidCaseAction),
        (dict(category_code="weather"), UnknownCategory),
    ],
)
def test_it_assigns_only_to_real_units(lifecycle, case_service, kwargs, error):
    case_id = drive(lifecycle, case_service, "accepted")
    with pytest.raises(error):
        lifecycle.assign(case_id, DISPATCHER, **kwargs)
    assert lifecycle.get(case_id).status is S.ACCEPTED


def test_it_does_not_assign_to_a_unit_removed_from_the_list(lifecycle, case_service, session_factory):
    case_id = drive(lifecycle, case_service, "accepted")
    with session_factory.begin() as session:
        session.execute(update(Unit).where(Unit.code == "county_petitions").values(active=False))
    with pytest.raises(UnknownUnit) as raised:
        lifecycle.assign(case_id, DISPATCHER, cooperating_units=["county_petitions"], reason="信访局协助")
    assert raised.value.context == {"unit": "county_petitions"}


def test_a_returned_case_goes_back_to_the_dispatcher_who_reassigns_it(lifecycle, case_service, clock):
    case_id = drive(lifecycle, case_service, "assigned")
    deadline = lifecycle.get(case_id).deadline
    clock.advance(dt.timedelta(days=1))

    returned = lifecycle.return_case(case_id, ECOLOGY, reason="系农业废弃物焚烧，应由农业农村局处理")
    assert (returned.status, returned.status_label) == (S.RETURNED, "正在重新派单")
    assert lifecycle.history(case_id)[-1].note == "系农业废弃物焚烧，应由农业农村局处理"
    with pytest.raises(IllegalTransition):
        lifecycle.acknowledge(case_id, ECOLOGY)  # it is not theirs any more

    view = lifecycle.assign(case_id, DISPATCHER, category_code="agriculture")

    assert (view.status, view.category, view.lead_unit.code) == (S.ASSIGNED, "agriculture", "county_agriculture")
    assert view.deadline == deadline  # the promise made at acceptance stands
    assert lifecycle.history(case_id)[-1].data["category"] == {"from": "eco_environment", "to": "agriculture"}
    with pytest.raises(NotCaseUnit):
        lifecycle.acknowledge(case_id, ECOLOGY)
    assert lifecycle.acknowledge(case_id, Actor.unit("county_agriculture")).status is S.IN_PROGRESS


# ---------------------------------------------------------------------- unit side
@pytest.mark.parametrize("action", ["acknowledge", "note", "return"])
@pytest.mark.parametrize("unit", [TOWNSHIP, URBAN, Actor.unit("county_agriculture")], ids=lambda u: u.unit_code)
def test_only_the_lead_unit_may_act(lifecycle, case_service, action, unit):
    case_id = drive(lifecycle, case_service, "assigned")
    act = {
        "acknowledge": lambda: lifecycle.acknowledge(case_id, unit),
        "note": lambda: lifecycle.add_note(case_id, unit, "看一下"),
        "return": lambda: lifecycle.return_case(case_id, unit, reason="不归我们"),
    }[action]
    with pytest.raises(NotCaseUnit) as raised:
        act()
    assert raised.value.code == "not_case_unit"
    assert raised.value.context == {"case_id": case_id, "unit": unit.unit_code}
    assert len(lifecycle.history(case_id)) == 3


def test_only_the_lead_unit_may_resolve(lifecycle, case_service):
    case_id = drive(lifecycle, case_service, "in_progress")
    with pytest.raises(NotCaseUnit):
        lifecycle.resolve(case_id, TOWNSHIP, result="已处理")
    assert lifecycle.get(case_id).status is S.IN_PROGRESS


def test_a_progress_note_changes_nothing_but_the_trail(lifecycle, case_service, clock):
    case_id = drive(lifecycle, case_service, "in_progress")
    before = lifecycle.get(case_id)
    clock.advance(dt.timedelta(minutes=5))

    view = lifecycle.add_note(case_id, ECOLOGY, "  已约谈工厂负责人 ")

    assert (view.status, view.deadline, view.lead_unit) == (before.status, before.deadline, before.lead_unit)
    row = lifecycle.history(case_id)[-1]
    assert (row.event, row.note, row.from_status, row.to_status) == (
        "progress_noted",
        "已约谈工厂负责人",
        "in_progress",
        "in_progress",
    )


@pytest.mark.parametrize(
    "act,field",
    [
        (lambda lc, case_id: lc.add_note(case_id, ECOLOGY, " "), "note"),
        (lambda lc, case_id: lc.return_case(case_id, ECOLOGY, reason=""), "reason"),
        (lambda lc, case_id: lc.resolve(case_id, ECOLOGY, result="\n"), "result"),
        (lambda lc, case_id: lc.resolve(case_id, ECOLOGY, result="已处理", photo="x" * 513), "photo"),
    ],
)
def test_unit_actions_need_their_text(lifecycle, case_service, act, field):
    case_id = drive(lifecycle, case_service, "in_progress")
    with pytest.raises(InvalidCaseAction) as raised:
        act(lifecycle, case_id)
    assert raised.value.context["field"] == field
    assert len(lifecycle.history(case_id)) == 4


@pytest.mark.parametrize(
    "act",
    [
        lambda lc, case_id: lc.accept(case_id, ECOLOGY, importance_level=1),
        lambda lc, case_id: lc.assign(case_id, RESIDENT),
        lambda lc, case_id: lc.acknowledge(case_id, DISPATCHER),
        lambda lc, case_id: lc.rate(case_id, ECOLOGY, "satisfied"),
        lambda lc, case_id: lc.close_unrated(case_id, DISPATCHER),
    ],
)
def test_each_role_keeps_to_its_own_actions(lifecycle, case_service, act):
    case_id = case_service.file_report(report()).case_id
    with pytest.raises(ActorNotAllowed) as raised:
        act(lifecycle, case_id)
    assert raised.value.code == "actor_not_allowed"


# ---------------------------------------------------------------------- resident side
def test_a_resident_may_rate_only_their_own_case(lifecycle, case_service):
    case_id = drive(lifecycle, case_service, "resolved")
    with pytest.raises(NotCaseOwner):
        lifecycle.rate(case_id, Actor.resident("wx-openid-2"), "satisfied")
    assert lifecycle.get(case_id).status is S.RESOLVED


@pytest.mark.parametrize("rating", ["no_rating", "great", ""])
def test_a_resident_rates_with_one_of_three_words(lifecycle, case_service, rating):
    case_id = drive(lifecycle, case_service, "resolved")
    with pytest.raises(InvalidCaseAction) as raised:
        lifecycle.rate(case_id, RESIDENT, rating)
    assert raised.value.context["field"] == "rating"


@pytest.mark.parametrize("rating", [Rating.SATISFIED, "basically_satisfied"])
def test_a_satisfied_resident_closes_the_case(lifecycle, case_service, rating):
    case_id = drive(lifecycle, case_service, "resolved")
    view = lifecycle.rate(case_id, RESIDENT, rating)
    assert (view.status, view.rating, view.unsatisfied_count) == (S.CLOSED, Rating(rating), 0)
    assert view.to_dict()["rating_label"] in ("满意", "基本满意")


def test_first_unsatisfied_reopens_to_the_same_unit_with_a_new_deadline(lifecycle, case_service, clock):
    case_id = drive(lifecycle, case_service, "resolved")
    clock.now = NEXT_MONDAY_MORNING.astimezone(UTC)

    view = lifecycle.rate(case_id, RESIDENT, "unsatisfied", comment="还在烧")

    assert (view.status, view.lead_unit.code, view.unsatisfied_count) == (S.REOPENED, "county_ecology", 1)
    assert view.deadline == dt.datetime(2026, 12, 16, 17, 30, tzinfo=SHANGHAI)  # 7 working days from the rating
    assert view.assigned_at == NEXT_MONDAY_MORNING and not view.needs_review
    assert view.status_description.startswith(f"您的工单{case_id}已重新交办给县生态环境分局")
    row = lifecycle.history(case_id)[-1]
    assert (row.event, row.note, row.data["rating"]) == ("reopened", "还在烧", "unsatisfied")


def test_second_unsatisfied_goes_to_dispatcher_review(lifecycle, case_service, clock):
    case_id = drive(lifecycle, case_service, "resolved_again")

    view = lifecycle.rate(case_id, RESIDENT, "unsatisfied", comment="根本没人来")

    assert (view.status, view.needs_review, view.unsatisfied_count) == (S.RETURNED, True, 2)
    assert view.status_description == f"您的工单{case_id}已转交调度人员复核，我们会尽快给您答复。"
    assert lifecycle.history(case_id)[-1].event == "review_requested"
    # The unit cannot act on it now; the dispatcher cannot reject a case they accepted and that was worked on.
    with pytest.raises(IllegalTransition):
        lifecycle.acknowledge(case_id, ECOLOGY)
    with pytest.raises(IllegalTransition) as raised:
        lifecycle.reject(case_id, DISPATCHER, reason="invalid", note="无理诉求")
    assert raised.value.context["reason"] == "the case is under dispatcher review"


def test_after_review_the_dispatcher_starts_a_new_round(lifecycle, case_service, clock):
    case_id = drive(lifecycle, case_service, "review")
    clock.now = NEXT_MONDAY_MORNING.astimezone(UTC)

    view = lifecycle.assign(case_id, DISPATCHER, lead_unit="county_urban_management", reason="改由城管牵头")

    assert (view.status, view.needs_review, view.lead_unit.code) == (S.ASSIGNED, False, "county_urban_management")
    assert view.deadline == dt.datetime(2026, 12, 16, 17, 30, tzinfo=SHANGHAI)
    assert lifecycle.history(case_id)[-1].data["new_round"] is True
    # A third "unsatisfied" goes to review again.
    for act in (
        lambda: lifecycle.acknowledge(case_id, URBAN),
        lambda: lifecycle.resolve(case_id, URBAN, result="已拆除焚烧设施"),
    ):
        act()
    assert lifecycle.rate(case_id, RESIDENT, "unsatisfied").status is S.RETURNED


def test_after_review_the_dispatcher_may_close_it_with_a_reason(lifecycle, case_service):
    case_id = drive(lifecycle, case_service, "review")
    with pytest.raises(InvalidCaseAction):
        lifecycle.close_after_review(case_id, DISPATCHER, reason="")

    view = lifecycle.close_after_review(case_id, DISPATCHER, reason="已电话回访，诉求超出政策范围")

    assert (view.status, view.needs_review, view.rating) == (S.CLOSED, False, Rating.UNSATISFIED)
    row = lifecycle.history(case_id)[-1]
    assert (row.event, row.note) == ("closed_after_review", "已电话回访，诉求超出政策范围")


def test_an_unrated_case_is_closed_only_after_three_days(lifecycle, case_service, clock):
    case_id = drive(lifecycle, case_service, "resolved")
    clock.advance(dt.timedelta(days=3) - dt.timedelta(seconds=1))
    with pytest.raises(IllegalTransition) as raised:
        lifecycle.close_unrated(case_id)
    assert "rating window" in raised.value.context["reason"]
    clock.advance(dt.timedelta(seconds=1))

    view = lifecycle.close_unrated(case_id)

    assert (view.status, view.rating, view.closed_at) == (S.CLOSED, Rating.NO_RATING, clock.now)
    row = lifecycle.history(case_id)[-1]
    assert (row.event, row.actor, row.actor_role) == ("closed_unrated", "system", "system")


# ---------------------------------------------------------------------- transactions and concurrency
def test_an_action_that_fails_midway_writes_nothing(lifecycle, case_service, monkeypatch):
    case_id = drive(lifecycle, case_service, "assigned")
    before, trail = lifecycle.get(case_id), lifecycle.history(case_id)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(workflow.lifecycle, "case_views", fail)  # runs after the case and event are flushed
    with pytest.raises(RuntimeError):
        lifecycle.acknowledge(case_id, ECOLOGY)
    monkeypatch.undo()
    assert (lifecycle.get(case_id), lifecycle.history(case_id)) == (before, trail)


def test_of_two_sessions_acting_on_one_case_exactly_one_wins(lifecycle, case_service, monkeypatch):
    case_id = drive(lifecycle, case_service, "assigned")
    load = workflow.lifecycle._load_case
    interrupted = []

    def load_then_let_another_session_act(session, wanted):
        case = load(session, wanted)
        if not interrupted:  # our session has read the case; another one returns it before we write
            interrupted.append(wanted)
            lifecycle.return_case(wanted, ECOLOGY, reason="不属于本单位职责")
        return case

    monkeypatch.setattr(workflow.lifecycle, "_load_case", load_then_let_another_session_act)
    with pytest.raises(ConcurrentUpdate) as raised:
        lifecycle.acknowledge(case_id, ECOLOGY)

    assert raised.value.code == "conflict"
    assert raised.value.context == {"case_id": case_id, "event": "acknowledged"}
    assert lifecycle.get(case_id).status is S.RETURNED
    assert [e.event for e in lifecycle.history(case_id)] == ["filed", "accepted", "assigned", "returned"]


def test_a_progress_note_loses_to_a_return_it_raced_with(lifecycle, case_service, monkeypatch):
    # Same frozen instant for both: the note must still take part in the version check.
    case_id = drive(lifecycle, case_service, "in_progress")
    load = workflow.lifecycle._load_case
    interrupted = []

    def load_then_let_another_session_act(session, wanted):
        case = load(session, wanted)
        if not interrupted:
            interrupted.append(wanted)
            lifecycle.return_case(wanted, ECOLOGY, reason="不属于本单位职责")
        return case

    monkeypatch.setattr(workflow.lifecycle, "_load_case", load_then_let_another_session_act)
    with pytest.raises(ConcurrentUpdate):
        lifecycle.add_note(case_id, ECOLOGY, "正在处理")
    assert [e.event for e in lifecycle.history(case_id)][-1] == "returned"


@pytest.mark.parametrize("threads_count", [2, 6])
def test_racing_threads_on_one_case_leave_exactly_one_winner(lifecycle, case_service, monkeypatch, threads_count):
    # Every thread reads the case before any writes (barrier), then all write: on PostgreSQL the losers wait on the
    # winner's row lock and then match no row of their version; on SQLite they wait on the write lock.
    case_id = drive(lifecycle, case_service, "in_progress")
    barrier = threading.Barrier(threads_count)
    load = workflow.lifecycle._load_case

    def load_and_wait(session, wanted):
        case = load(session, wanted)
        barrier.wait(timeout=30)
        return case

    monkeypatch.setattr(workflow.lifecycle, "_load_case", load_and_wait)
    outcomes: list[object] = []
    lock = threading.Lock()

    def act(n: int) -> None:
        try:
            result: object = lifecycle.resolve(case_id, ECOLOGY, result=f"第{n}个处理结果")
        except BaseException as exc:  # noqa: BLE001 - reported below
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=act, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    monkeypatch.undo()

    winners = [o for o in outcomes if isinstance(o, CaseView)]
    losers = [o for o in outcomes if not isinstance(o, CaseView)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, ConcurrentUpdate) for o in losers), losers
    assert len(losers) == threads_count - 1
    assert lifecycle.get(case_id).result == winners[0].result
    assert [e.event for e in lifecycle.history(case_id)].count("resolved") == 1


# ---------------------------------------------------------------------- reading
def test_it_reads_a_case_and_its_trail_by_a_sloppy_id(lifecycle, case_service):
    case_id = case_service.file_report(report()).case_id
    assert lifecycle.get(f" {case_id.lower()} ").case_id == case_id
    assert [e.event for e in lifecycle.history(case_id.lower())] == ["filed"]
    with pytest.raises(CaseNotFound):
        lifecycle.history("JL20261130-0404")
    with pytest.raises(CaseNotFound):
        lifecycle.acknowledge("JL20261130-0404", ECOLOGY)


# ---------------------------------------------------------------------- notifications and deadline rounds
def _notifications(session_factory) -> list[tuple[str, str, str]]:
    from sqlalchemy import select

    from workflow.models import Notification

    with session_factory() as session:
        rows = session.execute(select(Notification).order_by(Notification.id)).scalars()
        return [(row.kind, row.recipient_role, row.recipient_id) for row in rows]


def test_each_step_enqueues_its_notifications_with_the_change(lifecycle, case_service, session_factory):
    case_id = drive(lifecycle, case_service, "resolved")
    assert _notifications(session_factory) == [
        ("accepted", "resident", "wx-openid-1"),
        ("assigned", "unit", "county_ecology"),
        ("resolved", "resident", "wx-openid-1"),
    ]
    assert lifecycle.get(case_id).status is S.RESOLVED


def test_a_transition_that_fails_leaves_no_notification(lifecycle, case_service, session_factory, monkeypatch):
    case_id = drive(lifecycle, case_service, "in_progress")
    before, trail, sent = lifecycle.get(case_id), lifecycle.history(case_id), _notifications(session_factory)
    real = workflow.lifecycle.notify_transition

    def enqueue_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("connection lost before commit")

    monkeypatch.setattr(workflow.lifecycle, "notify_transition", enqueue_then_fail)
    with pytest.raises(RuntimeError):
        lifecycle.resolve(case_id, ECOLOGY, result="已制止焚烧")
    monkeypatch.undo()

    assert (lifecycle.get(case_id), lifecycle.history(case_id)) == (before, trail)
    assert _notifications(session_factory) == sent


def test_of_racing_resolutions_only_the_winner_tells_the_resident(
    lifecycle, case_service, session_factory, monkeypatch
):
    case_id = drive(lifecycle, case_service, "in_progress")
    barrier = threading.Barrier(3)
    load = workflow.lifecycle._load_case

    def load_and_wait(session, wanted):
        case = load(session, wanted)
        barrier.wait(timeout=30)
        return case

    monkeypatch.setattr(workflow.lifecycle, "_load_case", load_and_wait)
    outcomes: list[object] = []

    def act(n: int) -> None:
        try:
            outcomes.append(lifecycle.resolve(case_id, ECOLOGY, result=f"第{n}个处理结果"))
        except ConcurrentUpdate as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=act, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    monkeypatch.undo()

    assert sum(isinstance(o, CaseView) for o in outcomes) == 1, outcomes
    assert [kind for kind, _, _ in _notifications(session_factory)].count("resolved") == 1


def test_reassignment_after_review_starts_a_round_the_deadline_jobs_watch_again(
    lifecycle, case_service, session_factory, clock
):
    from sqlalchemy import select, update

    from workflow.models import Case

    case_id = drive(lifecycle, case_service, "review")
    with session_factory.begin() as session:  # the jobs warned the unit and marked the old round overdue
        session.execute(update(Case).where(Case.case_id == case_id).values(warned_at=clock.now, overdue_at=clock.now))
    clock.now = NEXT_MONDAY_MORNING.astimezone(UTC)

    view = lifecycle.assign(case_id, DISPATCHER, lead_unit="county_urban_management", reason="改由城管牵头")

    with session_factory() as session:
        case = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()
    assert (case.warned_at, case.overdue_at) == (None, None)
    assert case.warn_at == NEXT_MONDAY_MORNING + (view.deadline - NEXT_MONDAY_MORNING) * 0.8


def test_the_warning_share_is_configuration(session_factory, calendar, clock, case_service):
    from sqlalchemy import select

    from workflow.models import Case

    halfway = CaseLifecycle(session_factory, calendar, clock=clock, warning_fraction=0.5)
    case_id = case_service.file_report(report(matter_type="emergency")).case_id
    halfway.accept(case_id, DISPATCHER, importance_level=3)
    with session_factory() as session:
        warn_at = session.execute(select(Case.warn_at).where(Case.case_id == case_id)).scalar_one()
    assert warn_at == MONDAY_MORNING + dt.timedelta(hours=1)
    assert halfway.warning_fraction == 0.5
    with pytest.raises(ValueError):
        CaseLifecycle(session_factory, calendar, warning_fraction=1.2)
