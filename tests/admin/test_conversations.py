"""The live-conversation reader against Rasa's real tracker-store schema: trackers are saved by Rasa's own
``SQLTrackerStore`` (SQLite file and PostgreSQL) from real Rasa events, then read back by ``admin.conversations``."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Restarted,
    SessionStarted,
    UserUttered,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from admin.conversations import ConversationMessage, TrackerConversations
from tracker_support import tracker_store

NOW = dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.timezone.utc)
T0 = NOW.timestamp() - 600  # ten minutes ago
TAKE_OVER = "您好，巨好办工作人员（调度员王芳）已接入，接下来由人工为您服务。"
DEFAULT = "抱歉，我没太看明白。"


@pytest.fixture
def store(database_url):
    store = tracker_store(database_url)
    yield store
    store.engine.dispose()


@pytest.fixture
def conversations(store, engine) -> TrackerConversations:
    return TrackerConversations(engine)


def save(store: SQLTrackerStore, sender_id: str, events: list) -> None:
    asyncio.run(store.save(DialogueStateTracker.from_events(sender_id, events)))


def session(at: float) -> list:
    return [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at),
            ActionExecuted("action_listen", timestamp=at)]


def user(text: str, intent: str, at: float, channel: str = "wechat", entities=None) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.97}, entities or [], timestamp=at,
                       input_channel=channel)


def bot(text: str, at: float, **metadata) -> BotUttered:
    return BotUttered(text, metadata=metadata, timestamp=at)


def turn(text: str, intent: str, at: float, action: str, reply: str, channel: str = "wechat") -> list:
    return [user(text, intent, at, channel), ActionExecuted(action, timestamp=at + 0.5),
            bot(reply, at + 0.5, utter_action=action), ActionExecuted("action_listen", timestamp=at + 0.6)]


def fallback(text: str, at: float, channel: str = "wechat", intent: str = "nlu_fallback") -> list:
    """What actions/triage.py leaves for a short unclear message: the default reply and the message reverted."""
    return [user(text, intent, at, channel), ActionExecuted("action_triage_unclear", timestamp=at + 0.5),
            bot(DEFAULT, at + 0.5, utter_action="utter_default"), UserUtteranceReverted(timestamp=at + 0.5),
            ActionExecuted("action_listen", timestamp=at + 0.6)]


def by_sender(summaries) -> dict:
    return {summary.sender_id: summary for summary in summaries}


def test_no_events_table_yet_answers_empty(engine):
    conversations = TrackerConversations(engine)
    assert conversations.list_active(NOW) == []
    assert conversations.summary("u1") is None
    assert conversations.transcript("u1") == []
    assert conversations.channel_of("u1") is None


def test_a_resident_who_asked_for_a_person_is_flagged_with_the_last_messages(store, conversations):
    events = (session(T0) + turn("路灯坏了", "report_issue", T0 + 1, "report_form", "哪个乡镇？")
              + turn("转人工", "request_human", T0 + 60, "utter_request_human", "好的，已为您通知值班调度员"))
    save(store, "wx-1", events)
    [summary] = conversations.list_active(NOW)
    assert (summary.sender_id, summary.channel, summary.paused) == ("wx-1", "wechat", False)
    assert summary.asked_for_human and summary.fallbacks == 0 and summary.needs_person
    assert summary.last_active == dt.datetime.fromtimestamp(T0 + 60, dt.timezone.utc)
    assert [(m.role, m.text) for m in summary.last_messages] == [
        ("resident", "路灯坏了"), ("bot", "哪个乡镇？"), ("resident", "转人工"), ("bot", "好的，已为您通知值班调度员")]
    assert summary.last_messages[0] == ConversationMessage("resident", "路灯坏了",
                                                           dt.datetime.fromtimestamp(T0 + 1, dt.timezone.utc))
    assert summary.to_dict()["needs_person"] is True
    assert summary.to_dict()["last_messages"][0]["at"].endswith("+00:00")
    # The request stays open while the resident goes on with the bot.
    save(store, "wx-1", events + turn("王虎寨镇", "inform", T0 + 90, "report_form", "联系电话？"))
    later = conversations.summary("wx-1", messages=2)
    assert later.asked_for_human and [m.text for m in later.last_messages] == ["王虎寨镇", "联系电话？"]


def test_two_fallbacks_in_a_row_flag_the_conversation_and_an_understood_message_ends_the_run(store, conversations):
    save(store, "web-a", session(T0) + fallback("嗯那个", T0 + 1, "socketio") + fallback("就是那个事", T0 + 30, "socketio"))
    save(store, "web-b", session(T0) + fallback("嗯那个", T0 + 1) + fallback("就是那个事", T0 + 30)
         + turn("你好", "greet", T0 + 40, "utter_greet", "您好，这里是巨好办。"))
    save(store, "web-c", session(T0) + fallback("嗯", T0 + 1))
    summaries = by_sender(conversations.list_active(NOW))
    assert (summaries["web-a"].fallbacks, summaries["web-a"].needs_person, summaries["web-a"].channel) == \
        (2, True, "socketio")
    assert not summaries["web-a"].asked_for_human
    assert (summaries["web-b"].fallbacks, summaries["web-b"].needs_person) == (0, False)
    assert (summaries["web-c"].fallbacks, summaries["web-c"].needs_person) == (1, False)
    # A reverted message is still shown: the resident did write it.
    assert [m.text for m in summaries["web-a"].last_messages] == ["嗯那个", DEFAULT, "就是那个事", DEFAULT]


def test_what_is_not_a_fallback(store, conversations):
    acknowledged = [user("好的", "affirm", T0 + 31), ActionExecuted("action_triage_unclear", timestamp=T0 + 31),
                    bot("好的。还有别的问题可以直接说", T0 + 31), UserUtteranceReverted(timestamp=T0 + 31)]
    long_report = [user("我们村东头那个厂子天天晚上往河沟里放黑水，味道特别大，孩子们都不敢出门，已经好几个月了",
                        "nlu_fallback", T0 + 50),
                   ActionExecuted("action_triage_unclear", timestamp=T0 + 50), bot("这件事发生在哪个乡镇？", T0 + 50)]
    rasa_fallback = [user("？？", "nlu_fallback", T0 + 70), ActionExecuted("action_default_fallback", timestamp=T0 + 70),
                     bot(DEFAULT, T0 + 70), UserUtteranceReverted(timestamp=T0 + 70)]
    save(store, "ack", session(T0) + fallback("嗯", T0 + 1) + acknowledged)
    save(store, "report", session(T0) + fallback("嗯", T0 + 1) + long_report)
    save(store, "rasa", session(T0) + fallback("嗯", T0 + 1, intent="out_of_scope") + rasa_fallback)
    summaries = by_sender(conversations.list_active(NOW))
    assert summaries["ack"].fallbacks == 0 and summaries["report"].fallbacks == 0
    assert summaries["rasa"].fallbacks == 2 and summaries["rasa"].needs_person


def test_a_taken_over_conversation_is_paused_shows_staff_messages_and_is_not_flagged(store, conversations):
    events = (session(T0) + turn("转人工", "request_human", T0 + 1, "utter_request_human", "好的，已为您通知值班调度员")
              + [ConversationPaused(timestamp=T0 + 100), bot(TAKE_OVER, T0 + 100, juhaoban_staff="调度员王芳"),
                 user("路灯坏了三天了", "report_issue", T0 + 130),  # logged, but the paused bot answers nothing
                 bot("请问具体在哪个村？", T0 + 160, juhaoban_staff="调度员王芳")])
    save(store, "wx-2", events)
    summary = conversations.summary("wx-2", messages=3)
    assert summary.paused and not summary.asked_for_human and not summary.needs_person
    assert [(m.role, m.staff) for m in summary.last_messages] == [
        ("staff", "调度员王芳"), ("resident", None), ("staff", "调度员王芳")]
    assert summary.last_active == dt.datetime.fromtimestamp(T0 + 130, dt.timezone.utc)
    # Hand back: resumed; the old request is answered, a new one counts again.
    save(store, "wx-2", events + [ConversationResumed(timestamp=T0 + 200), bot("本次人工服务已结束", T0 + 200,
                                                                                 juhaoban_handed_back_by="调度员王芳")])
    summary = conversations.summary("wx-2")
    assert not summary.paused and not summary.asked_for_human and summary.last_messages[-1].role == "bot"
    save(store, "wx-2", events + [ConversationResumed(timestamp=T0 + 200), bot("本次人工服务已结束", T0 + 200)]
         + turn("我还要找人工", "request_human", T0 + 300, "utter_request_human", "好的"))
    assert conversations.summary("wx-2").needs_person


def test_a_new_session_or_a_restart_ends_the_pause_as_in_rasa(store, conversations):
    paused = [ConversationPaused(timestamp=T0 + 10), bot(TAKE_OVER, T0 + 10, juhaoban_staff="调度员王芳")]
    save(store, "expired", session(T0 - 9000) + [user("转人工", "request_human", T0 - 9000)] + paused
         + session(T0 + 20) + [user("还有人吗", "greet", T0 + 20)])
    save(store, "restarted", session(T0) + [user("你好", "greet", T0 + 1)] + paused
         + [user("/restart", "restart", T0 + 30), Restarted(timestamp=T0 + 30)] + session(T0 + 30))
    summaries = by_sender(conversations.list_active(NOW))
    assert not summaries["expired"].paused and not summaries["expired"].asked_for_human
    assert [m.text for m in summaries["expired"].last_messages] == ["还有人吗"]
    assert not summaries["restarted"].paused


def test_the_window_the_order_the_limit_flagged_first_and_include(store, conversations):
    save(store, "old", session(T0 - 20000) + turn("转人工", "request_human", T0 - 20000, "utter_request_human", "好的"))
    save(store, "newest", session(T0) + turn("你好", "greet", T0 + 300, "utter_greet", "您好"))
    save(store, "middle", session(T0) + turn("转人工", "request_human", T0 + 200, "utter_request_human", "好的"))
    save(store, "oldest", session(T0) + turn("你好", "greet", T0 + 100, "utter_greet", "您好"))
    assert [s.sender_id for s in conversations.list_active(NOW)] == ["newest", "middle", "oldest"]
    assert [s.sender_id for s in conversations.list_active(NOW, limit=2)] == ["newest", "middle"]
    assert [s.sender_id for s in conversations.list_active(NOW, flagged_first=True)] == ["middle", "newest", "oldest"]
    assert [s.sender_id for s in conversations.list_active(NOW, within_seconds=450)] == ["newest", "middle"]
    assert [s.sender_id for s in conversations.list_active(NOW, limit=1, include=["old", "nobody"])] == \
        ["newest", "old"]
    assert conversations.list_active(NOW, messages=0)[0].last_messages == ()


def test_pushes_are_not_the_residents_messages(store, conversations):
    push = [UserUttered.create_external("EXTERNAL_case_update", [], input_channel="wechat"),
            ActionExecuted("action_notify_case_update", timestamp=T0 + 100), bot("您的工单已受理", T0 + 100)]
    push[0].timestamp = T0 + 100
    save(store, "pushed-only", session(T0 - 20000) + [user("你好", "greet", T0 - 20000, "rest")] + push)
    save(store, "pushed", session(T0) + fallback("嗯", T0 + 1) + push + fallback("啊", T0 + 200))
    summaries = by_sender(conversations.list_active(NOW))
    assert "pushed-only" not in summaries  # the resident has not written within the window
    assert summaries["pushed"].fallbacks == 2  # the push neither counts nor breaks the run
    assert [m.role for m in summaries["pushed"].last_messages] == ["resident", "bot", "bot", "resident", "bot"]
    assert conversations.channel_of("pushed-only") == "rest"


def test_channel_messages_are_shown_as_labels(store, conversations):
    location = user('/share_location{"latitude": 37.2, "longitude": 115.0, "location_label": "东关村"}',
                    "share_location", T0 + 1, entities=[{"entity": "location_label", "value": "东关村"}])
    save(store, "wx-3", session(T0) + [user("/subscribe", "subscribe", T0), location,
                                       user('/share_image{"media_id": "m1"}', "share_image", T0 + 2),
                                       user("/request_human", "request_human", T0 + 3)])
    assert [m.text for m in conversations.transcript("wx-3")] == [
        "〔关注了公众号〕", "〔发送了位置：东关村〕", "〔发送了图片〕", "〔点击菜单：人工服务〕"]
    assert conversations.summary("wx-3").asked_for_human


def test_transcript_spans_sessions_and_filters_by_time(store, conversations):
    save(store, "wx-4", session(T0 - 9000) + turn("路灯坏了", "report_issue", T0 - 9000, "report_form", "哪个乡镇？")
         + session(T0) + turn("我反映的事怎么样了", "ask_case_status", T0 + 10, "action_case_status", "正在办理")
         + [ConversationPaused(timestamp=T0 + 20), bot(TAKE_OVER, T0 + 20, juhaoban_staff="调度员王芳")])
    everything = conversations.transcript("wx-4")
    assert [m.text for m in everything] == ["路灯坏了", "哪个乡镇？", "我反映的事怎么样了", "正在办理", TAKE_OVER]
    assert everything[-1] == ConversationMessage("staff", TAKE_OVER, dt.datetime.fromtimestamp(T0 + 20, dt.timezone.utc),
                                                 "调度员王芳")
    since = dt.datetime.fromtimestamp(T0, dt.timezone.utc)
    until = dt.datetime.fromtimestamp(T0 + 20, dt.timezone.utc)
    assert [m.text for m in conversations.transcript("wx-4", since=since, until=until)] == ["我反映的事怎么样了", "正在办理"]
    assert [m.text for m in conversations.transcript("wx-4", limit=2)] == ["正在办理", TAKE_OVER]
    assert conversations.transcript("nobody") == []
    assert conversations.channel_of("wx-4") == "wechat" and conversations.channel_of("nobody") is None


def test_bad_arguments_raise_value_error(conversations, store):
    save(store, "x", session(T0))
    with pytest.raises(ValueError):
        conversations.list_active(NOW.replace(tzinfo=None))
    for kwargs in (dict(within_seconds=0), dict(limit=0), dict(limit=201), dict(messages=51)):
        with pytest.raises(ValueError):
            conversations.list_active(NOW, **kwargs)
    with pytest.raises(ValueError):
        conversations.transcript("x", since=dt.datetime(2026, 11, 30))
