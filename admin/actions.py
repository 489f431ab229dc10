"""Running one closed-loop action for a view: the lifecycle call in a worker thread, the case back as JSON.

Every action of the API goes through :class:`workflow.lifecycle.CaseLifecycle` (``request.app.ctx.lifecycle``),
the one implementation the bot and the jobs share; it is synchronous SQLAlchemy, so it runs off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable
from urllib.parse import unquote

from sanic.request import Request
from sanic.response import HTTPResponse

from admin.responses import json_response
from workflow.case_views import CaseView
from workflow.lifecycle import CaseLifecycle


def lifecycle_of(request: Request) -> CaseLifecycle:
    """The app's lifecycle service (built in :func:`admin.app.create_app`'s start-up, or injected)."""
    return request.app.ctx.lifecycle


def path_case_id(case_id: str) -> str:
    """The case id from the path (sanic 21.12 hands path parameters over still percent-encoded)."""
    return unquote(case_id)


async def case_action(
    request: Request, action: Callable[..., CaseView], case_id: str, *args: Any, **kwargs: Any
) -> HTTPResponse:
    """Call ``action(case_id, *args, **kwargs)`` (a :class:`CaseLifecycle` method) and answer the case as it is now.

    Returns:
        200 with :meth:`workflow.case_views.CaseView.to_dict`.

    Raises:
        Whatever the lifecycle raises; :mod:`admin.errors` turns it into the JSON error.
    """
    view = await asyncio.to_thread(action, path_case_id(case_id), *args, **kwargs)
    return json_response(view.to_dict())
