"""Database tables of points (积分善治), volunteer activities (文明实践) and the points mall (积分超市): migration
``0008_points``. Same ``Base`` (and so the same metadata) as :mod:`workflow.models`, which imports this module at its
end so every table is registered wherever the models are.

The points *holder* (``holder_id``, 1–128 characters) is, for now, the channel sender id of a case's reporter
(``cases.reporter_id``: a WeChat openid, a web chat id, ``hotline:<number>`` …). The grid model's
``resident_channels`` (migration 0007) binds sender ids to residents; once the bot asks residents to bind their
channels, a resident's points can be gathered under one holder. Until then one person on two channels has two
accounts.

Tables:

- ``points_accounts``: one row per holder: ``balance`` (points, the sum of the holder's entries, kept in step in
  the same transaction as every entry; CHECK ≥ 0) and ``owed`` (points a reversal could not take because they were
  already spent; later credits pay it off first; CHECK ≥ 0). The row is also the per-holder lock every ledger write
  takes first (an UPDATE of the row), so concurrent writers for one holder queue up.
- ``points_entries``: the ledger, signed entries (``amount`` in points, + credit, − debit), ``source`` unique (what
  the entry is for: ``case:<case_id>:report``, ``activity:<id>:<holder>``, ``redemption:<id>`` … — the idempotency
  key), ``reason`` (Chinese, shown to the resident), ``balance_after`` (the balance once it was posted),
  ``report_day`` (for report awards: the Asia/Shanghai day the report was filed, which the daily cap counts by).
- ``volunteer_activities`` and ``volunteer_attendances`` (one row per confirmed attendee; unique per activity).
- ``mall_items`` (catalogue: ``number`` residents type, ``price`` in points per piece, ``stock`` in pieces, CHECK
  ≥ 0) and ``mall_redemptions`` (``quantity`` pieces for ``points`` points, ``pickup_code``, the collection window
  ``collect_from`` ≤ t < ``collect_until``, status ``reserved`` → ``collected`` | ``returned``).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)

from workflow.models import Base, JSONType, UTCDateTime

#: What a ledger entry is: a report award, its reversal, a volunteer activity credit, a mall redemption (debit),
#: the refund of an uncollected redemption, and the settlement of owed points out of a later credit (debit).
ENTRY_KINDS = ("report", "reversal", "activity", "redemption", "refund", "settlement")
#: A redemption's states: reserved (points spent, goods set aside), collected, returned (uncollected: stock back,
#: points refunded).
REDEMPTION_STATUSES = ("reserved", "collected", "returned")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PointsAccount(Base):
    """A holder's points: cached ``balance`` (= the sum of their entries) and ``owed``; the per-holder lock row."""

    __tablename__ = "points_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance"),
        CheckConstraint("owed >= 0", name="owed"),
    )

    holder_id = Column(String(128), primary_key=True)
    balance = Column(Integer, nullable=False, default=0, server_default="0")
    owed = Column(Integer, nullable=False, default=0, server_default="0")
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)


class PointsEntry(Base):
    """One signed ledger entry (points); ``source`` is unique, so posting the same source twice writes one entry."""

    __tablename__ = "points_entries"
    __table_args__ = (
        CheckConstraint(_in("kind", ENTRY_KINDS), name="kind"),
        CheckConstraint("balance_after >= 0", name="balance_after"),
        Index("ix_points_entries_holder_id_id", "holder_id", "id"),
        Index("ix_points_entries_holder_id_report_day", "holder_id", "report_day"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    holder_id = Column(String(128), ForeignKey("points_accounts.holder_id"), nullable=False)
    amount = Column(Integer, nullable=False)
    kind = Column(String(16), nullable=False)
    source = Column(String(160), nullable=False, unique=True)
    reason = Column(String(256), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    balance_after = Column(Integer, nullable=False)
    report_day = Column(Date, nullable=True)
    data = Column(JSONType, nullable=False, default=dict)


class VolunteerActivity(Base):
    """A volunteer activity (文明实践) registered by its organiser: ``points`` per confirmed attendee, held on
    ``held_on`` (an Asia/Shanghai date)."""

    __tablename__ = "volunteer_activities"
    __table_args__ = (CheckConstraint("points > 0", name="points"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    title = Column(String(128), nullable=False)
    held_on = Column(Date, nullable=False)
    points = Column(Integer, nullable=False)
    organiser = Column(String(128), nullable=False, index=True)
    place = Column(String(128), nullable=True)
    created_at = Column(UTCDateTime, nullable=False)


class VolunteerAttendance(Base):
    """An attendee the organiser confirmed (once per activity and holder); credited through the ledger."""

    __tablename__ = "volunteer_attendances"
    __table_args__ = (UniqueConstraint("activity_id", "holder_id"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    activity_id = Column(Integer, ForeignKey("volunteer_activities.id", ondelete="CASCADE"), nullable=False)
    holder_id = Column(String(128), nullable=False, index=True)
    confirmed_at = Column(UTCDateTime, nullable=False)
    confirmed_by = Column(String(128), nullable=False)


class MallItem(Base):
    """A good of the points mall: ``price`` points per piece, ``stock`` pieces (never below 0)."""

    __tablename__ = "mall_items"
    __table_args__ = (
        CheckConstraint("price > 0", name="price"),
        CheckConstraint("stock >= 0", name="stock"),
        CheckConstraint("number > 0", name="number"),
    )

    code = Column(String(64), primary_key=True)
    number = Column(Integer, nullable=False, unique=True)
    name = Column(String(64), nullable=False, unique=True)
    price = Column(Integer, nullable=False)
    stock = Column(Integer, nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    is_sample = Column(Boolean, nullable=False, default=False)
    updated_at = Column(UTCDateTime, nullable=False)


class MallRedemption(Base):
    """A redemption: ``quantity`` pieces of an item for ``points`` points, picked up with ``pickup_code``."""

    __tablename__ = "mall_redemptions"
    __table_args__ = (
        CheckConstraint(_in("status", REDEMPTION_STATUSES), name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("points > 0", name="points"),
        Index("ix_mall_redemptions_holder_id_id", "holder_id", "id"),
        Index("ix_mall_redemptions_status_collect_until", "status", "collect_until"),
        # Migration 0009: the client's idempotency key (Mall.redeem(request_id=…)), unique per holder.
        Index("uq_mall_redemptions_holder_id_request_id", "holder_id", "request_id", unique=True),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    holder_id = Column(String(128), ForeignKey("points_accounts.holder_id"), nullable=False)
    item_code = Column(String(64), ForeignKey("mall_items.code"), nullable=False)
    quantity = Column(Integer, nullable=False)
    points = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False, default="reserved")
    pickup_code = Column(String(16), nullable=False, unique=True)
    redeemed_at = Column(UTCDateTime, nullable=False)
    collect_from = Column(UTCDateTime, nullable=False)
    collect_until = Column(UTCDateTime, nullable=False)
    collected_at = Column(UTCDateTime, nullable=True)
    collected_by = Column(String(128), nullable=True)
    returned_at = Column(UTCDateTime, nullable=True)
    request_id = Column(String(64), nullable=True)
