"""Case (工单) routes of the management API, under ``/api/cases`` (bearer token required).

- ``GET /api/cases/<case_id>`` → one case, as :meth:`workflow.cases.CaseView.to_dict`.
- ``GET /api/cases?reporter=&status=&category=&township=&limit=&offset=`` →
  ``{"cases": [...], "limit": n, "offset": n}``, newest first.

The views only parse, call :class:`workflow.cases.CaseService` (in a worker thread: it is
synchronous SQLAlchemy) and serialize; errors are raised and turned into JSON by
:mod:`admin.errors`.
"""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from admin.query import parse_case_query
from admin.responses import json_response


def cases_blueprint() -> Blueprint:
    """Return a new blueprint with the case routes (one per app: blueprints keep per-app state)."""
    blueprint = Blueprint("cases", url_prefix="/api/cases")
    blueprint.add_route(list_cases, "", methods=["GET"])
    blueprint.add_route(get_case, "/<case_id:str>", methods=["GET"])
    return blueprint


async def get_case(request: Request, case_id: str) -> HTTPResponse:
    """Return one case by its case id (``JL20261129-0007``).

    Raises:
        workflow.exceptions.CaseNotFound: No such case (→ 404).
    """
    # sanic 21.12 hands path parameters over still percent-encoded.
    view = await asyncio.to_thread(request.app.ctx.cases.get_case, unquote(case_id))
    return json_response(view.to_dict())


async def list_cases(request: Request) -> HTTPResponse:
    """List cases matching the query's filters, newest first, one page at a time.

    Raises:
        admin.query.InvalidQueryParameter: A filter or paging value is invalid (→ 422).
    """
    # ``request.args.get`` would return the first value only; the parser wants every value.
    args = {name: request.args.getlist(name) for name in request.args}
    query = parse_case_query(args, request.app.ctx.reference)
    views = await asyncio.to_thread(request.app.ctx.cases.list_cases, **query.filters())
    return json_response(
        {"cases": [view.to_dict() for view in views], "limit": query.limit, "offset": query.offset}
    )
