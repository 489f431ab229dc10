"""Domain errors of the case workflow.

Every error carries a short snake_case ``code`` and a ``context`` dict of JSON-ready values, so that each caller
translates it once: the admin API to an HTTP status (one error handler), the bot's actions to a polite Chinese reply.
Messages are for logs and developers, not residents.
"""

from __future__ import annotations

from typing import Any


class JuhaobanError(Exception):
    """Base class of all domain errors.

    Attributes:
        code: Short snake_case identifier, stable across releases (callers switch on it).
        context: JSON-ready details naming what was wrong (ids, field names, offending values).
    """

    code = "juhaoban_error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = dict(context)

    def __str__(self) -> str:
        if not self.context:
            return self.message
        details = ", ".join(f"{key}={value!r}" for key, value in sorted(self.context.items()))
        return f"{self.message} ({details})"

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"code", "message", "context"}`` for API responses and logs."""
        return {"code": self.code, "message": self.message, "context": dict(self.context)}


class CaseNotFound(JuhaobanError):
    """No case (工单) has the given case id. Context: ``case_id``."""

    code = "case_not_found"


class UnknownCategory(JuhaobanError):
    """A category code is not one of the responsibility list's categories. Context: ``category``."""

    code = "unknown_category"


class UnknownTownship(JuhaobanError):
    """A township name, alias or code matches none of the county's townships. Context: ``township``."""

    code = "unknown_township"


class InvalidReport(JuhaobanError):
    """A resident's report cannot be filed as given. Context: ``field`` and, where safe, ``value``."""

    code = "invalid_report"


class ReferenceDataError(JuhaobanError):
    """Reference data (responsibility list, gazetteer) is malformed. Context: ``file`` and ``entry``."""

    code = "reference_data_error"


class NotCaseOwner(JuhaobanError):
    """A resident asked about a case somebody else reported. Context: ``case_id``."""

    code = "not_case_owner"


class UnknownUnit(JuhaobanError):
    """A unit code names no unit, or an inactive one (removed from the responsibility list). Context: ``unit``."""

    code = "unknown_unit"


class IllegalTransition(JuhaobanError):
    """The case's status (or review flag) does not allow this action (DESIGN.md "The five-step loop").

    Context: ``case_id``, ``event`` (the attempted action, a :class:`workflow.transitions.CaseEventType` code),
    ``from_status`` (the case's status now), ``to_status`` (where the action leads; equal to ``from_status`` for a
    progress note) and, when the status alone does not explain it, ``reason``.
    """

    code = "illegal_transition"


class ConcurrentUpdate(JuhaobanError):
    """Somebody else changed the case between reading and writing it; nothing was written. Read it again and retry.

    Raised instead of SQLAlchemy's ``StaleDataError`` (the ``version`` column's optimistic check). Context:
    ``case_id``, ``event``.
    """

    code = "conflict"


class ActorNotAllowed(JuhaobanError):
    """The actor's role may not take this action (a resident cannot assign, a unit cannot accept, …).

    Context: ``case_id``, ``event``, ``actor_role``.
    """

    code = "actor_not_allowed"


class NotCaseUnit(JuhaobanError):
    """A unit acted on a case whose lead unit (主体责任单位) it is not. Context: ``case_id``, ``unit``."""

    code = "not_case_unit"


class NotCaseAssignee(NotCaseUnit):
    """A grid worker acts on a case that is not a 帮我办 case assigned to them (a kind of :class:`NotCaseUnit`, so
    every API and console mapping answers it as that: 403). Context: ``case_id``, ``account_id``."""

    code = "not_case_assignee"


class InvalidCaseAction(JuhaobanError):
    """An action's input is missing or invalid (no reason, a level outside 1–3, a duplicate of itself, …).

    Context: ``field`` and, where safe, ``value``.
    """

    code = "invalid_case_action"


class InvalidCall(JuhaobanError):
    """A hotline call as the call centre posted it is malformed (:mod:`workflow.hotline`); nothing was filed.

    Context: ``field`` (a JSON path into the posted call: ``started_at``, ``turns[3].speaker``) and, where safe,
    ``value``.
    """

    code = "invalid_call"
