"""Case (工单) reading routes of the management API, under ``/api/cases`` (bearer token required).

- ``GET /api/cases/<case_id>`` → one case, as :meth:`workflow.cases.CaseView.to_dict`. Dispatcher and admin tokens
  read any case; a unit token only a case it leads (403 ``not_case_unit`` otherwise, 404 when there is no such case).
- ``GET /api/cases/<case_id>/events`` → ``{"case_id", "events": [...]}``, the audit trail oldest first
  (:meth:`workflow.case_views.CaseEventView.to_dict`); who may read it as for the case.
- ``GET /api/cases?reporter=&status=&category=&township=&limit=&offset=`` →
  ``{"cases": [...], "limit": n, "offset": n}``, newest first; dispatcher and admin tokens only (a unit lists its
  cases with ``GET /api/unit/cases``).

The views only parse, check the token's role (:mod:`admin.tokens`), call the services (in a worker thread: they are
synchronous SQLAlchemy) and serialize; errors are raised and turned into JSON by :mod:`admin.errors`.
"""

from __future__ import annotations

import asyncio

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from admin.actions import lifecycle_of, path_case_id
from admin.query import parse_case_query
from admin.responses import json_response
from admin.tokens import check_may_read, require_dispatcher


def cases_blueprint() -> Blueprint:
    """Return a new blueprint with the case routes (one per app: blueprints keep per-app state)."""
    blueprint = Blueprint("cases", url_prefix="/api/cases")
    blueprint.add_route(list_cases, "", methods=["GET"])
    blueprint.add_route(get_case, "/<case_id:str>", methods=["GET"])
    blueprint.add_route(case_events, "/<case_id:str>/events", methods=["GET"])
    return blueprint


async def get_case(request: Request, case_id: str) -> HTTPResponse:
    """Return one case by its case id (``JL20261129-0007``).

    Raises:
        workflow.exceptions.CaseNotFound: No such case (→ 404).
        workflow.exceptions.NotCaseUnit: A unit token and a case the unit does not lead (→ 403).
    """
    view = await asyncio.to_thread(request.app.ctx.cases.get_case, path_case_id(case_id))
    check_may_read(request, view)
    return json_response(view.to_dict())


async def case_events(request: Request, case_id: str) -> HTTPResponse:
    """Return the case's audit trail, oldest first (``filed`` first).

    Raises:
        workflow.exceptions.CaseNotFound: No such case (→ 404).
        workflow.exceptions.NotCaseUnit: A unit token and a case the unit does not lead (→ 403).
    """
    lifecycle = lifecycle_of(request)
    view = await asyncio.to_thread(lifecycle.get, path_case_id(case_id))
    check_may_read(request, view)
    events = await asyncio.to_thread(lifecycle.history, view.case_id)
    return json_response({"case_id": view.case_id, "events": [event.to_dict() for event in events]})


async def list_cases(request: Request) -> HTTPResponse:
    """List cases matching the query's filters, newest first, one page at a time.

    Raises:
        workflow.exceptions.ActorNotAllowed: A unit token (→ 403).
        admin.query.InvalidQueryParameter: A filter or paging value is invalid (→ 422).
    """
    require_dispatcher(request, "list all cases")
    # ``request.args.get`` would return the first value only; the parser wants every value.
    args = {name: request.args.getlist(name) for name in request.args}
    query = parse_case_query(args, request.app.ctx.reference)
    views = await asyncio.to_thread(request.app.ctx.cases.list_cases, **query.filters())
    return json_response(
        {"cases": [view.to_dict() for view in views], "limit": query.limit, "offset": query.offset}
    )
