"""Notifications outbox and the deadline watch (workflow/notifications.py, workflow/jobs/).

Creates ``notifications`` (the transactional outbox: one row per message to a resident, a unit or the dispatchers)
and adds to ``cases``: ``warn_at`` (when the lead unit is to be warned: 80% of the wall-clock span of the current
round), ``warned_at``, ``overdue_at``, with indexes ``(status, warn_at)``, ``(status, deadline)`` and
``(status, resolved_at)`` for the jobs' sweeps.

Open cases accepted before this revision get ``warn_at`` back-filled, so the first sweep warns and marks them like
any other: the round started at ``accepted_at``, or at ``assigned_at`` for a case a resident sent back (a reopened
case gets a new deadline from that moment). Offline (``--sql``) runs skip the back-fill.

On SQLite the columns are added with ``ALTER TABLE … ADD COLUMN`` and dropped with ``DROP COLUMN`` (as in 0002:
batch mode would rebuild ``cases`` and cascade to ``case_events``).

APScheduler creates its own job table (``apscheduler_jobs``) when a scheduler starts; it is not ours and
``workflow.migrate.include_object`` keeps autogenerate away from it, as from Rasa's ``events``.

Revision ID: 0003_notifications_jobs
Revises: 0002_case_lifecycle
Create Date: 2026-11-30
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_notifications_jobs"
down_revision = "0002_case_lifecycle"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
RECIPIENT_ROLES = ("resident", "unit", "dispatcher")
WARNING_FRACTION = 0.8  # DESIGN.md: warn the unit at 80% of the time
#: Statuses of an accepted case not yet resolved (the back-fill's scope).
OPEN_ACCEPTED = ("accepted", "assigned", "in_progress", "reopened", "returned")

COLUMNS = [
    sa.Column("warn_at", TIMESTAMP, nullable=True),
    sa.Column("warned_at", TIMESTAMP, nullable=True),
    sa.Column("overdue_at", TIMESTAMP, nullable=True),
]
INDEXES = [
    ("ix_cases_status_warn_at", ["status", "warn_at"]),
    ("ix_cases_status_deadline", ["status", "deadline"]),
    ("ix_cases_status_resolved_at", ["status", "resolved_at"]),
]


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _dialect() -> sa.engine.Dialect:
    return op.get_context().dialect


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("case_pk", sa.Integer(), nullable=True),
        sa.Column("recipient_role", sa.String(16), nullable=False),
        sa.Column("recipient_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.Column("failed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.ForeignKeyConstraint(
            ["case_pk"], ["cases.id"], name="fk_notifications_case_pk_cases", ondelete="CASCADE"
        ),
        sa.CheckConstraint(_in("recipient_role", RECIPIENT_ROLES), name="ck_notifications_recipient_role"),
        sa.CheckConstraint("attempts >= 0", name="ck_notifications_attempts"),
    )
    op.create_index("ix_notifications_case_pk", "notifications", ["case_pk"])
    op.create_index("ix_notifications_recipient", "notifications", ["recipient_role", "recipient_id", "created_at"])
    op.create_index("ix_notifications_next_attempt_at", "notifications", ["next_attempt_at"])

    dialect = _dialect()
    for column in COLUMNS:
        if dialect.name == "sqlite":
            spec = sa.schema.CreateColumn(column).compile(dialect=dialect)
            op.execute(f"ALTER TABLE cases ADD COLUMN {spec}")
        else:
            op.add_column("cases", column.copy())
    for name, columns in INDEXES:
        op.create_index(name, "cases", columns)
    if not op.get_context().as_sql:
        _backfill_warn_at()


def _backfill_warn_at() -> None:
    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("accepted_at", TIMESTAMP),
        sa.column("assigned_at", TIMESTAMP),
        sa.column("deadline", TIMESTAMP),
        sa.column("unsatisfied_count", sa.Integer()),
        sa.column("warn_at", TIMESTAMP),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(cases.c.id, cases.c.accepted_at, cases.c.assigned_at, cases.c.deadline, cases.c.unsatisfied_count)
        .where(cases.c.status.in_(OPEN_ACCEPTED), cases.c.accepted_at.isnot(None))
    ).all()
    for row in rows:
        start = row.assigned_at if (row.unsatisfied_count or 0) > 0 and row.assigned_at else row.accepted_at
        start, deadline = _utc(start), _utc(row.deadline)
        warn_at = start + (deadline - start) * WARNING_FRACTION if deadline > start else deadline
        bind.execute(cases.update().where(cases.c.id == row.id).values(warn_at=_bindable(warn_at, bind)))


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive UTC, PostgreSQL aware datetimes."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def _bindable(value: dt.datetime, bind: sa.engine.Connection) -> dt.datetime:
    return value.replace(tzinfo=None) if bind.dialect.name == "sqlite" else value


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="cases")
    for column in reversed(COLUMNS):
        if _dialect().name == "sqlite":
            op.execute(f"ALTER TABLE cases DROP COLUMN {column.name}")
        else:
            op.drop_column("cases", column.name)
    op.drop_index("ix_notifications_next_attempt_at", table_name="notifications")
    op.drop_index("ix_notifications_recipient", table_name="notifications")
    op.drop_index("ix_notifications_case_pk", table_name="notifications")
    op.drop_table("notifications")
