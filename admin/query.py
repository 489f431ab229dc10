"""Parsing and validation of the case-list query strings (``GET /api/cases?...``, ``GET /api/unit/cases?...``).

Only the parameters named here are read; anything else in the query string is ignored so clients
can add their own (cache busters, tracing ids). Empty values (``?status=``) count as absent.
"""

from __future__ import annotations

import datetime as dt

import re
from dataclasses import dataclass
from typing import Any, Collection, Mapping, Sequence

from workflow.notifications import MAX_LIMIT as MESSAGE_LIMIT
from workflow.reference import ReferenceData
from workflow.status import CaseStatus

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Far beyond any county's case count, and well inside the 64-bit integers every database accepts
# for OFFSET, so a huge value is a 422 and never a database error.
MAX_OFFSET = 1_000_000_000
MAX_TEXT_LENGTH = 200

# ASCII digits only: ``int()`` would also accept "+5", " 5", "1_000" and non-ASCII digits.
_DIGITS = re.compile(r"[0-9]+")


class InvalidQueryParameter(Exception):
    """A query parameter has a value the API cannot use (the error handler answers 422).

    Attributes:
        code: ``invalid_query_parameter``.
        context: ``{"parameter": name, "value": given value, "allowed": … (when a closed set)}``.
    """

    code = "invalid_query_parameter"

    def __init__(
        self, parameter: str, value: str, reason: str, allowed: Sequence[str] | None = None
    ) -> None:
        super().__init__(f"Query parameter '{parameter}' {reason}.")
        self.context: dict[str, Any] = {"parameter": parameter, "value": value}
        if allowed is not None:
            self.context["allowed"] = list(allowed)


@dataclass(frozen=True)
class CaseQuery:
    """Validated filters and page of a case listing.

    Attributes:
        reporter: The channel's sender id of the resident (``cases.reporter_id``), exact match.
        status: A ``CaseStatus`` value, e.g. ``reported``.
        category: One of the 28 category codes (Open311 service_code), e.g. ``eco_environment``.
        township: A township code, e.g. ``julu_zhen`` (names and aliases are resolved to it).
        overdue: ``true``: only cases marked overdue in their current round; ``false``: only the others.
        limit: Page size, 1..200.
        offset: Number of cases to skip, newest first.
    """

    reporter: str | None = None
    status: str | None = None
    category: str | None = None
    township: str | None = None
    overdue: bool | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``CaseService.list_cases``."""
        return {
            "reporter": self.reporter,
            "status": self.status,
            "category": self.category,
            "township": self.township,
            "overdue": self.overdue,
            "limit": self.limit,
            "offset": self.offset,
        }


def parse_case_query(args: Mapping[str, Sequence[str]], reference: ReferenceData) -> CaseQuery:
    """Validate the case-list query string.

    Args:
        args: Parsed query string, name → list of values (sanic's ``request.args``); when a
            parameter is repeated the first value counts.
        reference: The reference data: ``category`` must be one of its category codes (the
            responsibility list's 28), ``township`` one of its townships by code, name or alias
            (王虎寨, 王虎寨镇 and ``wanghuzhai_zhen`` all mean the same township).

    Returns:
        The validated query, township as its code; absent parameters take their defaults
        (limit 50, offset 0). ``status`` must be a :class:`CaseStatus` value.

    Raises:
        InvalidQueryParameter: ``status``, ``category`` or ``township`` is not a known value;
            ``limit`` is not a whole number in 1..200; ``offset`` is not a whole number in
            0..1,000,000,000; a text value is longer than 200 characters.
    """
    return CaseQuery(
        reporter=_text(args, "reporter"),
        status=_choice(args, "status", [status.value for status in CaseStatus]),
        category=_choice(args, "category", list(reference.categories)),
        township=_township(args, reference),
        overdue=_boolean(args, "overdue"),
        limit=_integer(args, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
        offset=_integer(args, "offset", 0, minimum=0, maximum=MAX_OFFSET),
    )


@dataclass(frozen=True)
class UnitCaseQuery:
    """Validated filters and page of a unit's work list.

    Attributes:
        statuses: ``CaseStatus`` values; a case in any of them is listed (``?status=assigned&status=reopened``);
            empty lists every status.
        limit: Page size, 1..200.
        offset: Number of cases to skip, most urgent first.
    """

    statuses: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def parse_unit_case_query(args: Mapping[str, Sequence[str]]) -> UnitCaseQuery:
    """Validate the query string of a unit's work list (``unit`` is read by :mod:`admin.tokens`).

    Args:
        args: Parsed query string, name → list of values; ``status`` may be repeated, each value counts.

    Returns:
        The validated query; absent parameters take their defaults (every status, limit 50, offset 0).

    Raises:
        InvalidQueryParameter: A ``status`` is not a :class:`CaseStatus` value; ``limit``/``offset`` as in
            :func:`parse_case_query`.
    """
    allowed = [status.value for status in CaseStatus]
    statuses = []
    for value in args.get("status") or ():
        value = value.strip()
        if value and value not in allowed:
            raise InvalidQueryParameter("status", value[:MAX_TEXT_LENGTH], "is not a known value", allowed)
        if value and value not in statuses:
            statuses.append(value)
    return UnitCaseQuery(
        statuses=tuple(statuses),
        limit=_integer(args, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
        offset=_integer(args, "offset", 0, minimum=0, maximum=MAX_OFFSET),
    )


def _first(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = args.get(name) or ()
    value = values[0].strip() if values else ""
    return value or None


def _text(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    value = _first(args, name)
    if value is not None and len(value) > MAX_TEXT_LENGTH:
        raise InvalidQueryParameter(
            name, value[:MAX_TEXT_LENGTH] + "…", f"is longer than {MAX_TEXT_LENGTH} characters"
        )
    return value


def _choice(args: Mapping[str, Sequence[str]], name: str, allowed: Collection[str]) -> str | None:
    value = _text(args, name)
    if value is not None and value not in allowed:
        raise InvalidQueryParameter(name, value, "is not a known value", list(allowed))
    return value


def _township(args: Mapping[str, Sequence[str]], reference: ReferenceData) -> str | None:
    value = _text(args, "township")
    if value is None:
        return None
    township = reference.gazetteer.resolve_township(value)
    if township is None:
        allowed = [t.code for t in reference.gazetteer.townships]
        raise InvalidQueryParameter("township", value, "names no township of the county", allowed)
    return township.code


def _boolean(args: Mapping[str, Sequence[str]], name: str) -> bool | None:
    value = _text(args, name)
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidQueryParameter(name, value, "must be true or false", allowed=["true", "false"])


def _integer(
    args: Mapping[str, Sequence[str]], name: str, default: int, *, minimum: int, maximum: int
) -> int:
    value = _text(args, name)
    if value is None:
        return default
    if not _DIGITS.fullmatch(value):
        raise InvalidQueryParameter(
            name, value, f"must be a whole number from {minimum} to {maximum}"
        )
    number = int(value)
    if not minimum <= number <= maximum:
        raise InvalidQueryParameter(
            name, value, f"must be between {minimum} and {maximum}, got {number}"
        )
    return number


@dataclass(frozen=True)
class MessageQuery:
    """Validated cursor and page of a resident's messages.

    Attributes:
        since: Only messages created strictly after this aware instant; None for all.
        limit: Page size, 1..500 (:data:`workflow.notifications.MAX_LIMIT`).
    """

    since: dt.datetime | None = None
    limit: int = 100


def parse_message_query(args: Mapping[str, Sequence[str]]) -> MessageQuery:
    """Validate ``since`` (ISO 8601 with a UTC offset; ``Z`` accepted) and ``limit`` (default 100).

    Raises:
        InvalidQueryParameter: ``since`` is not an ISO 8601 date-time or has no offset; ``limit`` out of 1..500.
    """
    value = _text(args, "since")
    since = None
    if value is not None:
        try:
            since = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidQueryParameter("since", value, "must be an ISO 8601 date-time with offset") from None
        if since.tzinfo is None or since.utcoffset() is None:
            raise InvalidQueryParameter("since", value, "must carry a UTC offset, e.g. 2026-11-30T08:00:00+08:00")
    return MessageQuery(since, _integer(args, "limit", 100, minimum=1, maximum=MESSAGE_LIMIT))

