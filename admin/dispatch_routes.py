"""Dispatcher (调度员) routes: accept, assign, reject, mark a duplicate, and decide a case under review.

All are ``POST /api/cases/<case_id>/<action>`` with a JSON body, for dispatcher and admin tokens; the actor of the
audit row is the token's name. Each answers the case as it is afterwards (``CaseView.to_dict``). Under review means
a resident was unsatisfied twice (``returned`` with ``needs_review``, :mod:`workflow.lifecycle`); the dispatcher
then either gives the case a new round (``reopen``) or closes it with a reason (``close``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from admin.actions import case_action, lifecycle_of, path_case_id
from admin.body import InvalidRequestBody, integer, read_body, text, text_list
from admin.tokens import dispatcher_actor
from workflow.exceptions import IllegalTransition
from workflow.status import CaseStatus
from workflow.transitions import Actor, CaseEventType, RejectReason

_ASSIGN_FIELDS = ("lead_unit", "cooperating_units", "category", "reason")


def dispatch_blueprint() -> Blueprint:
    """Return a new blueprint with the dispatcher's action routes (one per app)."""
    blueprint = Blueprint("dispatch", url_prefix="/api/cases")
    blueprint.add_route(accept, "/<case_id:str>/accept", methods=["POST"])
    blueprint.add_route(assign, "/<case_id:str>/assign", methods=["POST"])
    blueprint.add_route(reject, "/<case_id:str>/reject", methods=["POST"])
    blueprint.add_route(duplicate, "/<case_id:str>/duplicate", methods=["POST"])
    blueprint.add_route(reopen, "/<case_id:str>/reopen", methods=["POST"])
    blueprint.add_route(close, "/<case_id:str>/close", methods=["POST"])
    return blueprint


async def accept(request: Request, case_id: str) -> HTTPResponse:
    """Accept a report (受理): ``{importance_level, category?, matter_type?, note?}`` (reported → accepted)."""
    actor = dispatcher_actor(request, "accept")
    body = read_body(request, ("importance_level", "category", "matter_type", "note"))
    return await case_action(
        request, lifecycle_of(request).accept, case_id, actor,
        importance_level=integer(body, "importance_level"),
        category_code=text(body, "category"),
        matter_type=text(body, "matter_type"),
        note=text(body, "note") or "",
    )


async def assign(request: Request, case_id: str) -> HTTPResponse:
    """Assign (派单): ``{lead_unit?, cooperating_units?, category?, reason?}`` (accepted/returned → assigned)."""
    actor = dispatcher_actor(request, "assign")
    return await _assign(request, case_id, actor, read_body(request, _ASSIGN_FIELDS))


async def reject(request: Request, case_id: str) -> HTTPResponse:
    """Reject (不予受理): ``{reason: invalid|out_of_scope|duplicate, note, duplicate_of?}``."""
    actor = dispatcher_actor(request, "reject")
    body = read_body(request, ("reason", "note", "duplicate_of"))
    return await case_action(
        request, lifecycle_of(request).reject, case_id, actor,
        reason=text(body, "reason") or "", note=text(body, "note") or "", duplicate_of=text(body, "duplicate_of"),
    )


async def duplicate(request: Request, case_id: str) -> HTTPResponse:
    """Reject as a duplicate of another case: ``{of, note}`` (the same as ``reject`` with ``duplicate``)."""
    actor = dispatcher_actor(request, "duplicate")
    body = read_body(request, ("of", "note"))
    original = text(body, "of")
    if not (original or "").strip():
        raise InvalidRequestBody("Field 'of' (the original case id) is required.", field="of")
    return await case_action(
        request, lifecycle_of(request).reject, case_id, actor,
        reason=RejectReason.DUPLICATE, note=text(body, "note") or "", duplicate_of=original,
    )


async def reopen(request: Request, case_id: str) -> HTTPResponse:
    """Give a case under review a new round (重新交办): like ``assign``, only for a case under review.

    Raises:
        IllegalTransition: The case is not under review (→ 409); use ``assign`` for a case a unit returned.
    """
    actor = dispatcher_actor(request, "reopen")
    body = read_body(request, _ASSIGN_FIELDS)
    current = await asyncio.to_thread(lifecycle_of(request).get, path_case_id(case_id))
    if not (current.status is CaseStatus.RETURNED and current.needs_review):
        raise IllegalTransition(
            f"case {current.case_id} is not under dispatcher review: nothing to reopen",
            case_id=current.case_id,
            event=CaseEventType.ASSIGNED.value,
            from_status=current.status.value,
            to_status=CaseStatus.ASSIGNED.value,
            reason="the case is not under dispatcher review",
        )
    return await _assign(request, case_id, actor, body)


async def close(request: Request, case_id: str) -> HTTPResponse:
    """Close a case under review as answered: ``{reason}`` (returned in review → closed)."""
    actor = dispatcher_actor(request, "close")
    body = read_body(request, ("reason",))
    return await case_action(
        request, lifecycle_of(request).close_after_review, case_id, actor, reason=text(body, "reason") or ""
    )


async def _assign(request: Request, case_id: str, actor: Actor, body: dict[str, Any]) -> HTTPResponse:
    return await case_action(
        request, lifecycle_of(request).assign, case_id, actor,
        lead_unit=text(body, "lead_unit"),
        cooperating_units=text_list(body, "cooperating_units"),
        category_code=text(body, "category"),
        reason=text(body, "reason") or "",
    )
