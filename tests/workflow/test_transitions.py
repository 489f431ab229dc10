"""The state machine as data: every (action, status) pair, who may act, and what the errors say.

The expected table is written out here by hand from ../shared/DESIGN.md "The five-step loop and case states", not
derived from workflow/transitions.py, so a change to the rules has to change both.
"""

from __future__ import annotations

import pytest

from workflow.exceptions import ActorNotAllowed, IllegalTransition, InvalidCaseAction
from workflow.models import ACTOR_ROLES
from workflow.status import CaseStatus
from workflow.transitions import (
    RULES,
    Actor,
    ActorRole,
    CaseEventType,
    Rating,
    allowed_events,
    check_role,
    check_transition,
)

S = CaseStatus
E = CaseEventType
R = ActorRole
REVIEW = "returned (under review)"

#: (action, from) → to. Every pair not listed is illegal.
LEGAL = {
    (E.ACCEPTED, S.REPORTED): S.ACCEPTED,
    (E.REJECTED, S.REPORTED): S.REJECTED,
    (E.REJECTED, S.ACCEPTED): S.REJECTED,
    (E.REJECTED, S.RETURNED): S.REJECTED,
    (E.ASSIGNED, S.ACCEPTED): S.ASSIGNED,
    (E.ASSIGNED, S.RETURNED): S.ASSIGNED,
    (E.ASSIGNED, REVIEW): S.ASSIGNED,
    (E.ACKNOWLEDGED, S.ASSIGNED): S.IN_PROGRESS,
    (E.ACKNOWLEDGED, S.REOPENED): S.IN_PROGRESS,
    (E.PROGRESS_NOTED, S.ASSIGNED): S.ASSIGNED,
    (E.PROGRESS_NOTED, S.REOPENED): S.REOPENED,
    (E.PROGRESS_NOTED, S.IN_PROGRESS): S.IN_PROGRESS,
    (E.RETURNED, S.ASSIGNED): S.RETURNED,
    (E.RETURNED, S.REOPENED): S.RETURNED,
    (E.RETURNED, S.IN_PROGRESS): S.RETURNED,
    (E.RESOLVED, S.IN_PROGRESS): S.RESOLVED,
    (E.RATED, S.RESOLVED): S.CLOSED,
    (E.REOPENED, S.RESOLVED): S.REOPENED,
    (E.REVIEW_REQUESTED, S.RESOLVED): S.RETURNED,
    (E.CLOSED_UNRATED, S.RESOLVED): S.CLOSED,
    (E.CLOSED_AFTER_REVIEW, REVIEW): S.CLOSED,
}
ROLES = {
    E.ACCEPTED: {R.DISPATCHER, R.SYSTEM, R.BOT},
    E.REJECTED: {R.DISPATCHER},
    E.ASSIGNED: {R.DISPATCHER},
    # a grid worker on a 帮我办 case assigned to them (issue 6); an expert on their consultation (issue 7)
    E.ACKNOWLEDGED: {R.UNIT, R.GRID_WORKER, R.EXPERT},
    E.PROGRESS_NOTED: {R.UNIT, R.GRID_WORKER, R.EXPERT},
    E.RETURNED: {R.UNIT},
    E.RESOLVED: {R.UNIT, R.GRID_WORKER, R.EXPERT},
    E.RATED: {R.RESIDENT},
    E.REOPENED: {R.RESIDENT},
    E.REVIEW_REQUESTED: {R.RESIDENT},
    E.CLOSED_UNRATED: {R.SYSTEM},
    E.CLOSED_AFTER_REVIEW: {R.DISPATCHER},
}
SITUATIONS = [*CaseStatus, REVIEW]
ACTIONS = [event for event in CaseEventType if event is not E.FILED]


def _status(situation) -> tuple[CaseStatus, bool]:
    return (S.RETURNED, True) if situation == REVIEW else (situation, False)


@pytest.mark.parametrize("event", ACTIONS, ids=lambda e: e.value)
@pytest.mark.parametrize("situation", SITUATIONS, ids=str)
def test_every_action_from_every_status(event, situation):
    status, under_review = _status(situation)
    expected = LEGAL.get((event, situation))
    if expected is None:
        with pytest.raises(IllegalTransition) as raised:
            check_transition(event, status, case_id="JL20261130-0001", under_review=under_review)
        context = raised.value.context
        assert raised.value.code == "illegal_transition"
        assert (context["case_id"], context["event"], context["from_status"]) == (
            "JL20261130-0001",
            event.value,
            status.value,
        )
        assert context["to_status"] == (RULES[event].target or status).value
        assert "JL20261130-0001" in str(raised.value) and status.value in str(raised.value)
    else:
        assert check_transition(event, status, case_id="JL20261130-0001", under_review=under_review) is expected


def test_there_are_no_dead_ends_except_closed_and_rejected():
    reachable_from = {situation for _, situation in LEGAL}
    assert set(SITUATIONS) - reachable_from == {S.CLOSED, S.REJECTED}


@pytest.mark.parametrize("event", ACTIONS, ids=lambda e: e.value)
@pytest.mark.parametrize("role", list(ActorRole), ids=lambda r: r.value)
def test_only_the_right_roles_may_act(event, role):
    if role in ROLES[event]:
        check_role(event, role, case_id="JL20261130-0001")
    else:
        with pytest.raises(ActorNotAllowed) as raised:
            check_role(event, role, case_id="JL20261130-0001")
        assert raised.value.context == {
            "case_id": "JL20261130-0001",
            "event": event.value,
            "actor_role": role.value,
        }


def test_it_lists_what_each_role_may_do_now():
    assert allowed_events("reported", R.DISPATCHER) == [E.ACCEPTED, E.REJECTED]
    assert allowed_events("returned", R.DISPATCHER) == [E.REJECTED, E.ASSIGNED]
    assert allowed_events("returned", R.DISPATCHER, under_review=True) == [E.ASSIGNED, E.CLOSED_AFTER_REVIEW]
    assert allowed_events("in_progress", R.UNIT) == [E.PROGRESS_NOTED, E.RETURNED, E.RESOLVED]
    assert allowed_events("resolved", R.RESIDENT) == [E.RATED, E.REOPENED, E.REVIEW_REQUESTED]
    assert allowed_events("closed", R.DISPATCHER) == []


def test_actors():
    assert Actor.unit("county_ecology") == Actor(R.UNIT, "county_ecology", "county_ecology")
    assert Actor.unit("county_ecology", "张三").id == "张三"
    assert Actor.system() == Actor("system", "system")
    assert Actor.resident(" wx-1 ").id == "wx-1"
    for make in (
        lambda: Actor(R.UNIT, "张三"),
        lambda: Actor(R.DISPATCHER, "d-1", "county_ecology"),
        lambda: Actor.dispatcher(" "),
        lambda: Actor.resident("x" * 129),
    ):
        with pytest.raises(InvalidCaseAction):
            make()
    with pytest.raises(ValueError):
        Actor("mayor", "m-1")


def test_the_roles_match_the_audit_table_constraint():
    assert ACTOR_ROLES == ("resident", "bot", "dispatcher", "unit", "system", "grid_worker", "expert")


def test_ratings_have_chinese_labels():
    assert [r.label for r in Rating] == ["满意", "基本满意", "不满意", "未评价"]
