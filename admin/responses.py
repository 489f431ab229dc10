"""JSON response helpers shared by every admin route, the auth check and the error handler.

Bodies are UTF-8 JSON with Chinese kept readable (``ensure_ascii=False``) rather than ``\\uXXXX``
escapes; the serializer is passed per response so other sanic apps in the process are unaffected.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Mapping

from sanic.response import HTTPResponse
from sanic.response import json as sanic_json

_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
# Error context comes from exceptions raised anywhere in the domain; a value that is not JSON-native
# (a date, a Path) is rendered as text rather than turning an error response into a second error.
_lenient_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"), default=str)


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> HTTPResponse:
    """Serialize ``body`` as a JSON response.

    Args:
        body: JSON-native data (dicts, lists, str, int, float, bool, None).
        status: HTTP status code.
        headers: Extra response headers.

    Returns:
        An ``application/json`` response.

    Raises:
        TypeError: ``body`` holds a value ``json`` cannot serialize (a bug in the caller).
    """
    return sanic_json(body, status=status, headers=dict(headers or {}), dumps=_dumps)


def error_response(
    status: int,
    code: str,
    message: str,
    context: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTTPResponse:
    """Build the admin API's one error body: ``{"error": {"code", "message", "context"}}``.

    Args:
        status: HTTP status code (4xx/5xx).
        code: Short snake_case machine-readable code, e.g. ``case_not_found``.
        message: Human-readable explanation for the API client.
        context: Details that help the client fix the request (parameter name, offending value…).
        headers: Extra response headers, e.g. ``WWW-Authenticate``.

    Returns:
        An ``application/json`` response with the given status.
    """
    body = {"error": {"code": code, "message": message, "context": dict(context or {})}}
    return sanic_json(body, status=status, headers=dict(headers or {}), dumps=_lenient_dumps)
