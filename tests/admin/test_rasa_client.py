"""The console's Rasa client against a stand-in for Rasa's tracker-events route: the exact requests, and errors.

The bodies are also checked against Rasa's own event schema and event parser, so Rasa would accept them.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import jsonschema
import pytest
from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, Event
from rasa.shared.utils.schemas.events import EVENTS_SCHEMA
from sanic import Sanic, response
from sanic.request import Request

from admin.rasa_client import (
    HAND_BACK_TEXT,
    InvalidStaffMessage,
    RasaClient,
    RasaRefused,
    RasaUnavailable,
    UnaddressableConversation,
)
from sanic_support import serving
from workflow.exceptions import JuhaobanError

TOKEN = "rasa-token-Zq81"
_names = itertools.count()


class FakeRasa:
    """Records every append-events request; answers ``status`` with ``body`` after ``delay`` seconds."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.body: Any = {"sender_id": "x", "paused": True}
        self.delay = 0.0
        self.app = Sanic(f"fake_rasa_{next(_names)}")
        self.app.add_route(self.append_events, "/conversations/<conversation_id:path>/tracker/events",
                           methods=["POST"])

    async def append_events(self, request: Request, conversation_id: str):
        self.requests.append({"conversation_id": conversation_id, "path": request.raw_url.decode().split("?")[0],
                              "args": {name: request.args.getlist(name) for name in request.args},
                              "json": request.json})
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(self.body, str):
            return response.text(self.body, status=self.status)
        return response.json(self.body, status=self.status)


@pytest.fixture
def fake() -> FakeRasa:
    return FakeRasa()


def _query(channel: str) -> dict[str, list[str]]:
    return {"execute_side_effects": ["true"], "output_channel": [channel], "include_events": ["NONE"],
            "token": [TOKEN]}


def _rasa_accepts(events: list[dict]) -> list[Event]:
    jsonschema.validate(events, EVENTS_SCHEMA)
    parsed = [Event.from_parameters(event) for event in events]
    assert all(parsed)
    return parsed


async def test_take_over_pauses_and_announces_the_staff_member(fake):
    async with serving(fake.app) as (base_url, _):
        async with RasaClient(base_url, token=TOKEN) as client:
            said = await client.take_over("oWx-openid-1", staff="调度员王芳", channel="wechat")
    assert said == "您好，巨好办工作人员（调度员王芳）已接入，接下来由人工为您服务。请直接说明您的问题，我们会尽快答复。"
    [request] = fake.requests
    assert request["conversation_id"] == "oWx-openid-1" and request["args"] == _query("wechat")
    assert request["json"] == [
        {"event": "pause"},
        {"event": "bot", "text": said, "metadata": {"juhaoban_staff": "调度员王芳"}},
    ]
    pause, bot = _rasa_accepts(request["json"])
    assert isinstance(pause, ConversationPaused)
    assert isinstance(bot, BotUttered) and bot.metadata == {"juhaoban_staff": "调度员王芳"} and bot.text == said


async def test_send_speaks_as_the_staff_member_through_the_residents_channel(fake):
    async with serving(fake.app) as (base_url, _):
        async with RasaClient(base_url, token=TOKEN) as client:
            sent = await client.send("0123456789abcdef0123456789abcdef", "  您反映的路灯问题已转住建局。 ",
                                     staff="调度员王芳", channel="socketio")
    assert sent == "您反映的路灯问题已转住建局。"
    [request] = fake.requests
    assert request["args"] == _query("socketio")
    assert request["json"] == [{"event": "bot", "text": sent, "metadata": {"juhaoban_staff": "调度员王芳"}}]
    _rasa_accepts(request["json"])


async def test_hand_back_resumes_and_the_bot_says_it_is_back(fake):
    async with serving(fake.app) as (base_url, _):
        async with RasaClient(base_url, token=TOKEN) as client:
            said = await client.hand_back("u1", staff="调度员王芳", channel="rest")
    assert said == HAND_BACK_TEXT and "转人工" in said and "工单号" in said
    [request] = fake.requests
    assert request["args"] == _query("rest")
    assert request["json"] == [
        {"event": "resume"},
        {"event": "bot", "text": HAND_BACK_TEXT, "metadata": {"juhaoban_handed_back_by": "调度员王芳"}},
    ]
    resume, bot = _rasa_accepts(request["json"])
    assert isinstance(resume, ConversationResumed) and "juhaoban_staff" not in bot.metadata


async def test_sender_ids_go_into_the_path_as_they_are_and_an_unknown_channel_means_the_latest(fake):
    """Rasa 3.6 does not decode the path: ``hotline%3A138`` would be another conversation than ``hotline:138``."""
    async with serving(fake.app) as (base_url, _):
        async with RasaClient(base_url + "/") as client:  # no token, trailing slash
            await client.send("hotline:13831912345", "您好", staff="王芳", channel=None)
    [request] = fake.requests
    assert request["path"] == "/conversations/hotline:13831912345/tracker/events"
    assert request["conversation_id"] == "hotline:13831912345"
    assert request["args"] == {"execute_side_effects": ["true"], "output_channel": ["latest"],
                               "include_events": ["NONE"]}


@pytest.mark.parametrize("sender_id", ["a b", "a/b", "a?b", "a#b", "a%3Ab", "王芳", ""])
async def test_a_sender_id_rasa_cannot_address_is_refused_before_any_request(fake, sender_id):
    async with serving(fake.app) as (base_url, _):
        async with RasaClient(base_url, token=TOKEN) as client:
            with pytest.raises(UnaddressableConversation) as error:
                await client.take_over(sender_id, staff="王芳", channel="rest")
    assert error.value.code == "unaddressable_conversation" and error.value.context == {"sender_id": sender_id}
    assert fake.requests == []


def test_the_events_url_carries_the_token_encoded():
    client = RasaClient("http://127.0.0.1:5005", token="t&k=1")
    assert client.events_url("hotline:138", "wechat") == (
        "http://127.0.0.1:5005/conversations/hotline:138/tracker/events"
        "?execute_side_effects=true&output_channel=wechat&include_events=NONE&token=t%26k%3D1"
    )


@pytest.mark.parametrize("status, body", [(401, {"status": "failure", "reason": "NotAuthenticated"}),
                                          (500, "An unexpected error occurred. Error: " + "x" * 1000)])
async def test_a_non_2xx_answer_raises_rasa_refused_with_status_and_a_short_body(fake, status, body):
    fake.status, fake.body = status, body
    async with serving(fake.app) as (base_url, _):
        async with RasaClient(base_url, token=TOKEN) as client:
            with pytest.raises(RasaRefused) as error:
                await client.send("u1", "您好", staff="王芳", channel="wechat")
    assert isinstance(error.value, JuhaobanError) and error.value.code == "rasa_refused"
    assert error.value.context["status"] == status and error.value.context["sender_id"] == "u1"
    assert 0 < len(error.value.context["body"]) <= 300
    assert TOKEN not in str(error.value)


async def test_no_server_raises_rasa_unavailable_without_the_token():
    async with RasaClient("http://127.0.0.1:1", token=TOKEN, timeout=5) as client:
        with pytest.raises(RasaUnavailable) as error:
            await client.take_over("u1", staff="王芳", channel="wechat")
    assert error.value.code == "rasa_unavailable"
    assert error.value.context["url"] == "http://127.0.0.1:1/conversations/u1/tracker/events"
    assert TOKEN not in str(error.value) and error.value.__cause__ is None


async def test_a_slow_server_raises_rasa_unavailable_after_the_timeout(fake):
    fake.delay = 2.0
    async with serving(fake.app) as (base_url, _):
        async with RasaClient(base_url, token=TOKEN, timeout=0.3) as client:
            with pytest.raises(RasaUnavailable) as error:
                await client.send("u1", "您好", staff="王芳", channel="wechat")
    assert "TimeoutError" in error.value.context["error"]


@pytest.mark.parametrize("text, staff, field", [("   ", "王芳", "text"), ("长" * 2001, "王芳", "text"),
                                                ("您好", " ", "staff"), ("您好", "名" * 129, "staff")])
async def test_empty_or_too_long_messages_are_refused_before_any_request(fake, text, staff, field):
    async with serving(fake.app) as (base_url, _):
        async with RasaClient(base_url, token=TOKEN) as client:
            with pytest.raises(InvalidStaffMessage) as error:
                await client.send("u1", text, staff=staff, channel="wechat")
    assert error.value.code == "invalid_staff_message" and error.value.context["field"] == field
    assert fake.requests == []


async def test_a_given_session_is_used_and_left_open(fake):
    async with serving(fake.app) as (base_url, session):
        client = RasaClient(base_url, token=TOKEN, session=session)
        await client.send("u1", "您好", staff="王芳", channel="wechat")
        await client.close()
        assert not session.closed
    assert len(fake.requests) == 1


# ------------------------------------------------------------------ against Rasa's own server code
# rasa.server.create_app's real route, auth check, event parsing, output-channel choice (_get_output_channel) and
# save order, with an in-memory tracker store and a stub processor (no model needed).
from rasa.core.channels.channel import InputChannel, OutputChannel  # noqa: E402
from rasa.core.channels.rest import RestInput  # noqa: E402
from rasa.core.lock_store import InMemoryLockStore  # noqa: E402
from rasa.core.processor import MessageProcessor  # noqa: E402
from rasa.core.tracker_store import InMemoryTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402


class RecordingOutput(OutputChannel):
    def __init__(self, name: str, sent: list, fail: bool = False) -> None:
        self._name, self.sent, self.fail = name, sent, fail

    def name(self) -> str:
        return self._name

    async def send_text_message(self, recipient_id, text, **kwargs):
        if self.fail:
            raise RuntimeError("the SMS gateway is down")
        self.sent.append((self._name, recipient_id, text, kwargs.get("juhaoban_staff")))


class PushingInput(InputChannel):
    def __init__(self, name: str, sent: list, fail: bool = False) -> None:
        self._name, self.sent, self.fail = name, sent, fail

    def name(self) -> str:
        return self._name

    def get_output_channel(self):
        return RecordingOutput(self._name, self.sent, self.fail)


class StubProcessor:
    def __init__(self, store: InMemoryTrackerStore) -> None:
        self.store = store

    async def fetch_tracker_with_initial_session(self, sender_id, output_channel=None, metadata=None):
        return await self.store.get_or_create_tracker(sender_id)

    async def get_tracker(self, sender_id):
        return await self.store.get_or_create_tracker(sender_id)

    async def execute_side_effects(self, events, tracker, output_channel):
        await MessageProcessor._send_bot_messages(events, tracker, output_channel)


class StubAgent:
    def __init__(self) -> None:
        self.domain = Domain.empty()
        self.lock_store = InMemoryLockStore()
        self.tracker_store = InMemoryTrackerStore(self.domain)
        self.processor = StubProcessor(self.tracker_store)

    def is_ready(self) -> bool:
        return True


@pytest.fixture
def real_rasa():
    import rasa.server

    agent = StubAgent()
    app = rasa.server.create_app(agent=agent, auth_token=TOKEN)
    app.ctx.agent = agent
    sent: list = []
    app.ctx.input_channels = [PushingInput("wechat", sent), RestInput(), PushingInput("hotline", sent, fail=True)]
    return app, agent, sent


async def test_rasa_pauses_sends_through_the_residents_channel_and_records_staff_messages(real_rasa):
    app, agent, sent = real_rasa
    async with serving(app) as (base_url, _):
        async with RasaClient(base_url, token=TOKEN) as client:
            joined = await client.take_over("oWx-1", staff="调度员王芳", channel="wechat")
            await client.send("oWx-1", "请问具体在哪个村？", staff="调度员王芳", channel="wechat")
            tracker = await agent.tracker_store.retrieve("oWx-1")
            assert tracker.is_paused()
            back = await client.hand_back("oWx-1", staff="调度员王芳", channel="wechat")
    assert sent == [("wechat", "oWx-1", joined, "调度员王芳"), ("wechat", "oWx-1", "请问具体在哪个村？", "调度员王芳"),
                    ("wechat", "oWx-1", back, None)]
    tracker = await agent.tracker_store.retrieve("oWx-1")
    assert not tracker.is_paused()
    bots = [event for event in tracker.events if isinstance(event, BotUttered)]
    assert [(b.text, b.metadata.get("juhaoban_staff")) for b in bots] == [
        (joined, "调度员王芳"), ("请问具体在哪个村？", "调度员王芳"), (back, None)]


async def test_rasa_keeps_a_rest_residents_staff_messages_in_the_tracker_only(real_rasa):
    app, agent, sent = real_rasa
    async with serving(app) as (base_url, _):
        async with RasaClient(base_url, token=TOKEN) as client:
            await client.take_over("u1", staff="调度员王芳", channel="rest")
    assert sent == []  # Rasa's collecting channel: nothing pushed
    tracker = await agent.tracker_store.retrieve("u1")
    assert tracker.is_paused() and tracker.latest_bot_utterance.metadata == {"juhaoban_staff": "调度员王芳"}


async def test_rasa_saves_nothing_when_the_channel_fails_to_send(real_rasa):
    app, agent, sent = real_rasa
    async with serving(app) as (base_url, _):
        async with RasaClient(base_url, token=TOKEN) as client:
            with pytest.raises(RasaRefused) as error:
                await client.take_over("hotline:13831912345", staff="调度员王芳", channel="hotline")
            async with RasaClient(base_url, token="wrong") as intruder:
                with pytest.raises(RasaRefused) as refused:
                    await intruder.take_over("u2", staff="x", channel="rest")
    assert error.value.context["status"] == 500 and "SMS gateway" in error.value.context["body"]
    tracker = await agent.tracker_store.retrieve("hotline:13831912345")  # created on fetch, nothing appended
    assert tracker is None or (not tracker.is_paused() and not any(isinstance(e, BotUttered) for e in tracker.events))
    assert refused.value.context["status"] == 401 and await agent.tracker_store.retrieve("u2") is None
