"""Dispatchers' take-overs of live bot conversations (table ``conversation_takeovers``, migration ``0006_console``).

A take-over runs from :meth:`TakeoverService.take` until :meth:`TakeoverService.release` (the hand-back). At most
one is open per conversation (``sender_id``): the partial unique index ``uq_conversation_takeovers_open`` on
``sender_id WHERE released_at IS NULL`` decides between two dispatchers who press "take over" at the same moment,
on SQLite and on PostgreSQL alike; the loser gets :class:`AlreadyTakenOver` naming the holder. Released rows are
kept: they are the record of who spoke to which resident, when, and how many messages they sent.

This table is the console's bookkeeping only. Pausing the bot and telling the resident is Rasa's part
(:class:`admin.rasa_client.RasaClient`): take the row first, then pause the bot; if Rasa refuses, release the row
again (the record then shows a take-over without messages).

No Rasa import here (``workflow`` never imports Rasa).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workflow.cases import Clock, utc_now
from workflow.exceptions import JuhaobanError
from workflow.models import Account, ConversationTakeover

_MAX_SENDER_ID = 255  # conversation_takeovers.sender_id, Rasa's events.sender_id
_MAX_CHANNEL = 32
_MAX_NAME = 128  # taken_by, released_by (case_events.actor)
#: How often :meth:`TakeoverService.take` tries again when the holder it lost to released in between.
_TAKE_ATTEMPTS = 3


class AlreadyTakenOver(JuhaobanError):
    """The conversation is already taken over (by somebody else, or by the same person in another tab).

    Context: ``sender_id``, ``taken_by`` (the holder's display name, or None when the holder let go again before
    it could be read), ``account_id`` (the holder's account, or None), ``taken_at`` (ISO 8601 with offset, or None).
    """

    code = "already_taken_over"


class NotTakenOver(JuhaobanError):
    """Nobody has taken the conversation over (never, or it was handed back already). Context: ``sender_id``."""

    code = "not_taken_over"


class InvalidTakeover(JuhaobanError):
    """A take-over request is malformed (empty or too long sender id or name, unknown account). Context: ``field``
    and, where safe, ``value``."""

    code = "invalid_takeover"


@dataclass(frozen=True)
class TakeoverView:
    """One take-over, open or released.

    Attributes:
        id: Database id.
        sender_id: The conversation (Rasa's sender id: a WeChat openid, a web chat session id, ``hotline:<number>``).
        channel: The input channel the resident used (``wechat``, ``socketio``, ``rest``, …), or None if unknown.
        account_id: The console account that took it over, or None (a token, or the account was deleted).
        taken_by: Display name of who took it over (the audit identity).
        taken_at: Aware UTC.
        released_at: Aware UTC, or None while open.
        released_by: Display name of who handed it back, or None while open.
        messages_sent: Messages the staff sent to the resident during the take-over.
    """

    id: int
    sender_id: str
    channel: str | None
    account_id: int | None
    taken_by: str
    taken_at: dt.datetime
    released_at: dt.datetime | None
    released_by: str | None
    messages_sent: int

    @property
    def open(self) -> bool:
        """True until the conversation is handed back."""
        return self.released_at is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (datetimes ISO 8601 with offset)."""
        return {
            "id": self.id,
            "sender_id": self.sender_id,
            "channel": self.channel,
            "account_id": self.account_id,
            "taken_by": self.taken_by,
            "taken_at": self.taken_at.isoformat(),
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "released_by": self.released_by,
            "messages_sent": self.messages_sent,
            "open": self.open,
        }


def takeover_view(row: ConversationTakeover) -> TakeoverView:
    """The view of a ``conversation_takeovers`` row."""
    return TakeoverView(
        id=row.id,
        sender_id=row.sender_id,
        channel=row.channel,
        account_id=row.account_id,
        taken_by=row.taken_by,
        taken_at=row.taken_at,
        released_at=row.released_at,
        released_by=row.released_by,
        messages_sent=row.messages_sent or 0,
    )


def _required(value: str | None, field: str, limit: int) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise InvalidTakeover(f"{field} needs 1–{limit} characters", field=field)
    return value


def _open_row(session: Session, sender_id: str) -> ConversationTakeover | None:
    return session.scalar(
        select(ConversationTakeover).where(
            ConversationTakeover.sender_id == sender_id, ConversationTakeover.released_at.is_(None)
        )
    )


def _already(holder: ConversationTakeover | None, sender_id: str) -> AlreadyTakenOver:
    if holder is None:
        return AlreadyTakenOver("the conversation is already taken over", sender_id=sender_id, taken_by=None,
                                account_id=None, taken_at=None)
    return AlreadyTakenOver(
        f"the conversation is already taken over by {holder.taken_by}",
        sender_id=sender_id, taken_by=holder.taken_by, account_id=holder.account_id,
        taken_at=holder.taken_at.isoformat(),
    )


class TakeoverService:
    """Opens, closes and lists take-overs of bot conversations.

    Every method is one short transaction; the service is thread-safe (it holds no state but the factory).

    Args:
        session_factory: Sessions on the migrated case database.
        clock: Returns the current aware UTC time (tests pass a frozen clock).
    """

    def __init__(self, session_factory: sessionmaker, clock: Clock = utc_now) -> None:
        self._session_factory = session_factory
        self._clock = clock

    def take(self, sender_id: str, *, channel: str | None, account_id: int | None = None,
             taken_by: str) -> TakeoverView:
        """Open a take-over of the conversation ``sender_id``.

        Args:
            sender_id: The conversation (1–255 characters, as Rasa stores it).
            channel: The resident's input channel (at most 32 characters; None or "" when unknown).
            account_id: The console account taking over (an ``accounts.id``), or None.
            taken_by: Display name written into the record (1–128 characters).

        Returns:
            The open take-over.

        Raises:
            InvalidTakeover: An empty or too long ``sender_id``, ``taken_by`` or ``channel``, or an ``account_id``
                that names no account (context ``field``).
            AlreadyTakenOver: The conversation has an open take-over; names its holder. Also when a concurrent
                take won the race (the unique index refused this one), on SQLite and PostgreSQL.
        """
        sender_id = _required(sender_id, "sender_id", _MAX_SENDER_ID)
        taken_by = _required(taken_by, "taken_by", _MAX_NAME)
        channel = (channel or "").strip() or None
        if channel is not None and len(channel) > _MAX_CHANNEL:
            raise InvalidTakeover(f"channel has at most {_MAX_CHANNEL} characters", field="channel")
        for _ in range(_TAKE_ATTEMPTS):
            with self._session_factory() as session:
                holder = _open_row(session, sender_id)
                if holder is not None:
                    raise _already(holder, sender_id)
                if account_id is not None and session.get(Account, account_id) is None:
                    raise InvalidTakeover("no console account has this id", field="account_id", value=account_id)
                row = ConversationTakeover(sender_id=sender_id, channel=channel, account_id=account_id,
                                           taken_by=taken_by, taken_at=self._clock(), messages_sent=0)
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:  # a concurrent take committed between our read and our insert
                    session.rollback()
                else:
                    return takeover_view(row)
            with self._session_factory() as session:
                holder = _open_row(session, sender_id)
                if holder is not None:
                    raise _already(holder, sender_id)
            # The winner has already handed back: try again.
        raise _already(None, sender_id)

    def release(self, sender_id: str, *, released_by: str) -> TakeoverView:
        """Close the open take-over of ``sender_id`` (the hand-back).

        Args:
            sender_id: The conversation.
            released_by: Display name of who hands back (1–128 characters; need not be who took it over: a
                colleague or an administrator may end a forgotten take-over).

        Returns:
            The released take-over.

        Raises:
            InvalidTakeover: An empty or too long ``released_by``.
            NotTakenOver: No open take-over (also when a concurrent release closed it first).
        """
        released_by = _required(released_by, "released_by", _MAX_NAME)
        with self._session_factory.begin() as session:
            row = _open_row(session, sender_id)
            if row is None:
                raise NotTakenOver("the conversation is not taken over", sender_id=sender_id)
            result = session.execute(
                update(ConversationTakeover)
                .where(ConversationTakeover.id == row.id, ConversationTakeover.released_at.is_(None))
                .values(released_at=self._clock(), released_by=released_by)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                raise NotTakenOver("the conversation is not taken over", sender_id=sender_id)
            session.expire(row)
            session.refresh(row)
            return takeover_view(row)

    def record_message(self, sender_id: str) -> TakeoverView:
        """Count one message the staff sent to the resident in the open take-over (``messages_sent + 1``, in SQL,
        so concurrent calls never lose a count).

        Returns:
            The take-over with the new count.

        Raises:
            NotTakenOver: No open take-over.
        """
        with self._session_factory.begin() as session:
            result = session.execute(
                update(ConversationTakeover)
                .where(ConversationTakeover.sender_id == sender_id, ConversationTakeover.released_at.is_(None))
                .values(messages_sent=ConversationTakeover.messages_sent + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                raise NotTakenOver("the conversation is not taken over", sender_id=sender_id)
            row = _open_row(session, sender_id)
            return takeover_view(row)

    def current(self, sender_id: str) -> TakeoverView | None:
        """The open take-over of ``sender_id``, or None."""
        with self._session_factory() as session:
            row = _open_row(session, sender_id)
            return takeover_view(row) if row is not None else None

    def open_takeovers(self) -> dict[str, TakeoverView]:
        """Every open take-over, by sender id (oldest first in iteration order)."""
        with self._session_factory() as session:
            rows = session.scalars(
                select(ConversationTakeover)
                .where(ConversationTakeover.released_at.is_(None))
                .order_by(ConversationTakeover.taken_at, ConversationTakeover.id)
            ).all()
            return {row.sender_id: takeover_view(row) for row in rows}

    def history(self, sender_id: str, *, limit: int = 20) -> list[TakeoverView]:
        """The conversation's take-overs, open and released, newest first (at most ``limit``, 1–200).

        Raises:
            ValueError: ``limit`` outside 1–200.
        """
        if not 1 <= limit <= 200:
            raise ValueError("limit must be between 1 and 200")
        with self._session_factory() as session:
            rows = session.scalars(
                select(ConversationTakeover)
                .where(ConversationTakeover.sender_id == sender_id)
                .order_by(ConversationTakeover.taken_at.desc(), ConversationTakeover.id.desc())
                .limit(limit)
            ).all()
            return [takeover_view(row) for row in rows]
