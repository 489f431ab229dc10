"""The one error handler: every exception becomes ``{"error": {"code", "message", "context"}}``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from sanic.compat import Header
from sanic.exceptions import InvalidUsage, MethodNotSupported, NotFound, ServerError

from admin.errors import handle_exception
from admin.query import InvalidQueryParameter
from admin.body import InvalidRequestBody, MalformedJson
from workflow.api_tokens import InvalidTokenRequest, TokenNotFound
from workflow.exceptions import (
    ActorNotAllowed,
    CaseNotFound,
    ConcurrentUpdate,
    IllegalTransition,
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

REQUEST = SimpleNamespace(method="GET", path="/api/cases/JL20261130-0001")


async def _error(exception: Exception) -> tuple[int, Header, dict]:
    response = await handle_exception(REQUEST, exception)
    assert response.content_type == "application/json"
    return response.status, response.headers, json.loads(response.body)["error"]


@pytest.mark.parametrize(
    ("exception", "status"),
    [
        (CaseNotFound("no case 'JL20261130-0001'", case_id="JL20261130-0001"), 404),
        (UnknownCategory("unknown category 'x'", category="x"), 422),
        (UnknownTownship("no township called '北京'", township="北京"), 422),
        (InvalidReport("the description is empty", field="description"), 422),
        (TokenNotFound("no API token with id 7", token_id=7), 404),
        (NotCaseOwner("case 'JL1' was reported by somebody else", case_id="JL1"), 403),
        (NotCaseUnit("not the lead unit", case_id="JL1", unit="county_ecology"), 403),
        (ActorNotAllowed("a unit token may not accept", action="accept", actor_role="unit"), 403),
        (IllegalTransition("cannot", case_id="JL1", event="resolved", from_status="assigned"), 409),
        (ConcurrentUpdate("changed meanwhile", case_id="JL1", event="assigned"), 409),
        (InvalidCaseAction("note is required", field="note"), 422),
        (UnknownUnit("no active unit 'x'", unit="x"), 422),
        (InvalidTokenRequest("unknown token role 'x'", field="role"), 422),
        (ReferenceDataError("bad file", file="x.yml", entry="unit a"), 400),
        (JuhaobanError("something domain-specific"), 400),
    ],
)
async def test_it_maps_domain_errors_to_http_statuses(exception: JuhaobanError, status: int) -> None:
    got_status, _, error = await _error(exception)

    assert got_status == status
    assert error == {"code": exception.code, "message": exception.message, "context": exception.context}


async def test_it_maps_an_invalid_query_parameter_to_422() -> None:
    status, _, error = await _error(InvalidQueryParameter("limit", "0", "must be between 1 and 200"))

    assert status == 422
    assert error["code"] == "invalid_query_parameter"
    assert error["context"] == {"parameter": "limit", "value": "0"}


@pytest.mark.parametrize(
    ("exception", "status"),
    [
        (InvalidRequestBody("Field 'note' must be a string.", field="note"), 422),
        (MalformedJson("The request body is not valid UTF-8 JSON."), 400),
    ],
)
async def test_it_maps_request_body_errors(exception: InvalidRequestBody, status: int) -> None:
    got_status, _, error = await _error(exception)

    assert got_status == status
    assert error == {"code": exception.code, "message": str(exception), "context": exception.context}


@pytest.mark.parametrize(
    ("exception", "status", "code"),
    [
        (NotFound("Requested URL /x not found"), 404, "not_found"),
        (InvalidUsage("bad request"), 400, "bad_request"),
    ],
)
async def test_it_keeps_the_status_of_sanic_http_errors(exception: Exception, status: int, code: str) -> None:
    got_status, _, error = await _error(exception)

    assert (got_status, error["code"]) == (status, code)


async def test_it_keeps_the_allow_header_of_a_405() -> None:
    status, headers, error = await _error(MethodNotSupported("Method POST not allowed", "POST", ["GET"]))

    assert status == 405
    assert error["code"] == "method_not_allowed"
    assert headers["allow"] == "GET"


@pytest.mark.parametrize(
    "exception", [RuntimeError("password=hunter2 at db01"), ServerError("internal detail"), KeyError("secret")]
)
async def test_it_hides_unexpected_errors_behind_a_logged_500(
    exception: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    status, _, error = await _error(exception)

    assert status == 500
    assert error == {"code": "internal_error", "message": "Internal server error; it has been logged.", "context": {}}
    record = next(r for r in caplog.records if r.name == "admin.errors")
    assert record.exc_info[1] is exception
    assert REQUEST.path in record.getMessage()


async def test_it_renders_context_values_json_cannot_hold_as_text() -> None:
    _, _, error = await _error(ReferenceDataError("bad file", file=Path("/data/x.yml")))

    assert error["context"] == {"file": "/data/x.yml"}
