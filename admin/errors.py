"""The admin API's one error handler: every exception becomes a JSON error body.

Domain errors come from :mod:`workflow.exceptions` and are translated here and nowhere else (the
bot translates the same errors into polite Chinese replies in ``actions/``). Views and services
raise; they never build HTTP errors themselves.

Mapping (the HTTP semantics of RFC 9110 §15):

- ``CaseNotFound`` → 404; ``UnknownCategory``, ``UnknownTownship``, ``InvalidReport`` and an
  invalid query parameter → 422 (the request is well-formed but its content is unacceptable);
  any other ``JuhaobanError`` → 400.
- sanic's own HTTP errors (no route → 404, wrong method → 405, body too large → 413, …) keep
  their status; the body becomes JSON.
- Anything else → 500 with a generic message; the stack trace goes to the log, never to the client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from admin.query import InvalidQueryParameter
from admin.responses import error_response
from workflow.exceptions import (
    CaseNotFound,
    InvalidReport,
    JuhaobanError,
    UnknownCategory,
    UnknownTownship,
)

logger = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
_DOMAIN_STATUS: tuple[tuple[type[JuhaobanError], int], ...] = (
    (CaseNotFound, 404),
    (UnknownCategory, 422),
    (UnknownTownship, 422),
    (InvalidReport, 422),
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
    if isinstance(exception, InvalidQueryParameter):
        return error_response(422, exception.code, str(exception), exception.context)
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
