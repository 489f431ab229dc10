"""Live bot conversations, read from Rasa's SQL tracker store (table ``events``) for the dispatcher console.

Rasa's tracker store lives in the case database (``juhaoban/serve.py`` ``tracker_store_config``) and Rasa creates
its ``events`` table on start-up: ``id`` (insertion order), ``sender_id``, ``type_name`` (``user``, ``bot``,
``action``, ``pause``, ``resume``, ``rewind``, ``session_started``, ``restart``, ``slot`` …), ``timestamp`` (float
epoch seconds), ``intent_name`` (user events), ``action_name`` (action events) and ``data`` (the event as JSON).
This module only reads it, with its own SQLAlchemy Core definition of the table (no Rasa import); until Rasa has run
once there is no table and every query answers empty.

Rules (what a dispatcher sees):

- **Messages.** A ``user`` event is the resident's message; one Rasa generates for a push (``trigger_intent``:
  ``metadata.is_external``, intents ``EXTERNAL_…``) is not. A ``bot`` event is the bot's, or a staff member's when
  its ``metadata`` has ``juhaoban_staff`` (the display name; :mod:`admin.rasa_client` writes it). Messages the
  channels make for the resident (``/share_location{…}``, ``/share_image{…}``, ``/subscribe``, menu clicks) are
  shown as short labels (``〔发送了位置：…〕``); a message without text is left out. Order: Rasa's insertion order
  (``id``), as Rasa rebuilds trackers (timestamps are floats and may tie).
- **Current session**: the events after the conversation's latest ``session_started`` or ``restart`` event (Rasa
  resets the tracker, and so the pause, at both). Rasa starts a new session when the resident writes more than
  120 minutes (``bot/domain.yml`` ``session_expiration_time``) after their previous message.
- **paused**: the last ``pause``/``resume`` event of the current session is a ``pause``.
- **asked_for_human**: since the last ``pause`` or ``resume`` of the current session (a take-over answers the
  request; after a hand-back a new one counts), the resident sent a message read as ``request_human`` (the
  intent of "转人工", "我要找人工" and the menu's 人工服务; ``data/core/rules.yml`` answers it with
  ``utter_request_human``, which promises that a dispatcher will reply here). It stays set while the resident goes
  on talking to the bot: the promise is still open. False while paused.
- **fallbacks**: how many of the resident's latest messages in a row, counted back from the newest (pushes skipped)
  and only since the last ``pause``/``resume`` of the current session, the bot did not understand. A message
  counts when the bot ran Rasa's ``action_default_fallback`` or ``action_two_stage_fallback``, or ran
  ``action_triage_unclear`` (the ``nlu_fallback`` and ``out_of_scope`` rules' action and the policies' core
  fallback, ``config.yml``) and it answered with a short reply and reverted the message (a ``rewind`` event:
  "抱歉，我没太看明白" or "这个我帮不上忙") — but not for a "好的"/"不用了" it merely acknowledged (intents
  ``affirm``, ``deny``), and not when it took a long unclear message as a report (no rewind). A message the bot
  understood ends the run: a resident the bot failed twice and who then got an answer no longer needs flagging.
  0 while paused.
- **needs_person** = ``asked_for_human or fallbacks >= 2`` (never while paused: a person is already there).

Efficiency: the window is filtered in SQL on ``timestamp`` and only the matching conversations' current sessions are
read, restricted to the event types above. Rasa indexes only ``sender_id``; on a big table an index on
``events (timestamp)`` (or ``(type_name, timestamp)``) makes :meth:`TrackerConversations.list_active` an index range
scan instead of a table scan.

The reader is synchronous (SQLAlchemy Core); call it from sanic with ``asyncio.to_thread``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    inspect,
    not_,
    or_,
    select,
)
from sqlalchemy.engine import Engine, Row

#: The tracker store's table as Rasa 3.6 creates it (``rasa.core.tracker_store.SQLTrackerStore.SQLEvent``); kept
#: in a metadata of its own, so that nothing here ever creates or migrates it.
tracker_metadata = MetaData()
events_table = Table(
    "events",
    tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

#: Metadata key of a staff member's bot message (as :data:`admin.rasa_client.STAFF_METADATA_KEY`).
STAFF_METADATA_KEY = "juhaoban_staff"
#: The intent of "转人工".
REQUEST_HUMAN_INTENT = "request_human"
#: Rasa's own fallback actions: running one means the bot did not understand.
FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_two_stage_fallback"})
#: Our fallback action (``actions/triage.py``); a fallback only when it reverted the message.
TRIAGE_ACTION = "action_triage_unclear"
#: Intents the triage action acknowledges ("好的", "不用了") rather than failing on.
ACKNOWLEDGED_INTENTS = frozenset({"affirm", "deny"})
#: ``fallbacks`` from which a conversation needs a person.
FALLBACKS_NEEDING_PERSON = 2
#: Default window of :meth:`TrackerConversations.list_active`: Rasa's session expiration (120 minutes).
DEFAULT_WITHIN_SECONDS = 7200
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
DEFAULT_LAST_MESSAGES = 5
MAX_LAST_MESSAGES = 50
#: Prefix of the intents Rasa's ``trigger_intent`` pushes (ours: ``EXTERNAL_case_update``).
EXTERNAL_INTENT_PREFIX = "EXTERNAL_"

_SESSION_BOUNDARIES = ("session_started", "restart")
_PAUSE, _RESUME, _USER, _BOT, _ACTION, _REWIND = "pause", "resume", "user", "bot", "action", "rewind"
_SUMMARY_TYPES = (_USER, _BOT, _ACTION, _PAUSE, _RESUME, _REWIND, *_SESSION_BOUNDARIES)
#: How the channels' own messages (``/intent{…}``) are shown.
_CHANNEL_MESSAGE_LABELS = {
    "share_location": "〔发送了位置〕",
    "share_image": "〔发送了图片〕",
    "subscribe": "〔关注了公众号〕",
    "start_report": "〔点击菜单：我要反映〕",
    "ask_case_status": "〔点击菜单：我的工单〕",
    "ask_points": "〔点击菜单：我的积分〕",
    "request_human": "〔点击菜单：人工服务〕",
}
_CHANNEL_MESSAGES_SCANNED = 20


@dataclass(frozen=True)
class ConversationMessage:
    """One message of a conversation.

    Attributes:
        role: ``"resident"``, ``"bot"`` or ``"staff"`` (a bot event whose metadata names a staff member).
        text: What was said (channel messages as labels, see the module docstring).
        at: Aware UTC.
        staff: The staff member's display name for ``staff`` messages, else None.
    """

    role: str
    text: str
    at: dt.datetime
    staff: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (``at`` ISO 8601 with offset)."""
        return {"role": self.role, "text": self.text, "at": self.at.isoformat(), "staff": self.staff}


@dataclass(frozen=True)
class ConversationSummary:
    """What the console's list shows of one conversation (rules in the module docstring).

    Attributes:
        sender_id: Rasa's sender id (WeChat openid, web chat session id, REST sender).
        channel: ``input_channel`` of the resident's latest message (``wechat``, ``socketio``, ``rest`` …), or None.
        last_active: When the resident last wrote (aware UTC).
        last_messages: The current session's last messages, oldest first.
        paused: The bot is paused (a staff member has the conversation).
        asked_for_human: The resident asked for a person and nobody has taken over since.
        fallbacks: Messages in a row, up to the newest, the bot did not understand.
    """

    sender_id: str
    channel: Optional[str]
    last_active: dt.datetime
    last_messages: tuple[ConversationMessage, ...] = field(default_factory=tuple)
    paused: bool = False
    asked_for_human: bool = False
    fallbacks: int = 0

    @property
    def needs_person(self) -> bool:
        """``asked_for_human`` or at least two fallbacks in a row (never while paused)."""
        return not self.paused and (self.asked_for_human or self.fallbacks >= FALLBACKS_NEEDING_PERSON)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values, ``needs_person`` included."""
        return {
            "sender_id": self.sender_id,
            "channel": self.channel,
            "last_active": self.last_active.isoformat(),
            "last_messages": [message.to_dict() for message in self.last_messages],
            "paused": self.paused,
            "asked_for_human": self.asked_for_human,
            "fallbacks": self.fallbacks,
            "needs_person": self.needs_person,
        }


def _at(timestamp: Optional[float]) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(timestamp or 0.0), tz=dt.timezone.utc)


def _decode(data: Optional[str]) -> dict[str, Any]:
    try:
        value = json.loads(data) if data else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _metadata(data: dict[str, Any]) -> dict[str, Any]:
    metadata = data.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _is_external(intent_name: Optional[str], data: dict[str, Any]) -> bool:
    return bool(_metadata(data).get("is_external")) or (intent_name or "").startswith(EXTERNAL_INTENT_PREFIX)


def _resident_text(text: str, intent_name: Optional[str], data: dict[str, Any]) -> str:
    if not text.startswith("/") or not intent_name or not text[1:].startswith(intent_name):
        return text
    label = _CHANNEL_MESSAGE_LABELS.get(intent_name, f"〔{intent_name}〕")
    if intent_name == "share_location":
        entities = (data.get("parse_data") or {}).get("entities") or []
        place = next((e.get("value") for e in entities if isinstance(e, dict)
                      and e.get("entity") == "location_label" and e.get("value")), None)
        if place:
            label = f"〔发送了位置：{place}〕"
    return label


def message_of(type_name: str, timestamp: Optional[float], intent_name: Optional[str],
               data: dict[str, Any]) -> Optional[ConversationMessage]:
    """The message of one ``user`` or ``bot`` event (``data`` decoded), or None: another type, a push's user
    event, or no text."""
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    if type_name == _USER:
        if _is_external(intent_name, data):
            return None
        return ConversationMessage("resident", _resident_text(text.strip(), intent_name, data), _at(timestamp))
    if type_name == _BOT:
        staff = _metadata(data).get(STAFF_METADATA_KEY)
        if isinstance(staff, str) and staff:
            return ConversationMessage("staff", text, _at(timestamp), staff)
        return ConversationMessage("bot", text, _at(timestamp))
    return None


@dataclass
class _Turn:
    intent: Optional[str]
    actions: set = field(default_factory=set)
    rewound: bool = False

    @property
    def fell_back(self) -> bool:
        if self.actions & FALLBACK_ACTIONS:
            return True
        return TRIAGE_ACTION in self.actions and self.rewound and self.intent not in ACKNOWLEDGED_INTENTS


def summarize(sender_id: str, rows: Iterable[Row], *, last_active: dt.datetime, channel: Optional[str],
              messages: int = DEFAULT_LAST_MESSAGES) -> ConversationSummary:
    """The summary of one conversation from its current session's events (rows with ``type_name``,
    ``timestamp``, ``intent_name``, ``action_name``, ``data``, in ``id`` order). ``channel`` is used when the
    session has no message of the resident's."""
    paused = asked = False
    turns: list[_Turn] = []
    current: Optional[_Turn] = None
    said: list[ConversationMessage] = []
    session_channel: Optional[str] = None
    for row in rows:
        kind = row.type_name
        if kind in (_PAUSE, _RESUME):
            paused, asked, turns, current = kind == _PAUSE, False, [], None
        elif kind in _SESSION_BOUNDARIES:  # a defensive reset: callers pass the current session only
            paused, asked, turns, current, said = False, False, [], None, []
        elif kind == _USER:
            data = _decode(row.data)
            if _is_external(row.intent_name, data):
                current = None  # a push: its actions belong to no resident message
                continue
            message = message_of(kind, row.timestamp, row.intent_name, data)
            if message is not None:
                said.append(message)
            session_channel = data.get("input_channel") or session_channel
            if row.intent_name == REQUEST_HUMAN_INTENT:
                asked = True
            current = _Turn(row.intent_name)
            turns.append(current)
        elif kind == _BOT:
            message = message_of(kind, row.timestamp, None, _decode(row.data))
            if message is not None:
                said.append(message)
        elif kind == _ACTION and current is not None and row.action_name:
            current.actions.add(row.action_name)
        elif kind == _REWIND and current is not None:
            current.rewound = True
    fallbacks = 0
    if not paused:
        for turn in reversed(turns):
            if not turn.fell_back:
                break
            fallbacks += 1
    return ConversationSummary(
        sender_id=sender_id,
        channel=session_channel or channel,
        last_active=last_active,
        last_messages=tuple(said[-messages:]) if messages else (),
        paused=paused,
        asked_for_human=asked and not paused,
        fallbacks=fallbacks,
    )


def _check_limit(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}")


def _epoch(value: dt.datetime, name: str) -> float:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.timestamp()


class TrackerConversations:
    """Reads conversations from Rasa's ``events`` table (see the module docstring).

    Args:
        engine: An engine on the database holding Rasa's tracker store (the case database).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._table_seen = False

    def _has_table(self) -> bool:
        if not self._table_seen:
            self._table_seen = inspect(self._engine).has_table(events_table.name)
        return self._table_seen

    def list_active(self, now: dt.datetime, *, within_seconds: float = DEFAULT_WITHIN_SECONDS,
                    limit: int = DEFAULT_LIMIT, messages: int = DEFAULT_LAST_MESSAGES,
                    flagged_first: bool = False, include: Iterable[str] = ()) -> list[ConversationSummary]:
        """Conversations in which the resident wrote within ``within_seconds`` before ``now``.

        Args:
            now: Aware datetime.
            within_seconds: The window, seconds (> 0; default 7,200, Rasa's session expiry).
            limit: At most this many conversations, the most recently active (1–200).
            messages: Last messages per conversation (0–50).
            flagged_first: Conversations that need a person first (among the ``limit`` most recent), each group
                most recent first.
            include: Sender ids to list whatever their last activity (the console's open take-overs), in addition
                to the ``limit``; an id without any message of the resident's is left out.

        Returns:
            Summaries, most recently active first (resident's last message; ties by sender id). Empty while Rasa's
            table does not exist.

        Raises:
            ValueError: A naive ``now``, or a window, limit or message count out of range.
        """
        if isinstance(within_seconds, bool) or not isinstance(within_seconds, (int, float)) or not within_seconds > 0:
            raise ValueError("within_seconds must be a positive number of seconds")
        since = _epoch(now, "now") - float(within_seconds)
        _check_limit("limit", limit, 1, MAX_LIMIT)
        _check_limit("messages", messages, 0, MAX_LAST_MESSAGES)
        if not self._has_table():
            return []
        e = events_table
        last = func.max(e.c.timestamp).label("last")
        window = (
            select(e.c.sender_id, last)
            .where(e.c.type_name == _USER, e.c.timestamp >= since, self._resident_intent())
            .group_by(e.c.sender_id)
            .order_by(last.desc(), e.c.sender_id)
            .limit(limit)
        )
        extra = sorted(set(include))
        with self._engine.connect() as connection:
            active = {row.sender_id: row.last for row in connection.execute(window)}
            missing = [sender for sender in extra if sender not in active]
            if missing:
                others = (
                    select(e.c.sender_id, last)
                    .where(e.c.sender_id.in_(missing), e.c.type_name == _USER, self._resident_intent())
                    .group_by(e.c.sender_id)
                )
                active.update({row.sender_id: row.last for row in connection.execute(others)})
            summaries = self._summaries(connection, active, messages)
        summaries.sort(key=lambda s: s.sender_id)
        summaries.sort(key=lambda s: s.last_active, reverse=True)
        if flagged_first:
            summaries.sort(key=lambda s: not s.needs_person)
        return summaries

    def summary(self, sender_id: str, *, messages: int = DEFAULT_LAST_MESSAGES) -> Optional[ConversationSummary]:
        """The summary of one conversation, or None when the resident never wrote in it (or no table yet).

        Raises:
            ValueError: ``messages`` outside 0–50.
        """
        _check_limit("messages", messages, 0, MAX_LAST_MESSAGES)
        if not self._has_table():
            return None
        e = events_table
        query = select(func.max(e.c.timestamp)).where(e.c.sender_id == sender_id, e.c.type_name == _USER,
                                                      self._resident_intent())
        with self._engine.connect() as connection:
            last = connection.execute(query).scalar()
            if last is None:
                return None
            summaries = self._summaries(connection, {sender_id: last}, messages)
        return summaries[0] if summaries else None

    def transcript(self, sender_id: str, *, since: Optional[dt.datetime] = None,
                   until: Optional[dt.datetime] = None, limit: Optional[int] = None) -> list[ConversationMessage]:
        """The conversation's messages across all its sessions, oldest first.

        Args:
            sender_id: The conversation.
            since: Aware datetime; messages at or after it (None: from the start).
            until: Aware datetime; messages before it (None: up to now).
            limit: The latest this many messages of the range (1–10,000), or None for all of them.

        Raises:
            ValueError: A naive ``since``/``until`` or a ``limit`` out of range.
        """
        e = events_table
        conditions = [e.c.sender_id == sender_id, e.c.type_name.in_((_USER, _BOT))]
        if since is not None:
            conditions.append(e.c.timestamp >= _epoch(since, "since"))
        if until is not None:
            conditions.append(e.c.timestamp < _epoch(until, "until"))
        if limit is not None:
            _check_limit("limit", limit, 1, 10_000)
        if not self._has_table():
            return []
        query = (
            select(e.c.type_name, e.c.timestamp, e.c.intent_name, e.c.data)
            .where(and_(*conditions), self._resident_or_bot())
            .order_by(e.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        said = [message_of(row.type_name, row.timestamp, row.intent_name, _decode(row.data)) for row in rows]
        return [message for message in reversed(said) if message is not None]

    def channel_of(self, sender_id: str) -> Optional[str]:
        """``input_channel`` of the resident's latest message (a push's only when no message of the resident's
        among the latest 20 user events has one), or None (no message, or no table yet)."""
        if not self._has_table():
            return None
        with self._engine.connect() as connection:
            return self._channel_on(connection, sender_id, pushed_too=True)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _resident_intent():
        intent = events_table.c.intent_name
        pattern = EXTERNAL_INTENT_PREFIX.replace("_", "\\_") + "%"
        return or_(intent.is_(None), not_(intent.like(pattern, escape="\\")))

    @staticmethod
    def _resident_or_bot():
        e = events_table
        return or_(e.c.type_name == _BOT, TrackerConversations._resident_intent())

    def _summaries(self, connection, last_by_sender: dict[str, float], messages: int) -> list[ConversationSummary]:
        """Summaries of the given conversations from one query over their current sessions."""
        if not last_by_sender:
            return []
        e = events_table
        senders = sorted(last_by_sender)
        starts = (
            select(e.c.sender_id.label("sender_id"), func.max(e.c.id).label("start_id"))
            .where(e.c.sender_id.in_(senders), e.c.type_name.in_(_SESSION_BOUNDARIES))
            .group_by(e.c.sender_id)
            .subquery()
        )
        query = (
            select(e.c.sender_id, e.c.id, e.c.type_name, e.c.timestamp, e.c.intent_name, e.c.action_name, e.c.data)
            .select_from(e.outerjoin(starts, starts.c.sender_id == e.c.sender_id))
            .where(e.c.sender_id.in_(senders), e.c.type_name.in_(_SUMMARY_TYPES),
                   e.c.id > func.coalesce(starts.c.start_id, 0))
            .order_by(e.c.sender_id, e.c.id)
        )
        by_sender: dict[str, list[Row]] = {sender: [] for sender in senders}
        for row in connection.execute(query):
            by_sender[row.sender_id].append(row)
        summaries = []
        for sender in senders:
            rows = by_sender[sender]
            channel = None
            if not any(row.type_name == _USER for row in rows):
                channel = self._channel_on(connection, sender)
            summaries.append(summarize(sender, rows, last_active=_at(last_by_sender[sender]), channel=channel,
                                       messages=messages))
        return summaries

    def _channel_on(self, connection, sender_id: str, *, pushed_too: bool = False) -> Optional[str]:
        e = events_table
        query = (
            select(e.c.intent_name, e.c.data)
            .where(e.c.sender_id == sender_id, e.c.type_name == _USER)
            .order_by(e.c.id.desc())
            .limit(_CHANNEL_MESSAGES_SCANNED)
        )
        pushed = None
        for row in connection.execute(query):
            data = _decode(row.data)
            channel = data.get("input_channel")
            if not channel:
                continue
            if not _is_external(row.intent_name, data):
                return channel
            pushed = pushed or channel
        return pushed if pushed_too else None
