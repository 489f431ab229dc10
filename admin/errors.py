"""The admin API's one error handler: every exception becomes a JSON error body.

Domain errors come from :mod:`workflow.exceptions` and are translated here and nowhere else (the
bot translates the same errors into polite Chinese replies in ``actions/``). Views and services
raise; they never build HTTP errors themselves.

Mapping (the HTTP semantics of RFC 9110 §15):

- ``CaseNotFound``, ``TokenNotFound`` → 404.
- ``ActorNotAllowed``, ``NotCaseUnit``, ``NotCaseOwner`` → 403 (authenticated, but this token may not do
  this, or not to this case).
- ``IllegalTransition`` and ``ConcurrentUpdate`` (code ``conflict``) → 409: the case's state does not allow the
  action now; read it again.
- Invalid input → 422 (well-formed request, unacceptable content): ``InvalidCaseAction``, ``InvalidReport``,
  ``UnknownCategory``, ``UnknownTownship``, ``UnknownUnit``, ``InvalidTokenRequest``, an invalid query parameter
  and a request body of the wrong shape; a body that is not JSON at all → 400 (``malformed_json``).
- Any other ``JuhaobanError`` → 400.
- Missing, wrong or revoked bearer tokens → 401, answered by :mod:`admin.auth` before any view runs.
- sanic's own HTTP errors (no route → 404, wrong method → 405, body too large → 413, …) keep
  their status; the body becomes JSON.
- Anything else → 500 with a generic message; the stack trace goes to the log, never to the client.
- Under ``/console`` the console's own HTML error pages answer instead (:mod:`admin.console.errors`).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from admin.body import InvalidRequestBody, MalformedJson
from admin.console.errors import console_error
from admin.query import InvalidQueryParameter
from admin.responses import error_response
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
    UnknownCategory,
    UnknownTownship,
    UnknownUnit,
)
from workflow.field_errors import FieldDataConflict, FieldDataNotFound, InvalidFieldData

logger = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
_DOMAIN_STATUS: tuple[tuple[type[JuhaobanError], int], ...] = (
    (CaseNotFound, 404),
    (TokenNotFound, 404),
    (ActorNotAllowed, 403),
    (NotCaseUnit, 403),
    (NotCaseOwner, 403),
    (IllegalTransition, 409),
    (ConcurrentUpdate, 409),
    (InvalidCaseAction, 422),
    (InvalidReport, 422),
    (UnknownCategory, 422),
    (UnknownTownship, 422),
    (UnknownUnit, 422),
    (InvalidTokenRequest, 422),
    # Growers' side (issue 7: farms, sensors, traceability): unknown plot/batch, invalid input, conflicts
    # (a harvest inside a pre-harvest interval, a reused request id).
    (FieldDataNotFound, 404),
    (InvalidFieldData, 422),
    (FieldDataConflict, 409),
)
# Errors of the HTTP layer itself (query string, body): not domain errors, same body shape.
_REQUEST_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (MalformedJson, 400),
    (InvalidRequestBody, 422),
    (InvalidQueryParameter, 422),
)
_DEFAULT_DOMAIN_STATUS = 400


def register_error_handler(app: Sanic) -> None:
    """Route every exception raised while handling a request to :func:`handle_exception`."""
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.error_handler.add(Exception, handle_exception)


async def handle_exception(request: Request, exception: Exception) -> HTTPResponse:
    """Translate ``exception`` into the JSON error body ``{"error": {"code", "message", "context"}}``.

    Args:
        request: The request being handled (for the log line).
        exception: Whatever a middleware, view or service raised.

    Returns:
        The error response; this function itself never raises.
    """
    if request.path == "/console" or request.path.startswith("/console/"):
        return console_error(request, exception)
    for cls, status in _REQUEST_STATUS:
        if isinstance(exception, cls):
            return error_response(status, exception.code, str(exception), exception.context)
    if isinstance(exception, JuhaobanError):
        return _domain_error(exception)
    if isinstance(exception, SanicException) and _status_of(exception) < 500:
        return _http_error(exception)
    logger.error(
        "Unhandled error on %s %s", request.method, request.path, exc_info=exception
    )
    return error_response(500, "internal_error", "Internal server error; it has been logged.")


def _domain_error(exception: JuhaobanError) -> HTTPResponse:
    status = next(
        (code for cls, code in _DOMAIN_STATUS if isinstance(exception, cls)),
        _DEFAULT_DOMAIN_STATUS,
    )
    return error_response(status, exception.code, exception.message, exception.context)


def _status_of(exception: SanicException) -> int:
    # A bare ``SanicException()`` has no status_code attribute at all (sanic 21.12).
    return getattr(exception, "status_code", None) or 500


def _http_error(exception: SanicException) -> HTTPResponse:
    status = _status_of(exception)
    try:
        code = HTTPStatus(status).name.lower()
    except ValueError:
        code = "http_error"
    # 405 carries ``Allow`` and 416 ``Content-Range``: keep the headers sanic put on the exception.
    headers = getattr(exception, "headers", None) or {}
    return error_response(status, code, str(exception), headers=headers)
