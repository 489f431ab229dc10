"""Database tables of traceability (issue 7 part 5, migration ``0010_sensors_traceability``): same ``Base`` as
:mod:`workflow.models`, which imports this module at its end.

- ``trace_batches``: a batch of honeysuckle from one plot and grower, with its trace code (``JYH-2026-7K3QX``,
  unique; :func:`workflow.traceability.new_trace_code`).
- ``trace_events``: what happened to a batch (:data:`TRACE_EVENT_KINDS`), each with what (``what``), when
  (``occurred_at``), where (``place``) and who (``actor``), plus the kind's details in ``details`` (spraying:
  ``product``, ``dose``, ``dose_unit``; harvest: ``quantity_kg`` …). ``phi_override`` marks a harvest recorded inside
  a spraying's pre-harvest interval on purpose (``override_reason`` says why); the public chain shows the flag.
  The chain is ordered by ``occurred_at`` then ``id`` (insertion).

Rules: :mod:`workflow.traceability`.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint

from workflow.models import Base, JSONType, UTCDateTime

#: Kinds of event on a batch's chain, roughly in the order of a season.
TRACE_EVENT_KINDS = ("planting", "fertilising", "spraying", "harvest", "drying", "processing", "packaging", "sale")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class TraceBatch(Base):
    """A batch (批次) with its trace code, from one plot and one grower."""

    __tablename__ = "trace_batches"
    __table_args__ = (
        UniqueConstraint("code"),
        Index("ix_trace_batches_plot_code", "plot_code"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    code = Column(String(32), nullable=False)
    plot_code = Column(String(64), ForeignKey("plots.code"), nullable=False)
    grower_id = Column(Integer, ForeignKey("growers.id"), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    created_by = Column(String(128), nullable=False)


class TraceEvent(Base):
    """One step of a batch's chain: what, when, where, who, and the kind's details."""

    __tablename__ = "trace_events"
    __table_args__ = (
        CheckConstraint(_in("kind", TRACE_EVENT_KINDS), name="kind"),
        CheckConstraint("phi_override = false OR override_reason IS NOT NULL", name="override_reason"),
        Index("ix_trace_events_batch_id_occurred_at", "batch_id", "occurred_at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    batch_id = Column(Integer, ForeignKey("trace_batches.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(16), nullable=False)
    occurred_at = Column(UTCDateTime, nullable=False)
    what = Column(Text, nullable=False)
    place = Column(String(128), nullable=False)
    actor = Column(String(64), nullable=False)
    details = Column(JSONType, nullable=False, default=dict)
    phi_override = Column(Boolean, nullable=False, default=False)
    override_reason = Column(Text, nullable=True)
    recorded_at = Column(UTCDateTime, nullable=False)
    recorded_by = Column(String(128), nullable=False)
