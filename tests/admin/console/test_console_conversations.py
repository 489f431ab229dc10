"""Live conversations in the console: the list with its flags, take-over, staff messages, hand-back.

Rasa is a stand-in that does what Rasa 3.6's ``append_events`` does with the console's requests: it appends the
events to the conversation in Rasa's own SQL tracker store (the same database the console reads) and records what it
would have sent through the output channel.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic, response

from admin.app import create_app
from console_support import ConsoleBrowser
from sanic_support import serving
from tracker_support import tracker_store
from workflow.settings import Settings

DATA_DIR = Path(__file__).resolve().parents[3] / "data"
SENDER = "oWx-resident-7"


class StandInRasa:
    """``POST /conversations/<id>/tracker/events``: appended to the real tracker store; bot texts "sent"."""

    def __init__(self, store: SQLTrackerStore) -> None:
        self.store = store
        self.sent: list[tuple[str, str, str]] = []  # (sender, output_channel, text)
        self.fail = False
        self.app = Sanic(f"stand_in_rasa_{id(self)}")
        self.app.add_route(self.append_events, "/conversations/<conversation_id:str>/tracker/events",
                           methods=["POST"])

    async def append_events(self, request, conversation_id: str):
        if self.fail:
            return response.json({"status": "failure", "message": "channel refused"}, status=500)
        tracker = await self.store.retrieve(conversation_id) or DialogueStateTracker(conversation_id, [])
        for parameters in request.json:
            event = Event.from_parameters(parameters)
            tracker.update(event)
            if isinstance(event, BotUttered):
                self.sent.append((conversation_id, request.args.get("output_channel"), event.text))
        await self.store.save(tracker)
        return response.json({"sender_id": conversation_id})


@pytest.fixture
def store(database_url):
    store = tracker_store(database_url)
    yield store
    store.engine.dispose()


@pytest.fixture
async def rasa(store):
    stand_in = StandInRasa(store)
    async with serving(stand_in.app) as (base_url, _session):
        stand_in.url = base_url
        yield stand_in


@pytest.fixture
async def console_url(database_url, case_service, lifecycle, rasa):
    settings = Settings(database_url=database_url, admin_token="console-conversations-token", data_dir=DATA_DIR,
                        rasa_url=rasa.url, rasa_token="rasa-secret")
    app = create_app(settings, case_service=case_service, lifecycle=lifecycle)
    async with serving(app) as (base_url, _session):
        yield base_url


@pytest.fixture
async def open_browser(console_url):
    opened = []

    async def open_one(username: str) -> ConsoleBrowser:
        client = ConsoleBrowser(console_url)
        opened.append(client)
        await client.login(username)
        return client

    yield open_one
    for client in opened:
        await client.close()


def resident_conversation(clock, *, asks_for_person: bool) -> list:
    """A WeChat resident who reported something and then asked for a person (or only said hello)."""
    at = (clock.now - dt.timedelta(minutes=5)).timestamp()
    events = [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at),
              ActionExecuted("action_listen", timestamp=at),
              UserUttered("你好", {"name": "greet", "confidence": 0.98}, timestamp=at + 1, input_channel="wechat"),
              BotUttered("您好，这里是巨好办。", timestamp=at + 2), ActionExecuted("action_listen", timestamp=at + 2)]
    if asks_for_person:
        events += [UserUttered("<b>转人工</b>", {"name": "request_human", "confidence": 0.97}, timestamp=at + 3,
                               input_channel="wechat"),
                   BotUttered("好的，已为您转接人工。", timestamp=at + 4), ActionExecuted("action_listen", timestamp=at + 4)]
    return events


async def save(store, events) -> None:
    await store.save(DialogueStateTracker.from_events(SENDER, events))


async def test_a_resident_who_asked_for_a_person_is_flagged_first(open_browser, accounts, store, clock):
    await save(store, resident_conversation(clock, asks_for_person=True))
    client = await open_browser("wangfang")
    page = await client.get("/console/conversations")
    assert page.status == 200
    assert f'data-sender="{SENDER}"' in page.text and "要求转人工" in page.text
    assert "&lt;b&gt;转人工&lt;/b&gt;" in page.text and "<b>转人工</b>" not in page.text


async def test_take_over_reply_and_hand_back(open_browser, accounts, store, rasa, clock):
    await save(store, resident_conversation(clock, asks_for_person=True))
    client = await open_browser("wangfang")
    page = await client.post(f"/console/conversations/{SENDER}/takeover")
    assert "已接管" in page.text and 'id="send-button"' in page.text
    assert rasa.sent[-1][:2] == (SENDER, "wechat") and "调度员王芳" in rasa.sent[-1][2]
    assert (await store.retrieve(SENDER)).is_paused()

    page = await client.post(f"/console/conversations/{SENDER}/send", {"text": "/loc 东关村南头"})
    assert "消息已发送" in page.text
    sender, channel, text = rasa.sent[-1]
    assert channel == "wechat" and text.startswith("请您提供具体位置") and text.endswith("东关村南头")
    status, body = await client.get_json(f"/console/conversations/{SENDER}/messages.json")
    assert status == 200
    assert body["messages"][-1]["role"] == "staff" and body["messages"][-1]["staff"] == "调度员王芳"
    assert body["takeover"]["messages_sent"] == 1

    page = await client.post(f"/console/conversations/{SENDER}/handback")
    assert "已交还机器人" in page.text and 'id="takeover-button"' in page.text
    assert not (await store.retrieve(SENDER)).is_paused()
    assert "智能助手继续为您服务" in rasa.sent[-1][2]


async def test_only_the_holder_may_speak_and_a_second_take_over_is_refused(open_browser, accounts, store, rasa,
                                                                          clock):
    await save(store, resident_conversation(clock, asks_for_person=True))
    holder = await open_browser("wangfang")
    await holder.post(f"/console/conversations/{SENDER}/takeover")
    second = await open_browser("admin1")
    # An administrator may speak in anyone's take-over; a second take-over is refused whoever asks.
    page = await second.post(f"/console/conversations/{SENDER}/takeover")
    assert "已由其他工作人员接管" in page.text
    sent = len(rasa.sent)
    page = await holder.post(f"/console/conversations/{SENDER}/send", {"text": "   "})
    assert "消息不能为空" in page.text and len(rasa.sent) == sent
    page = await holder.post(f"/console/conversations/{SENDER}/send", {"text": "/nosuchcode"})
    assert "没有这个常用回复代码" in page.text and len(rasa.sent) == sent


async def test_when_rasa_refuses_nothing_is_claimed(open_browser, accounts, store, rasa, clock):
    await save(store, resident_conversation(clock, asks_for_person=False))
    rasa.fail = True
    client = await open_browser("wangfang")
    page = await client.post(f"/console/conversations/{SENDER}/takeover")
    assert "操作未执行" in page.text and 'id="takeover-button"' in page.text
    rasa.fail = False
    page = await client.post(f"/console/conversations/{SENDER}/takeover")
    assert "已接管" in page.text


async def test_sending_without_a_take_over_is_refused(open_browser, accounts, store, rasa, clock):
    await save(store, resident_conversation(clock, asks_for_person=False))
    client = await open_browser("wangfang")
    page = await client.post(f"/console/conversations/{SENDER}/send", {"text": "你好"})
    assert "请先接管" in page.text and rasa.sent == []


async def test_units_and_grid_workers_see_no_conversations(open_browser, accounts, store, clock):
    await save(store, resident_conversation(clock, asks_for_person=True))
    for username in ("eco-zhang", "grid-liu"):
        client = await open_browser(username)
        page = await client.get("/console/conversations")
        assert page.status == 403 and SENDER not in page.text


async def test_phone_numbers_in_conversations_are_masked_for_everyone(open_browser, accounts, store, clock):
    events = resident_conversation(clock, asks_for_person=True)
    at = events[-1].timestamp + 1
    events += [UserUttered("有事打我电话 139 8765 4321 或 13812345678", {"name": "inform", "confidence": 0.9},
                           timestamp=at, input_channel="wechat")]
    await save(store, events)
    client = await open_browser("admin1")
    listing = await client.get("/console/conversations")
    page = await client.get(f"/console/conversations/{SENDER}")
    status, body = await client.get_json(f"/console/conversations/{SENDER}/messages.json")
    for text in (listing.text, page.text, str(body)):
        assert "8765" not in text and "13812345678" not in text
    assert "139 **** 4321" in page.text and "138****5678" in page.text


async def test_a_conversation_nobody_started_cannot_be_taken_over(open_browser, accounts, rasa):
    client = await open_browser("wangfang")
    page = await client.post("/console/conversations/nobody-here/takeover")
    assert "没有这个会话" in page.text and rasa.sent == []


async def test_a_sender_id_with_chinese_and_spaces_is_decoded(open_browser, accounts, store, clock):
    await store.save(DialogueStateTracker.from_events("王五 test", resident_conversation(clock, asks_for_person=True)))
    client = await open_browser("wangfang")
    listing = await client.get("/console/conversations")
    assert "/console/conversations/%E7%8E%8B%E4%BA%94%20test" in listing.text
    page = await client.get("/console/conversations/%E7%8E%8B%E4%BA%94%20test")
    assert "会话 <span class=\"text\">王五 test</span>" in page.text and "转人工" in page.text
