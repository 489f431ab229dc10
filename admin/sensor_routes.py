"""Farms, field sensors and growers' broadcasts in the management API (issue 7 part 3; bearer token required).

- ``POST /api/sensors/readings`` ``{"readings": [...]}`` (a ``sensor`` or ``admin`` token) → ``{"received",
  "accepted", "duplicates", "rejected": [{"index", "code", "field", "reason_zh", "reason_en"}], "alerts": [...]}``:
  200 when every reading was taken, **207** when some were rejected (the others are stored all the same). A
  reading's fields and rules: :mod:`workflow.sensors`. A body that is not ``{"readings": [...]}`` → 422, nothing
  stored.
- ``POST /api/plots`` ``{"code", "name", "township", "village", "growth_stage", "area_mu"}`` → 201 the plot.
- ``GET /api/plots/<code>`` → ``{"plot", "latest": [...]}`` (the latest reading per kind and depth/species).
- ``POST /api/plots/<code>/stage`` ``{"growth_stage"}`` → the plot.
- ``POST /api/plots/<code>/growers`` ``{"display_name", "channel", "sender_id", "resident_id", "village"}`` → 201
  the grower (the same chat again reuses the grower).
- ``POST /api/sensors/devices`` ``{"device_id", "plot", "kind", "active"}`` → the device (added or changed).
- ``POST /api/growers/broadcast`` ``{"request_id", "text", "township"}`` → 201 ``{"id", "recipients", "repeated"
  …}`` (200 with ``repeated: true`` for a retry; 409 ``request_id_reused`` for the same id with other content).

Who may call them: readings — ``sensor`` and ``admin`` tokens; reading a plot — dispatcher and admin tokens;
everything else — ``admin`` tokens only. Other tokens get 403. Errors are JSON (:mod:`admin.errors`): unknown plot
404, invalid fields 422 (``field`` names it).
"""

from __future__ import annotations

import asyncio

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from admin.body import read_body
from admin.responses import json_response
from admin.tokens import principal_of, require_dispatcher
from workflow.api_tokens import TokenRole
from workflow.exceptions import ActorNotAllowed
from workflow.farms import Farms
from workflow.grower_broadcasts import broadcast
from workflow.sensors import SensorService


def sensor_blueprint() -> Blueprint:
    """Return a new blueprint with the farm, sensor and broadcast routes (one per app)."""
    blueprint = Blueprint("sensors")
    blueprint.add_route(post_readings, "/api/sensors/readings", methods=["POST"])
    blueprint.add_route(post_device, "/api/sensors/devices", methods=["POST"])
    blueprint.add_route(post_plot, "/api/plots", methods=["POST"])
    blueprint.add_route(get_plot, "/api/plots/<code:str>", methods=["GET"])
    blueprint.add_route(post_stage, "/api/plots/<code:str>/stage", methods=["POST"])
    blueprint.add_route(post_grower, "/api/plots/<code:str>/growers", methods=["POST"])
    blueprint.add_route(post_broadcast, "/api/growers/broadcast", methods=["POST"])
    blueprint.listener("before_server_start")(_open_services)
    return blueprint


async def _open_services(app: Sanic, _loop: object) -> None:
    # After the app's own listener (registered first): the session factory and the lifecycle's clock exist.
    clock = app.ctx.lifecycle.now
    app.ctx.farms = Farms(app.ctx.session_factory, clock)
    # Validated here: a typo in data/sensors/rules.yml or data/trace/pesticides.yml stops start-up.
    app.ctx.sensors = SensorService.from_data_dir(app.ctx.session_factory, app.ctx.settings.data_dir, clock)


def _require(request: Request, roles: tuple[TokenRole, ...], action: str) -> str:
    """The caller's audit name when its token has one of ``roles``.

    Raises:
        ActorNotAllowed: Another role (→ 403).
    """
    principal = principal_of(request)
    if principal.role not in roles:
        raise ActorNotAllowed(f"a {principal.role.value} token may not {action}", action=action,
                              actor_role=principal.role.value)
    return principal.name


def require_admin(request: Request, action: str) -> str:
    """Only ``admin`` tokens (the shared one or a stored one); returns the holder's name."""
    return _require(request, (TokenRole.ADMIN,), action)


async def post_readings(request: Request) -> HTTPResponse:
    """Ingest a batch of readings; 207 when some were rejected (the rest is stored)."""
    _require(request, (TokenRole.SENSOR, TokenRole.ADMIN), "send sensor readings")
    body = read_body(request, ("readings",))
    result = await asyncio.to_thread(request.app.ctx.sensors.ingest, body.get("readings"))
    return json_response(result.to_dict(), status=207 if result.rejected else 200)


async def post_device(request: Request) -> HTTPResponse:
    """Register or change a device."""
    require_admin(request, "register sensor devices")
    body = read_body(request, ("device_id", "plot", "kind", "active"))
    device = await asyncio.to_thread(request.app.ctx.farms.register_device, body.get("device_id"),
                                     body.get("plot"), body.get("kind"),
                                     active=body.get("active", True))
    return json_response(device.to_dict())


async def post_plot(request: Request) -> HTTPResponse:
    """Add a plot."""
    require_admin(request, "add plots")
    body = read_body(request, ("code", "name", "township", "village", "growth_stage", "area_mu"))
    plot = await asyncio.to_thread(
        request.app.ctx.farms.create_plot, body.get("code"), body.get("name"), body.get("township"),
        village=body.get("village"), growth_stage=body.get("growth_stage", "休眠期"), area_mu=body.get("area_mu"))
    return json_response(plot.to_dict(), status=201)


async def get_plot(request: Request, code: str) -> HTTPResponse:
    """A plot and its latest readings."""
    require_dispatcher(request, "read plots")
    plot = await asyncio.to_thread(request.app.ctx.farms.get_plot, code)
    latest = await asyncio.to_thread(request.app.ctx.sensors.latest_readings, plot.code)
    return json_response({"plot": plot.to_dict(), "latest": [reading.to_dict() for reading in latest]})


async def post_stage(request: Request, code: str) -> HTTPResponse:
    """Move a plot to another growth stage."""
    require_admin(request, "change a plot's growth stage")
    body = read_body(request, ("growth_stage",))
    plot = await asyncio.to_thread(request.app.ctx.farms.set_growth_stage, code, body.get("growth_stage"))
    return json_response(plot.to_dict())


async def post_grower(request: Request, code: str) -> HTTPResponse:
    """Bind a grower to the plot."""
    require_admin(request, "bind growers")
    body = read_body(request, ("display_name", "channel", "sender_id", "resident_id", "village"))
    grower = await asyncio.to_thread(
        request.app.ctx.farms.add_grower, [code], body.get("display_name"), channel=body.get("channel"),
        sender_id=body.get("sender_id"), resident_id=body.get("resident_id"), village=body.get("village"))
    return json_response(grower.to_dict(), status=201)


async def post_broadcast(request: Request) -> HTTPResponse:
    """Send guidance to all growers or one township's; idempotent on ``request_id``."""
    name = require_admin(request, "broadcast to growers")
    body = read_body(request, ("request_id", "text", "township"))
    sent = await asyncio.to_thread(broadcast, request.app.ctx.session_factory, request_id=body.get("request_id"),
                                   text=body.get("text"), sent_by=name, township=body.get("township"),
                                   clock=request.app.ctx.lifecycle.now)
    return json_response(sent.to_dict(), status=200 if sent.repeated else 201)
