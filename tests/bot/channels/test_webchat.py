"""The web chat's socket.io channel: sessions it hands out, replies reaching the page's room, forged ids refused."""

from __future__ import annotations

import asyncio

import socketio

from bot.channels.limits import RateLimit, SenderRateLimiter
from bot.channels.stores import InMemoryCounterStore
from bot.channels.webchat import WebChatInput, valid_session_id
from channel_support import RecordingBot, serve_channel


def channel() -> WebChatInput:
    web = WebChatInput(session_persistence=True)
    web.limiter = SenderRateLimiter(InMemoryCounterStore(), RateLimit(100, 60))
    return web


async def connect(base_url: str):
    client = socketio.AsyncClient()
    confirmed: asyncio.Queue = asyncio.Queue()
    said: asyncio.Queue = asyncio.Queue()
    client.on("session_confirm", lambda data: confirmed.put_nowait(data))
    client.on("bot_uttered", lambda data: said.put_nowait(data))
    await client.connect(base_url, socketio_path="/socket.io", transports=["polling"])
    return client, confirmed, said


def test_only_ids_of_the_form_handed_out_are_session_ids():
    assert valid_session_id("0123456789abcdef0123456789abcdef")
    for forged in ("oResident_WangFang", "hotline:13812345678", "0123", None, 42, "0123456789ABCDEF0123456789ABCDEF"):
        assert not valid_session_id(forged)


async def test_a_page_gets_a_session_and_the_bots_replies_in_its_room():
    bot = RecordingBot(lambda text: [f"收到：{text}"])
    async with serve_channel(channel(), bot, "") as served:
        client, confirmed, said = await connect(served.base_url)
        try:
            await client.emit("session_request", {"session_id": None})
            session_id = await asyncio.wait_for(confirmed.get(), 5)
            assert valid_session_id(session_id)
            await client.emit("user_uttered", {"message": "路灯坏了", "session_id": session_id})
            reply = await asyncio.wait_for(said.get(), 5)
        finally:
            await client.eio.disconnect(abort=True)  # no goodbye round trip: a long poll is open
    assert reply["text"] == "收到：路灯坏了"
    assert [(m.text, m.sender_id, m.input_channel) for m in bot.messages] == [("路灯坏了", session_id, "socketio")]


async def test_a_claimed_id_that_was_not_handed_out_is_replaced_and_its_messages_dropped():
    bot = RecordingBot()
    async with serve_channel(channel(), bot, "") as served:
        client, confirmed, _ = await connect(served.base_url)
        try:
            await client.emit("session_request", {"session_id": "oResident_WangFang"})
            given = await asyncio.wait_for(confirmed.get(), 5)
            await client.emit("user_uttered", {"message": "查一下我的工单", "session_id": "oResident_WangFang"})
            await asyncio.sleep(0.5)
        finally:
            await client.eio.disconnect(abort=True)  # no goodbye round trip: a long poll is open
    assert given != "oResident_WangFang" and valid_session_id(given)
    assert bot.messages == []
