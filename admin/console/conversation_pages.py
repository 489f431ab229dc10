"""Live conversations (在线会话): the bot's current conversations, taking one over, speaking in it, handing it back.

Routes (dispatchers and administrators):

- ``GET /console/conversations``: conversations with a resident message in the last :data:`ACTIVE_SECONDS`
  (Rasa's tracker store, :class:`admin.conversations.TrackerConversations`), those that need a person first (the
  resident asked for one, or the bot fell back twice), with the last messages and who has taken which over.
- ``GET /console/conversations/<sender_id>``: one conversation (its transcript, refreshed every few seconds by
  ``conversations.js`` from ``…/messages.json``) with the controls: take over, send (canned replies: ``/code``),
  hand back.
- ``POST …/takeover``: claim it (:class:`workflow.takeovers.TakeoverService`: one holder at a time), then pause the
  bot and announce the staff member (:class:`admin.rasa_client.RasaClient`); if Rasa cannot be reached the claim is
  released again and the page says so — never a claim without a paused bot.
- ``POST …/send``: only by the holder (or an administrator); the message goes out through the resident's channel and
  into the tracker as a bot message marked with the staff member's name.
- ``POST …/handback``: resume the bot (which says so), then release the claim.

Each POST answers with a 303 back to the conversation page and a fixed-dictionary message (``?done=``/``?error=``);
script callers (``Accept: application/json``) get ``{"ok": …}`` instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import urllib.parse
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json, redirect

from admin.canned_replies import UnknownCannedReply
from admin.console.errors import wants_json
from admin.console.session import page, session_of
from admin.console.templating import SHANGHAI, render_page
from admin.rasa_client import InvalidStaffMessage, RasaRefused, RasaUnavailable, UnaddressableConversation
from workflow.accounts import AccountRole
from workflow.phones import mask_phones_in
from workflow.takeovers import AlreadyTakenOver, NotTakenOver

ROLES = (AccountRole.DISPATCHER, AccountRole.ADMIN)
#: Conversations with a resident message within this many seconds are listed (24 hours).
ACTIVE_SECONDS = 24 * 3600
#: Conversations listed at most (the most recent).
LIST_LIMIT = 200
#: Messages shown on a conversation page (the most recent).
TRANSCRIPT_LIMIT = 300
#: Longest message the send form accepts, in characters (admin.rasa_client checks again).
MAX_MESSAGE = 2000

#: ``?done=`` codes and what the page says.
DONE = {
    "takeover": "已接管：机器人已暂停，居民已收到工作人员接入的提示。",
    "send": "消息已发送。",
    "handback": "已交还机器人：居民已收到提示，机器人继续服务。",
}
#: ``?error=`` codes and what the page says.
ERRORS = {
    "already_taken_over": "该会话已由其他工作人员接管。",
    "not_taken_over": "请先接管该会话，再发送消息。",
    "not_holder": "该会话由其他工作人员接管，只有接管人（或管理员）可以发送或交还。",
    "rasa_unavailable": "暂时连接不上机器人服务，操作未执行，请稍后重试。",
    "rasa_refused": "消息未能送达居民（渠道拒绝或会话不存在），操作未执行。",
    "unaddressable": "该会话的标识无法通过机器人接口访问，无法接管。",
    "no_conversation": "没有这个会话（居民还没有发过消息），无法接管。",
    "empty_message": "消息不能为空，最长 2000 字。",
    "unknown_canned_reply": "没有这个常用回复代码，请从右侧列表中选择。",
}


def register(blueprint: Blueprint) -> None:
    """Add the live-conversation routes to the console blueprint."""
    blueprint.add_route(conversation_list, "/conversations", methods=["GET"])
    blueprint.add_route(conversation_page, "/conversations/<sender_id:str>", methods=["GET"])
    blueprint.add_route(conversation_messages, "/conversations/<sender_id:str>/messages.json", methods=["GET"])
    blueprint.add_route(take_over, "/conversations/<sender_id:str>/takeover", methods=["POST"])
    blueprint.add_route(send, "/conversations/<sender_id:str>/send", methods=["POST"])
    blueprint.add_route(hand_back, "/conversations/<sender_id:str>/handback", methods=["POST"])


def _sender(raw: str) -> str:
    """The conversation id from the path (decoded: ``%E7%8E%8B`` is ``王``)."""
    return urllib.parse.unquote(raw)


def _masked(message: Any) -> Any:
    """A message with phone numbers masked: conversations are lists; a full number is only on the case page, audited."""
    return dataclasses.replace(message, text=mask_phones_in(message.text))


def _message_dict(message: Any) -> dict[str, Any]:
    return {"role": message.role, "text": message.text, "at": message.at.isoformat(), "staff": message.staff,
            "at_local": message.at.astimezone(SHANGHAI).strftime("%m-%d %H:%M:%S")}


@page(*ROLES)
async def conversation_list(request: Request) -> HTTPResponse:
    """The list of live conversations, those needing a person first."""
    now = request.app.ctx.lifecycle.now()
    takeovers = await asyncio.to_thread(request.app.ctx.takeovers.open_takeovers)
    # Taken-over conversations stay listed even when the resident has gone quiet.
    conversations = await asyncio.to_thread(request.app.ctx.tracker.list_active, now, within_seconds=ACTIVE_SECONDS,
                                            limit=LIST_LIMIT, include=tuple(takeovers))
    conversations = sorted(conversations, key=lambda c: (not c.needs_person, -c.last_active.timestamp()))
    conversations = [dataclasses.replace(c, last_messages=tuple(_masked(m) for m in c.last_messages))
                     for c in conversations]
    return render_page(request, "conversations.html", conversations=conversations, takeovers=takeovers,
                       hours=ACTIVE_SECONDS // 3600)


async def _state(request: Request, sender_id: str) -> dict[str, Any]:
    tracker = request.app.ctx.tracker
    messages = await asyncio.to_thread(tracker.transcript, sender_id)
    takeover = await asyncio.to_thread(request.app.ctx.takeovers.current, sender_id)
    channel = await asyncio.to_thread(tracker.channel_of, sender_id)
    return {"messages": [_masked(m) for m in messages[-TRANSCRIPT_LIMIT:]], "takeover": takeover, "channel": channel}


@page(*ROLES)
async def conversation_page(request: Request, sender_id: str) -> HTTPResponse:
    """One conversation with its controls."""
    sender_id = _sender(sender_id)
    state = await _state(request, sender_id)
    summary = await asyncio.to_thread(request.app.ctx.tracker.summary, sender_id)
    # Rasa ends a pause by itself when a new session starts (120 min of silence): the claim is then stale.
    stale = state["takeover"] is not None and summary is not None and not summary.paused
    me = session_of(request).account
    takeover = state["takeover"]
    mine = takeover is not None and (takeover.account_id == me.id or me.role is AccountRole.ADMIN)
    done, error = request.args.get("done"), request.args.get("error")
    return render_page(
        request, "conversation.html", sender_id=sender_id, mine=mine, replies=request.app.ctx.canned_replies.items(),
        done=DONE.get(done or ""), error=ERRORS.get(error or ""), max_message=MAX_MESSAGE, stale=stale, **state,
    )


@page(*ROLES)
async def conversation_messages(request: Request, sender_id: str) -> HTTPResponse:
    """The transcript and take-over state as JSON, for the page's refresh."""
    sender_id = _sender(sender_id)
    state = await _state(request, sender_id)
    takeover = state["takeover"]
    return json({"messages": [_message_dict(m) for m in state["messages"]],
                 "takeover": takeover.to_dict() if takeover else None, "channel": state["channel"]},
                ensure_ascii=False, headers={"Cache-Control": "no-store"})


def _answer(request: Request, sender_id: str, *, done: str | None = None, error: str | None = None) -> HTTPResponse:
    if wants_json(request):
        return json({"ok": error is None, "done": done, "error": error,
                     "message": DONE.get(done or "") or ERRORS.get(error or "")}, status=200 if error is None else 409,
                    ensure_ascii=False)
    query = f"done={done}" if done else f"error={error}"
    return redirect(f"/console/conversations/{urllib.parse.quote(sender_id, safe='')}?{query}", status=303)


def _rasa_error(exception: Exception) -> str:
    if isinstance(exception, RasaUnavailable):
        return "rasa_unavailable"
    if isinstance(exception, UnaddressableConversation):
        return "unaddressable"
    return "rasa_refused"


@page(*ROLES)
async def take_over(request: Request, sender_id: str) -> HTTPResponse:
    """Claim the conversation, pause the bot, announce the staff member."""
    sender_id = _sender(sender_id)
    me = session_of(request).account
    takeovers = request.app.ctx.takeovers
    if await asyncio.to_thread(request.app.ctx.tracker.summary, sender_id) is None:
        return _answer(request, sender_id, error="no_conversation")  # nobody to talk to: never claim a void
    channel = await asyncio.to_thread(request.app.ctx.tracker.channel_of, sender_id)
    try:
        await asyncio.to_thread(takeovers.take, sender_id, channel=channel, account_id=me.id,
                                taken_by=me.display_name)
    except AlreadyTakenOver:
        return _answer(request, sender_id, error="already_taken_over")
    try:
        await request.app.ctx.rasa.take_over(sender_id, staff=me.display_name, channel=channel)
    except (RasaUnavailable, RasaRefused, UnaddressableConversation) as exception:
        await asyncio.to_thread(takeovers.release, sender_id, released_by=me.display_name)
        return _answer(request, sender_id, error=_rasa_error(exception))
    return _answer(request, sender_id, done="takeover")


async def _holder_check(request: Request, sender_id: str) -> tuple[Any, str | None]:
    me = session_of(request).account
    takeover = await asyncio.to_thread(request.app.ctx.takeovers.current, sender_id)
    if takeover is None:
        return None, "not_taken_over"
    if takeover.account_id != me.id and me.role is not AccountRole.ADMIN:
        return takeover, "not_holder"
    return takeover, None


@page(*ROLES)
async def send(request: Request, sender_id: str) -> HTTPResponse:
    """Send the holder's message (a canned reply expanded) to the resident through their channel."""
    sender_id = _sender(sender_id)
    me = session_of(request).account
    takeover, error = await _holder_check(request, sender_id)
    if error:
        return _answer(request, sender_id, error=error)
    if request.content_type.startswith("application/json"):
        typed = str((request.json or {}).get("text") or "") if isinstance(request.json, dict) else ""
    else:
        typed = (request.form.get("text") or "") if request.form else ""
    if not typed.strip() or len(typed) > MAX_MESSAGE:
        return _answer(request, sender_id, error="empty_message")
    try:
        text = request.app.ctx.canned_replies.expand(typed)
    except UnknownCannedReply:
        return _answer(request, sender_id, error="unknown_canned_reply")
    try:
        await request.app.ctx.rasa.send(sender_id, text, staff=me.display_name, channel=takeover.channel)
    except InvalidStaffMessage:
        return _answer(request, sender_id, error="empty_message")
    except (RasaUnavailable, RasaRefused, UnaddressableConversation) as exception:
        return _answer(request, sender_id, error=_rasa_error(exception))
    await asyncio.to_thread(request.app.ctx.takeovers.record_message, sender_id)
    return _answer(request, sender_id, done="send")


@page(*ROLES)
async def hand_back(request: Request, sender_id: str) -> HTTPResponse:
    """Resume the bot (it tells the resident), then release the claim."""
    sender_id = _sender(sender_id)
    me = session_of(request).account
    takeover, error = await _holder_check(request, sender_id)
    if error:
        return _answer(request, sender_id, error=error)
    try:
        await request.app.ctx.rasa.hand_back(sender_id, staff=me.display_name, channel=takeover.channel)
    except (RasaUnavailable, RasaRefused, UnaddressableConversation) as exception:
        return _answer(request, sender_id, error=_rasa_error(exception))
    try:
        await asyncio.to_thread(request.app.ctx.takeovers.release, sender_id, released_by=me.display_name)
    except NotTakenOver:  # another tab handed it back at the same moment: the bot is resumed either way
        pass
    return _answer(request, sender_id, done="handback")
