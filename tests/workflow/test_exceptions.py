"""Domain errors carry a stable code and JSON-ready context."""

from __future__ import annotations

import json

import pytest

from workflow.exceptions import (
    ActorNotAllowed,
    CaseNotFound,
    ConcurrentUpdate,
    IllegalTransition,
    InvalidCall,
    InvalidCaseAction,
    InvalidReport,
    JuhaobanError,
    NotCaseOwner,
    NotCaseUnit,
    ReferenceDataError,
    UnknownCategory,
    UnknownTownship,
    UnknownUnit,
)

ERRORS = [
    CaseNotFound, UnknownCategory, UnknownTownship, InvalidReport, ReferenceDataError, NotCaseOwner, UnknownUnit,
    IllegalTransition, ConcurrentUpdate, ActorNotAllowed, NotCaseUnit, InvalidCaseAction, InvalidCall,
]  # fmt: skip


def test_every_error_has_its_own_snake_case_code():
    codes = [error.code for error in ERRORS]
    assert len(set(codes)) == len(ERRORS)
    assert all(code.islower() and " " not in code for code in codes)
    assert all(issubclass(error, JuhaobanError) for error in ERRORS)


def test_it_carries_context_into_str_and_dict():
    error = InvalidReport("the phone number is not valid", field="reporter_phone")
    assert str(error) == "the phone number is not valid (field='reporter_phone')"
    assert json.loads(json.dumps(error.to_dict())) == {
        "code": "invalid_report",
        "message": "the phone number is not valid",
        "context": {"field": "reporter_phone"},
    }


def test_it_can_be_caught_as_the_base_class():
    with pytest.raises(JuhaobanError) as raised:
        raise CaseNotFound("no case", case_id="JL20261130-0001")
    assert raised.value.code == "case_not_found"
    assert raised.value.context == {"case_id": "JL20261130-0001"}


def test_the_closed_loop_errors_have_the_codes_callers_switch_on():
    assert (IllegalTransition.code, ConcurrentUpdate.code) == ("illegal_transition", "conflict")
    error = IllegalTransition(
        "case JL20261130-0001: 'resolved' cannot move it from 'assigned' to 'resolved'",
        case_id="JL20261130-0001",
        event="resolved",
        from_status="assigned",
        to_status="resolved",
    )
    assert error.to_dict()["context"]["from_status"] == "assigned"
