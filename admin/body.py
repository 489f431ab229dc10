"""Reading the JSON body of an action (``POST /api/cases/<id>/…``): a JSON object of known fields of known types.

Only the shape is checked here (a field is a string, a whole number, a list of strings); what the values mean
(a required reason, a level from 1 to 3, a known unit) is :mod:`workflow.lifecycle`'s to decide. An empty body is
an empty object, so actions without required fields (acknowledge) need no body. Unknown fields are refused rather
than ignored: a misspelt optional field (``cooperating_unit``) would otherwise silently fall back to the
responsibility list.
"""

from __future__ import annotations

import json
from typing import Any, Collection, Mapping

from sanic.request import Request

#: Longest text a field may hold, in characters; far beyond any note, enough to refuse a runaway client.
MAX_TEXT_LENGTH = 10_000
#: Most entries of a list field (cooperating units).
MAX_LIST_LENGTH = 50


class InvalidRequestBody(Exception):
    """The body is not a JSON object of the action's fields (the error handler answers 422).

    Attributes:
        code: ``invalid_request_body``.
        context: ``{"field": name}`` for a field of the wrong type, ``{"fields": [...], "allowed": [...]}`` for
            unknown fields, empty when the body is not an object.
    """

    code = "invalid_request_body"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.context: dict[str, Any] = dict(context)


class MalformedJson(InvalidRequestBody):
    """The body is not JSON at all (the error handler answers 400)."""

    code = "malformed_json"


def read_body(request: Request, fields: Collection[str]) -> dict[str, Any]:
    """The request's JSON object, checked to hold only ``fields``.

    Raises:
        MalformedJson: The body is not UTF-8 JSON.
        InvalidRequestBody: It is not an object, or it has fields other than ``fields``.
    """
    raw = request.body or b""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise MalformedJson("The request body is not valid UTF-8 JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequestBody("The request body must be a JSON object.")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidRequestBody(
            f"Unknown field(s) {', '.join(unknown)}.", fields=unknown, allowed=sorted(fields)
        )
    return body


def text(body: Mapping[str, Any], name: str) -> str | None:
    """Field ``name`` as a string, None when absent or null.

    Raises:
        InvalidRequestBody: Not a string, or longer than :data:`MAX_TEXT_LENGTH`.
    """
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestBody(f"Field '{name}' must be a string.", field=name)
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidRequestBody(f"Field '{name}' is longer than {MAX_TEXT_LENGTH} characters.", field=name)
    return value


def integer(body: Mapping[str, Any], name: str) -> int | None:
    """Field ``name`` as a whole number (JSON ``2``, not ``"2"`` or ``2.0`` or ``true``), None when absent or null.

    Raises:
        InvalidRequestBody: Not a whole number.
    """
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestBody(f"Field '{name}' must be a whole number.", field=name)
    return value


def text_list(body: Mapping[str, Any], name: str) -> list[str] | None:
    """Field ``name`` as a list of strings (may be empty), None when absent or null.

    Raises:
        InvalidRequestBody: Not a list of strings, or longer than :data:`MAX_LIST_LENGTH`.
    """
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestBody(f"Field '{name}' must be a list of strings.", field=name)
    if len(value) > MAX_LIST_LENGTH:
        raise InvalidRequestBody(f"Field '{name}' has more than {MAX_LIST_LENGTH} entries.", field=name)
    return value
