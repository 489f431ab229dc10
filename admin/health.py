"""Liveness and readiness: ``GET /health`` (no authentication, for load balancers and the launcher).

Answers ``{"status": "ok", "database": "ok"}`` with 200 when the database answers a trivial query
within :data:`DATABASE_PING_TIMEOUT_SECONDS`, otherwise ``{"status": "unavailable", "database":
"unreachable"}`` with 503 so a load balancer takes the instance out of rotation. The reason is
logged, not returned: it may name hosts and users.
"""

from __future__ import annotations

import asyncio
import logging

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import select
from sqlalchemy.engine import Engine

from admin.responses import json_response

logger = logging.getLogger(__name__)

#: Longest wait for the database before the instance reports itself unavailable, in seconds.
DATABASE_PING_TIMEOUT_SECONDS = 5.0


def health_blueprint() -> Blueprint:
    """Return a new blueprint with ``GET /health`` (one per app: blueprints keep per-app state)."""
    blueprint = Blueprint("health")
    blueprint.add_route(health, "/health", methods=["GET"])
    return blueprint


async def health(request: Request) -> HTTPResponse:
    """Report whether this instance can serve: 200 when the database answers, 503 otherwise."""
    reachable = await database_is_reachable(request.app.ctx.engine)
    if reachable:
        return json_response({"status": "ok", "database": "ok"})
    return json_response({"status": "unavailable", "database": "unreachable"}, status=503)


async def database_is_reachable(
    engine: Engine, timeout: float = DATABASE_PING_TIMEOUT_SECONDS
) -> bool:
    """Run ``SELECT 1`` on ``engine`` in a worker thread, giving up after ``timeout`` seconds.

    Args:
        engine: The app's engine.
        timeout: Seconds to wait; a hung connection attempt must not hang the health check.

    Returns:
        True when the query answered in time, False on any error or timeout (logged as WARNING).
    """
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping, engine), timeout)
    except asyncio.TimeoutError:
        logger.warning("Database did not answer the health check within %.1f s", timeout)
        return False
    except Exception as error:  # any driver error means "not ready"; the reason goes to the log
        logger.warning("Database health check failed: %s", error)
        return False
    return True


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(select(1)).scalar_one()
