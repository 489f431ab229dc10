"""Notifications: the transactional outbox of messages to residents, units and the dispatchers.

Pattern (transactional outbox): a step of the closed loop writes its message into the ``notifications`` table in
the same transaction as the change itself (:func:`enqueue`, called by :mod:`workflow.case_messages` for
:mod:`workflow.lifecycle` and the deadline jobs). A message
therefore exists exactly when its change was committed: a failed or lost transition leaves none, and a crash after
the commit loses none. Delivery happens later, outside the transaction, by a deliverer that takes rows with
:meth:`Outbox.pending` and reports back with :meth:`Outbox.mark_delivered` / :meth:`Outbox.mark_failed` (for
residents: Rasa's ``trigger_intent`` on the channel they used; that deliverer is not in this module). A REST client,
which has no push, fetches its messages with :meth:`Outbox.messages_for_resident`.

Delivery is at least once: a deliverer that dies after sending but before :meth:`Outbox.mark_delivered` loses its
claim when the lease runs out, and the row is sent again. The notification's ``id`` (:class:`NotificationView`)
lets a receiver drop repeats.

What each step says, and to whom, is :mod:`workflow.case_messages`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from workflow.cases import utc_now
from workflow.models import Notification

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]

#: ``recipient_id`` of the county dispatch centre's dispatchers (one shared inbox).
DISPATCH = "dispatch"
#: How long a deliverer holds a row it took with :meth:`Outbox.pending` before another may take it (seconds).
DEFAULT_LEASE = dt.timedelta(seconds=120)
#: First retry delay after a failed delivery; doubled on every further failure up to :data:`MAX_RETRY_DELAY`.
FIRST_RETRY_DELAY = dt.timedelta(seconds=30)
MAX_RETRY_DELAY = dt.timedelta(hours=1)
#: Attempts after which delivery is given up (``failed_at``); with the delays above, about three hours of retries.
DEFAULT_MAX_ATTEMPTS = 10
#: Upper bound of ``limit`` in the reading methods.
MAX_LIMIT = 500
_MAX_RECIPIENT_ID = 128  # notifications.recipient_id
_MAX_ERROR = 2000


class Recipient(str, Enum):
    """Whom a notification is for; the value is what ``notifications.recipient_role`` stores."""

    RESIDENT = "resident"
    UNIT = "unit"
    DISPATCHER = "dispatcher"
    #: A grid worker (issue 6) on a chat bound to their account (``worker_channels``): ``recipient_id`` is the
    #: chat's sender id and ``channel`` its channel, delivered through the bot exactly like a resident's message.
    GRID_WORKER = "grid_worker"


#: Roles whose messages go to a chat (sender id + channel) through the bot.
CHAT_RECIPIENTS = (Recipient.RESIDENT, Recipient.GRID_WORKER)


class NotificationKind(str, Enum):
    """What a notification is about; the value is what ``notifications.kind`` stores."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    RETURNED = "returned"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    REVIEW_REQUESTED = "review_requested"
    CLOSED_AFTER_REVIEW = "closed_after_review"
    DEADLINE_WARNING = "deadline_warning"
    OVERDUE = "overdue"
    # Points (issue 6, workflow/points.py and workflow/mall.py): points credited, a report's points taken back,
    # an uncollected redemption returned and its points refunded.
    POINTS_AWARDED = "points_awarded"
    POINTS_REVERSED = "points_reversed"
    REDEMPTION_RETURNED = "redemption_returned"
    # Grid work (issue 6, workflow/grid_cases.py): a new case in a grid worker's grid; a 帮我办 case assigned to the
    # worker; the requester told their 帮我办 request was filed (and to whom it went); the worker's first response or
    # a later note, told to the requester.
    GRID_CASE = "grid_case"
    PROXY_ASSIGNED = "proxy_assigned"
    PROXY_FILED = "proxy_filed"
    PROXY_RESPONSE = "proxy_response"
    # Growers (issue 7, workflow/sensors.py and workflow/grower_broadcasts.py): a sensor rule's advice for a plot;
    # an administrator's guidance to growers.
    FIELD_ALERT = "field_alert"
    GROWER_BROADCAST = "grower_broadcast"
    # Experts (issue 7, workflow/expert_cases.py): the grower told their consultation was filed and who answers it;
    # an expert's note to the grower (the answer itself is ``resolved``).
    EXPERT_FILED = "expert_filed"
    EXPERT_RESPONSE = "expert_response"


@dataclass(frozen=True)
class NotificationView:
    """A notification as deliverers and clients see it (read-only; datetimes aware UTC).

    Attributes:
        id: Row id; stable, use it to drop repeats (delivery is at least once).
        created_at: When the change it tells about was committed.
        case_id: The case it is about (``JL…``), or None.
        recipient_role: ``resident``, ``unit`` or ``dispatcher``.
        recipient_id: The resident's sender id, the unit code, or :data:`DISPATCH`.
        channel: The resident's channel (``rest``, ``wechat`` …); None for staff.
        kind: A :class:`NotificationKind` code.
        text: The message, in Chinese, as the recipient should read it.
        data: JSON details (``case_id``, ``status``, ``deadline`` as ISO 8601, ``unit`` …).
        attempts: Delivery attempts so far (a claim by :meth:`Outbox.pending` counts as one).
        delivered_at: When a deliverer reported it delivered; None before.
        failed_at: When delivery was given up; None otherwise.
        last_error: The last failed attempt's error, or None.
    """

    id: int
    created_at: dt.datetime
    case_id: str | None
    recipient_role: str
    recipient_id: str
    channel: str | None
    kind: str
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0
    delivered_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; datetimes as ISO 8601 with offset."""
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "case_id": self.case_id,
            "recipient_role": self.recipient_role,
            "recipient_id": self.recipient_id,
            "channel": self.channel,
            "kind": self.kind,
            "text": self.text,
            "data": dict(self.data),
            "attempts": self.attempts,
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "failed_at": self.failed_at.isoformat() if self.failed_at else None,
            "last_error": self.last_error,
        }


def _view(row: Notification) -> NotificationView:
    data = dict(row.data or {})
    return NotificationView(
        id=row.id,
        created_at=row.created_at,
        case_id=data.get("case_id"),
        recipient_role=row.recipient_role,
        recipient_id=row.recipient_id,
        channel=row.channel,
        kind=row.kind,
        text=row.text,
        data=data,
        attempts=row.attempts or 0,
        delivered_at=row.delivered_at,
        failed_at=row.failed_at,
        last_error=row.last_error,
    )


# ---------------------------------------------------------------------- writing (the caller's transaction)
def enqueue(
    session: Session,
    *,
    now: dt.datetime,
    kind: NotificationKind | str,
    recipient_role: Recipient | str,
    recipient_id: str,
    text: str,
    channel: str | None = None,
    case_pk: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> Notification:
    """Add one message to the outbox in the caller's transaction (no flush, no commit).

    Args:
        session: The session of the change the message tells about.
        now: The change's time (aware); the row's ``created_at`` and first ``next_attempt_at``.
        kind: What it is about.
        recipient_role: ``resident``, ``unit``, ``dispatcher`` or ``grid_worker``.
        recipient_id: The resident's (or grid worker's chat's) sender id, a unit code, or :data:`DISPATCH`;
            1–128 characters.
        text: The message as the recipient reads it; not empty.
        channel: The resident's or grid worker's chat channel; None for units and dispatchers.
        case_pk: ``cases.id`` of the case it is about, if any.
        data: JSON-ready details.

    Returns:
        The new (pending) row.

    Raises:
        ValueError: Unknown kind or role, empty or over-long ``recipient_id``, empty ``text``, naive ``now``.
    """
    kind = NotificationKind(kind)
    role = Recipient(recipient_role)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now.isoformat()} rejected: pass an aware UTC datetime")
    who = (recipient_id or "").strip()
    if not who or len(who) > _MAX_RECIPIENT_ID:
        raise ValueError(f"recipient_id must be 1–{_MAX_RECIPIENT_ID} characters, got {recipient_id!r}")
    if not (text or "").strip():
        raise ValueError("a notification needs a text")
    row = Notification(
        created_at=now,
        case_pk=case_pk,
        recipient_role=role.value,
        recipient_id=who,
        channel=channel if role in CHAT_RECIPIENTS else None,
        kind=kind.value,
        text=text.strip(),
        data=dict(data or {}),
        next_attempt_at=now,
        attempts=0,
    )
    session.add(row)
    return row


class Outbox:
    """Hands messages to deliverers and to clients that fetch them.

    Args:
        session_factory: From :func:`workflow.db.make_session_factory`, over a migrated database.
        clock: Returns the current time as an aware datetime; default :func:`workflow.cases.utc_now`.
        lease: How long a claim by :meth:`pending` holds a row (default 120 s).
        max_attempts: Failed attempts after which :meth:`mark_failed` gives up (default 10).
    """

    def __init__(
        self,
        session_factory: sessionmaker,
        *,
        clock: Clock | None = None,
        lease: dt.timedelta = DEFAULT_LEASE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        if lease <= dt.timedelta(0) or max_attempts < 1:
            raise ValueError("lease must be positive and max_attempts at least 1")
        self._session_factory = session_factory
        self._clock = clock or utc_now
        self._lease = lease
        self._max_attempts = max_attempts

    def pending(
        self,
        limit: int = 50,
        *,
        recipient_roles: Sequence[Recipient | str] | None = None,
        channels: Sequence[str] | None = None,
    ) -> list[NotificationView]:
        """Claim up to ``limit`` messages due for delivery, oldest first, for this caller alone.

        A row is due when it is neither delivered nor given up and its ``next_attempt_at`` has come. Each row is
        claimed with a conditional ``UPDATE … WHERE id = :id AND next_attempt_at <= :now`` that pushes
        ``next_attempt_at`` to now + lease and counts an attempt, so two deliverers never take the same row (on
        PostgreSQL the candidates are also read ``FOR UPDATE SKIP LOCKED``, so they do not wait for each other).
        Report each one back with :meth:`mark_delivered` or :meth:`mark_failed`; a row neither reported is due
        again when the lease ends.

        Args:
            limit: 1–500.
            recipient_roles: Only these roles (e.g. ``["resident"]``); None for all.
            channels: Only residents' messages on these channels (e.g. ``["wechat", "socketio"]``); None for all.

        Raises:
            ValueError: ``limit`` outside 1–500.
        """
        limit = _limit(limit)
        now = self._now()
        query = select(Notification.id).where(Notification.next_attempt_at <= now)
        if recipient_roles is not None:
            query = query.where(Notification.recipient_role.in_([Recipient(r).value for r in recipient_roles]))
        if channels is not None:
            query = query.where(Notification.channel.in_(list(channels)))
        query = query.order_by(Notification.created_at, Notification.id).limit(limit)
        with self._session_factory.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            claimed = []
            for notification_id in session.execute(query).scalars().all():
                result = session.execute(
                    update(Notification)
                    .where(Notification.id == notification_id, Notification.next_attempt_at <= now)
                    .values(next_attempt_at=now + self._lease, attempts=Notification.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:
                    claimed.append(notification_id)
            if not claimed:
                return []
            rows = session.execute(
                select(Notification)
                .where(Notification.id.in_(claimed))
                .order_by(Notification.created_at, Notification.id)
            ).scalars()
            return [_view(row) for row in rows]

    def mark_delivered(self, notification_id: int) -> bool:
        """Record that a message was delivered; it is never handed out again.

        Returns:
            True when this call marked it; False when it was already delivered or does not exist.
        """
        now = self._now()
        with self._session_factory.begin() as session:
            result = session.execute(
                update(Notification)
                .where(Notification.id == notification_id, Notification.delivered_at.is_(None))
                .values(delivered_at=now, next_attempt_at=None)
                .execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    def mark_failed(self, notification_id: int, error: str, *, permanent: bool = False) -> NotificationView | None:
        """Record a failed delivery: retry later with exponential backoff, or give up.

        The next attempt is due ``30 s × 2^(attempts−1)`` after now, at most one hour; after ``max_attempts``
        attempts, or at once when ``permanent`` (the channel can never take it, e.g. an unknown recipient), the
        row is given up (``failed_at``) and never handed out again. A delivered row is left alone.

        Args:
            notification_id: The row's id.
            error: What went wrong (kept in ``last_error``, cut to 2,000 characters).
            permanent: Give up now.

        Returns:
            The row as it is afterwards, or None when no such row exists.
        """
        now = self._now()
        with self._session_factory.begin() as session:
            query = select(Notification).where(Notification.id == notification_id)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()
            row = session.execute(query).scalar_one_or_none()
            if row is None:
                return None
            if row.delivered_at is None:
                row.last_error = (error or "unknown error")[:_MAX_ERROR]
                if permanent or row.attempts >= self._max_attempts:
                    row.failed_at, row.next_attempt_at = now, None
                    logger.warning("notification %s given up after %s attempts: %s", row.id, row.attempts, error)
                else:
                    row.next_attempt_at = now + retry_delay(row.attempts)
            session.flush()
            return _view(row)

    def messages_for_resident(
        self, sender_id: str, since: dt.datetime | None = None, limit: int = 100
    ) -> list[NotificationView]:
        """A resident's messages, oldest first, delivered or not (for a REST client's fetch).

        Args:
            sender_id: The channel's sender id (the case's reporter).
            since: Only messages created strictly after this instant (aware); None for all. Pass the
                ``created_at`` of the last message already shown (each transition writes at most one message per
                resident, stamped to the microsecond, so no message shares that instant in practice).
            limit: 1–500; the oldest ``limit`` messages after ``since`` (page on with the last one's
                ``created_at``).

        Raises:
            ValueError: ``limit`` outside 1–500, or a naive ``since``.
        """
        return self.messages_for(Recipient.RESIDENT, sender_id, since, limit)

    def messages_for(
        self, recipient_role: Recipient | str, recipient_id: str, since: dt.datetime | None = None, limit: int = 100
    ) -> list[NotificationView]:
        """Messages of one recipient (a resident, a unit code, or :data:`DISPATCH`), oldest first.

        Same arguments and errors as :meth:`messages_for_resident`.
        """
        limit = _limit(limit)
        query = select(Notification).where(
            Notification.recipient_role == Recipient(recipient_role).value,
            Notification.recipient_id == (recipient_id or "").strip(),
        )
        if since is not None:
            if since.tzinfo is None or since.utcoffset() is None:
                raise ValueError(f"naive datetime {since.isoformat()} rejected: pass an aware datetime")
            query = query.where(Notification.created_at > since)
        query = query.order_by(Notification.created_at, Notification.id).limit(limit)
        with self._session_factory() as session:
            return [_view(row) for row in session.execute(query).scalars()]

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"clock returned naive datetime {now.isoformat()}")
        return now.astimezone(dt.timezone.utc)


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait before the next attempt after ``attempts`` attempts (≥ 1): 30 s, 60 s, 120 s, …, at most 1 hour."""
    exponent = max(0, attempts - 1)
    if exponent > 16:  # 30 s × 2^7 already exceeds the cap; avoid huge numbers
        return MAX_RETRY_DELAY
    return min(FIRST_RETRY_DELAY * (2**exponent), MAX_RETRY_DELAY)


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit
