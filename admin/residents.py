"""What a resident has been told about their cases, for channels that cannot push (the REST channel's clients).

- ``GET /api/residents/<sender>/messages?since=&limit=`` → ``{"sender", "messages": [...], "next_since"}``

``sender`` is the channel's sender id (the case's reporter). ``since`` is an ISO 8601 instant with offset (pass the
previous answer's ``next_since``; messages created strictly after it are returned, oldest first); ``limit`` 1–500,
default 100. Each message is a :class:`workflow.notifications.NotificationView` (``id``, ``created_at``,
``case_id``, ``kind``, ``text``, ``delivered_at`` …); ids are stable, so a client drops repeats by id.

Who may call it: dispatcher and admin tokens (the channel's back end reads for its residents); unit tokens get 403.
"""

from __future__ import annotations

import asyncio

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from admin.query import parse_message_query
from admin.responses import json_response
from admin.tokens import require_dispatcher
from workflow.notifications import Outbox


def residents_blueprint() -> Blueprint:
    """Return a new blueprint with the residents' message route (one per app)."""
    blueprint = Blueprint("residents")
    blueprint.add_route(resident_messages, "/api/residents/<sender:str>/messages", methods=["GET"])
    return blueprint


async def resident_messages(request: Request, sender: str) -> HTTPResponse:
    """The resident's messages after ``since``, oldest first.

    Raises:
        ActorNotAllowed: A unit token (→ 403).
        admin.query.InvalidQueryParameter: A bad ``since`` or ``limit`` (→ 422).
    """
    require_dispatcher(request, "read a resident's messages")
    query = parse_message_query({name: request.args.getlist(name) for name in request.args})
    since = query.since
    outbox = Outbox(request.app.ctx.session_factory)
    messages = await asyncio.to_thread(outbox.messages_for_resident, sender, since, query.limit)
    next_since = messages[-1].created_at.isoformat() if messages else (since.isoformat() if since else None)
    return json_response({"sender": sender, "messages": [m.to_dict() for m in messages], "next_since": next_since})
