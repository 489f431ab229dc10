"""Traceability in the management API and the public trace page (issue 7 part 5).

Management API (bearer token; ``admin`` tokens write, dispatcher and admin tokens read):

- ``POST /api/trace/batches`` ``{"plot", "grower_id"}`` → 201 the chain of the new batch (``code`` is its trace
  code).
- ``POST /api/trace/<code>/events`` ``{"kind", "occurred_at" (ISO 8601 with offset), "what", "place", "actor",
  "product", "dose", "dose_unit", "quantity_kg", "override_phi", "override_reason"}`` → 201 the event. A harvest
  inside a spraying's pre-harvest interval → 409 ``pre_harvest_interval_violation`` with ``product``,
  ``sprayed_on``, ``earliest_harvest`` (unless ``override_phi`` with a reason: recorded and flagged). Unknown
  pesticide → 422 ``unknown_pesticide``. Rules: :mod:`workflow.traceability`.
- ``GET /api/trace/<code>`` → the chain (JSON).

Public page, no login: ``GET /trace/<code>`` → the chain in Chinese, in order; only the grower's display name and
village (no chat ids, phone numbers). An unknown code → a Chinese 404 page. Every value is HTML-escaped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, html

from admin.body import InvalidRequestBody, read_body
from admin.responses import json_response
from admin.sensor_routes import require_admin
from admin.tokens import require_dispatcher
from workflow.pesticides import load_pesticides
from workflow.traceability import TraceNotFound, Traceability

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "trace"
_EVENT_FIELDS = ("kind", "occurred_at", "what", "place", "actor", "product", "dose", "dose_unit", "quantity_kg",
                 "override_phi", "override_reason")
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_environment = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True, undefined=StrictUndefined)


def trace_blueprint() -> Blueprint:
    """Return a new blueprint with the trace routes and the public page (one per app)."""
    blueprint = Blueprint("trace")
    blueprint.add_route(post_batch, "/api/trace/batches", methods=["POST"])
    blueprint.add_route(post_event, "/api/trace/<code:str>/events", methods=["POST"])
    blueprint.add_route(get_chain, "/api/trace/<code:str>", methods=["GET"])
    blueprint.add_route(trace_page, "/trace/<code:str>", methods=["GET"])
    blueprint.listener("before_server_start")(_open_services)
    return blueprint


async def _open_services(app: Sanic, _loop: object) -> None:
    pesticides = load_pesticides(app.ctx.settings.data_dir)  # validated: a typo stops start-up
    app.ctx.traceability = Traceability(app.ctx.session_factory, pesticides, app.ctx.lifecycle.now)


async def post_batch(request: Request) -> HTTPResponse:
    """Start a batch; 201 with its (empty) chain."""
    name = require_admin(request, "create trace batches")
    body = read_body(request, ("plot", "grower_id"))
    trace: Traceability = request.app.ctx.traceability
    code = await asyncio.to_thread(trace.create_batch, body.get("plot"), body.get("grower_id"), created_by=name)
    chain = await asyncio.to_thread(trace.chain, code)
    return json_response(chain.to_dict(), status=201)


async def post_event(request: Request, code: str) -> HTTPResponse:
    """Record an event on a batch's chain."""
    name = require_admin(request, "record trace events")
    body = read_body(request, _EVENT_FIELDS)
    occurred_at = _instant(body.get("occurred_at"))
    values = {key: body.get(key) for key in ("what", "place", "actor", "product", "dose", "dose_unit",
                                             "quantity_kg", "override_reason")}
    event = await asyncio.to_thread(
        request.app.ctx.traceability.record_event, code, body.get("kind"), occurred_at=occurred_at,
        recorded_by=name, override_phi=body.get("override_phi", False), **values)
    return json_response(event.to_dict(), status=201)


async def get_chain(request: Request, code: str) -> HTTPResponse:
    """A batch's chain as JSON."""
    require_dispatcher(request, "read trace chains")
    chain = await asyncio.to_thread(request.app.ctx.traceability.chain, code)
    return json_response(chain.to_dict())


async def trace_page(request: Request, code: str) -> HTTPResponse:
    """The public page of a trace code; a Chinese 404 page for an unknown one."""
    try:
        chain = await asyncio.to_thread(request.app.ctx.traceability.chain, code)
    except TraceNotFound:
        body = _environment.get_template("not_found.html").render(code=code[:64])
        return html(body, status=404, headers=_PAGE_HEADERS)
    return html(_environment.get_template("chain.html").render(chain=chain), headers=_PAGE_HEADERS)


def _instant(value: object) -> dt.datetime:
    """``occurred_at`` as an aware datetime.

    Raises:
        InvalidRequestBody: Missing, not a string, not ISO 8601, or without a UTC offset (→ 422).
    """
    if not isinstance(value, str):
        raise InvalidRequestBody("Field 'occurred_at' must be an ISO 8601 time with offset.", field="occurred_at")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestBody("Field 'occurred_at' must be an ISO 8601 time with offset.",
                                 field="occurred_at") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidRequestBody("Field 'occurred_at' needs a UTC offset (e.g. +08:00).", field="occurred_at")
    return parsed
