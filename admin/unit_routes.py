"""Unit (承办单位) routes: the unit's work list and what its staff do to a case it leads.

For a unit token (acting for its unit) or an admin token acting for the unit named by ``?unit=<code>``
(:func:`admin.tokens.unit_actor`); a dispatcher token gets 403. The actor of the audit row is the unit, named by the
token's name. Actions answer the case as it is afterwards (``CaseView.to_dict``).

- ``GET /api/unit/cases?status=&limit=&offset=`` → ``{"unit": {code, name}, "cases": [...], "limit", "offset"}``
- ``POST /api/cases/<case_id>/acknowledge`` ``{note?}`` (签收: assigned/reopened → in_progress)
- ``POST /api/cases/<case_id>/notes`` ``{note}`` (progress note; status unchanged)
- ``POST /api/cases/<case_id>/return`` ``{reason}`` (退回: not ours → returned, to the dispatcher)
- ``POST /api/cases/<case_id>/resolve`` ``{result, photo?}`` (办结: in_progress → resolved)
"""

from __future__ import annotations

import asyncio

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from admin.actions import case_action, lifecycle_of
from admin.body import read_body, text
from admin.query import parse_unit_case_query
from admin.responses import json_response
from admin.tokens import unit_actor
from workflow.unit_cases import list_unit_cases


def unit_blueprint() -> Blueprint:
    """Return a new blueprint with the unit routes (one per app)."""
    blueprint = Blueprint("unit")
    blueprint.add_route(unit_cases, "/api/unit/cases", methods=["GET"])
    blueprint.add_route(acknowledge, "/api/cases/<case_id:str>/acknowledge", methods=["POST"])
    blueprint.add_route(add_note, "/api/cases/<case_id:str>/notes", methods=["POST"])
    blueprint.add_route(return_case, "/api/cases/<case_id:str>/return", methods=["POST"])
    blueprint.add_route(resolve, "/api/cases/<case_id:str>/resolve", methods=["POST"])
    return blueprint


async def unit_cases(request: Request) -> HTTPResponse:
    """The acting unit's cases (:func:`workflow.unit_cases.list_unit_cases`), earliest deadline first.

    Raises:
        admin.query.InvalidQueryParameter: A bad ``status``, ``limit`` or ``offset`` (→ 422).
    """
    actor = unit_actor(request, "list a unit's cases")
    query = parse_unit_case_query({name: request.args.getlist(name) for name in request.args})
    views = await asyncio.to_thread(
        list_unit_cases, request.app.ctx.session_factory, actor.unit_code,
        statuses=query.statuses, limit=query.limit, offset=query.offset,
    )
    # A unit dropped from the responsibility list keeps its token and its old cases: show its code as its name.
    unit = request.app.ctx.reference.units.get(actor.unit_code)
    return json_response({
        "unit": {"code": actor.unit_code, "name": unit.name if unit else actor.unit_code},
        "cases": [view.to_dict() for view in views],
        "limit": query.limit,
        "offset": query.offset,
    })


async def acknowledge(request: Request, case_id: str) -> HTTPResponse:
    """The lead unit takes the case on: ``{note?}``."""
    actor = unit_actor(request, "acknowledge")
    body = read_body(request, ("note",))
    return await case_action(request, lifecycle_of(request).acknowledge, case_id, actor, note=text(body, "note") or "")


async def add_note(request: Request, case_id: str) -> HTTPResponse:
    """The lead unit records progress: ``{note}``."""
    actor = unit_actor(request, "add a note")
    body = read_body(request, ("note",))
    return await case_action(request, lifecycle_of(request).add_note, case_id, actor, text(body, "note") or "")


async def return_case(request: Request, case_id: str) -> HTTPResponse:
    """The lead unit says the case is not theirs: ``{reason}``."""
    actor = unit_actor(request, "return")
    body = read_body(request, ("reason",))
    return await case_action(
        request, lifecycle_of(request).return_case, case_id, actor, reason=text(body, "reason") or ""
    )


async def resolve(request: Request, case_id: str) -> HTTPResponse:
    """The lead unit reports the result: ``{result, photo?}`` (photo: a URL or storage key, ≤ 512 characters)."""
    actor = unit_actor(request, "resolve")
    body = read_body(request, ("result", "photo"))
    return await case_action(
        request, lifecycle_of(request).resolve, case_id, actor,
        result=text(body, "result") or "", photo=text(body, "photo"),
    )
