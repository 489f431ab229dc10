"""Administrators' guidance to growers (issue 7 part 3): ``POST /api/growers/broadcast``.

A broadcast goes to every grower who farms a plot, or to those farming a plot in one township, as one outbox row per
chat (:func:`workflow.farms.grower_chats`: a grower's own chat and their resident record's chats, each chat once
even when it belongs to several growers), kind ``grower_broadcast``, role ``resident``; the deliverer sends them
through the bot.

Idempotent on the caller's ``request_id``: a retried request (same id, same text and township) returns the first
broadcast and sends nothing again — also when the two race (``grower_broadcasts.request_id`` is unique; the loser's
insert fails and it reads the winner's). The same id with other content is refused (:class:`RequestIdReused`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from workflow.cases import Clock, utc_now
from workflow.farms import grower_chats, growers_in, resolve_township
from workflow.field_errors import FieldDataConflict, InvalidFieldData
from workflow.notifications import NotificationKind, Recipient, enqueue
from workflow.sensor_models import GrowerBroadcast

_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
#: Longest guidance text (characters): a chat message, not a document.
MAX_TEXT = 1000


class RequestIdReused(FieldDataConflict):
    """A request id already used for a broadcast with other text or another township. Context: ``request_id``."""

    code = "request_id_reused"


@dataclass(frozen=True)
class BroadcastView:
    """A broadcast: its id, request id, township (None = all), text, sender, time, and the chats it went to."""

    id: int
    request_id: str
    township_code: str | None
    text: str
    sent_by: str
    created_at: dt.datetime
    recipients: tuple[tuple[str, str], ...]
    repeated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; ``recipients`` as a count (chat ids are not echoed back)."""
        return {"id": self.id, "request_id": self.request_id, "township_code": self.township_code,
                "text": self.text, "sent_by": self.sent_by, "created_at": self.created_at.isoformat(),
                "recipients": len(self.recipients), "repeated": self.repeated}


def broadcast(session_factory: sessionmaker, *, request_id: str, text: str, sent_by: str,
              township: str | None = None, clock: Clock | None = None) -> BroadcastView:
    """Send guidance to all growers (``township`` None) or to one township's.

    Args:
        session_factory: Over a database migrated to ``0010_sensors_traceability``.
        request_id: The caller's idempotency key, 1–64 characters of letters, digits and ``_ . : -``.
        text: The guidance, in Chinese, 1–1000 characters.
        sent_by: Who sends it (the token's name), for the record.
        township: Code, name or alias of a township, or None for all growers.
        clock: Returns the current aware time.

    Returns:
        The broadcast; ``repeated`` is True when ``request_id`` had already been sent (nothing sent again).

    Raises:
        InvalidFieldData: A malformed request id, an empty or over-long text, an unknown township.
        RequestIdReused: The request id was used for another text or township.
    """
    if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
        raise InvalidFieldData("request_id must be 1–64 letters, digits or _ . : -", field="request_id")
    if not isinstance(text, str) or not 0 < len(text.strip()) <= MAX_TEXT:
        raise InvalidFieldData(f"text must be 1–{MAX_TEXT} characters", field="text")
    text = text.strip()
    now = (clock or utc_now)().astimezone(dt.timezone.utc)
    for _ in range(2):
        with session_factory.begin() as session:
            township_code = resolve_township(session, township).code if township is not None else None
            existing = session.execute(
                select(GrowerBroadcast).where(GrowerBroadcast.request_id == request_id)).scalar_one_or_none()
            if existing is not None:
                if existing.text != text or existing.township_code != township_code:
                    raise RequestIdReused(f"request id {request_id!r} was used for another broadcast",
                                          request_id=request_id)
                return _view(existing, repeated=True)
            chats = grower_chats(session, growers_in(session, township_code))
            row = GrowerBroadcast(request_id=request_id, township_code=township_code, text=text,
                                  sent_by=sent_by, created_at=now, recipients=[list(chat) for chat in chats])
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:  # a concurrent retry won: read its broadcast in a new transaction
                continue
            for channel, sender_id in chats:
                enqueue(session, now=now, kind=NotificationKind.GROWER_BROADCAST, recipient_role=Recipient.RESIDENT,
                        recipient_id=sender_id, channel=channel, text=text,
                        data={"broadcast_id": row.id, "request_id": request_id, "township_code": township_code})
            return _view(row)
    raise RuntimeError(f"broadcast {request_id!r} could not be stored or read")


def _view(row: GrowerBroadcast, *, repeated: bool = False) -> BroadcastView:
    return BroadcastView(id=row.id, request_id=row.request_id, township_code=row.township_code, text=row.text,
                         sent_by=row.sent_by, created_at=row.created_at,
                         recipients=tuple(tuple(chat) for chat in row.recipients or []), repeated=repeated)
