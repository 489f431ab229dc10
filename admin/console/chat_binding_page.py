"""The grid worker's “绑定聊天” page (issue 6): ``GET /console/chat-binding`` lists the chats bound to the account
with an unbind button each; ``POST /console/chat-binding`` issues a fresh one-time code and shows it once (6 digits,
valid 10 minutes, single use: :meth:`workflow.grid_work.GridWork.issue_binding_code`) with how to send it:
在巨好办公众号或网页聊天里发送“绑定 123456”. ``POST /console/chat-binding/unbind`` (form ``channel``,
``sender_id``) removes one of the account's own chats and redirects (303) to the page. Grid workers only: the
bound chat is where the bot tells them of new cases in their grid and of 帮我办 cases assigned to them.
"""

from __future__ import annotations

import asyncio

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from admin.console.session import page, session_of
from admin.console.templating import render_page
from workflow.accounts import AccountRole
from workflow.grid_work import CODE_VALIDITY, GridWork

CHANNEL_LABELS = {"wechat": "微信公众号", "socketio": "网页聊天", "rest": "网页接口", "hotline": "热线电话"}
_DONE = {"unbound": "已解除绑定。", "not_found": "没有找到这个绑定，可能已经解除。"}


def register(blueprint: Blueprint) -> None:
    """Add the chat-binding routes."""
    blueprint.add_route(binding_page, "/chat-binding", methods=["GET"])
    blueprint.add_route(new_code, "/chat-binding", methods=["POST"])
    blueprint.add_route(unbind, "/chat-binding/unbind", methods=["POST"])


def grid_work(request: Request) -> GridWork:
    """The grid-work service over the console's database, with the lifecycle's clock, calendar and policy."""
    lifecycle = request.app.ctx.lifecycle
    return GridWork(request.app.ctx.session_factory, lifecycle.calendar, clock=lifecycle.now, policy=lifecycle.policy)


async def _render(request: Request, *, code: str | None = None) -> HTTPResponse:
    account = session_of(request).account
    chats = await asyncio.to_thread(grid_work(request).chats_of_worker, account.id)
    response = render_page(request, "chat_binding.html", chats=chats, code=code,
                           minutes=int(CODE_VALIDITY.total_seconds() // 60), channel_labels=CHANNEL_LABELS,
                           flash=_DONE.get(request.args.get("done") or ""))
    response.headers["Cache-Control"] = "no-store"  # a code is shown once
    return response


@page(AccountRole.GRID_WORKER)
async def binding_page(request: Request) -> HTTPResponse:
    """The bound chats and the button for a code."""
    return await _render(request)


@page(AccountRole.GRID_WORKER)
async def new_code(request: Request) -> HTTPResponse:
    """A fresh binding code, shown on the page once (never in a URL)."""
    account = session_of(request).account
    code = await asyncio.to_thread(grid_work(request).issue_binding_code, account.id)
    return await _render(request, code=code)


@page(AccountRole.GRID_WORKER)
async def unbind(request: Request) -> HTTPResponse:
    """Remove one of the account's own chats."""
    account = session_of(request).account
    form = request.form or {}
    channel, sender_id = (form.get("channel") or "").strip(), (form.get("sender_id") or "").strip()
    removed = await asyncio.to_thread(grid_work(request).unbind_of_worker, account.id, channel, sender_id)
    return redirect(f"/console/chat-binding?done={'unbound' if removed else 'not_found'}", status=303)
