"""Closed loop: the case columns the state machine needs (workflow/lifecycle.py).

Adds to ``cases``: ``suggested_matter_type`` (the bot's matter type, kept beside the dispatcher's; back-filled from
``matter_type`` for cases filed before), ``assigned_at``, ``resolved_at``, ``closed_at``, ``result``,
``result_photo``, ``rating``, ``rating_comment``, ``unsatisfied_count``, ``rejection_reason``, ``duplicate_of``, and
indexes on ``lead_unit_code`` (a unit's work list) and ``duplicate_of`` (the duplicates of a case).

SQLite cannot add a constraint to an existing table, and Alembic's batch mode would rebuild ``cases`` by dropping
it, which with ``foreign_keys=ON`` cascades to ``case_events`` (the audit trail would be lost). So on SQLite every
column is added with ``ALTER TABLE … ADD COLUMN`` carrying its CHECK inline, and dropped again with ``DROP COLUMN``
(SQLite 3.35+). For the same reason ``duplicate_of`` has no foreign key (SQLite cannot drop a column that has one);
the service checks that the original exists.

Revision ID: 0002_case_lifecycle
Revises: 0001_case_domain
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_case_lifecycle"
down_revision = "0001_case_domain"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
MATTER_TYPES = ("emergency", "policy_consultation", "public_service", "other")
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied", "no_rating")
REJECT_REASONS = ("invalid", "out_of_scope", "duplicate")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# (column, its CHECK constraint name and condition, or None)
COLUMNS: list[tuple[sa.Column, tuple[str, str] | None]] = [
    (
        sa.Column("suggested_matter_type", sa.String(32), nullable=True),
        (
            "ck_cases_suggested_matter_type",
            "suggested_matter_type IS NULL OR " + _in("suggested_matter_type", MATTER_TYPES),
        ),
    ),
    (sa.Column("assigned_at", TIMESTAMP, nullable=True), None),
    (sa.Column("resolved_at", TIMESTAMP, nullable=True), None),
    (sa.Column("closed_at", TIMESTAMP, nullable=True), None),
    (sa.Column("result", sa.Text(), nullable=True), None),
    (sa.Column("result_photo", sa.String(512), nullable=True), None),
    (
        sa.Column("rating", sa.String(24), nullable=True),
        ("ck_cases_rating", "rating IS NULL OR " + _in("rating", RATINGS)),
    ),
    (sa.Column("rating_comment", sa.Text(), nullable=True), None),
    (
        sa.Column("unsatisfied_count", sa.Integer(), nullable=False, server_default="0"),
        ("ck_cases_unsatisfied_count", "unsatisfied_count >= 0"),
    ),
    (
        sa.Column("rejection_reason", sa.String(16), nullable=True),
        ("ck_cases_rejection_reason", "rejection_reason IS NULL OR " + _in("rejection_reason", REJECT_REASONS)),
    ),
    (sa.Column("duplicate_of", sa.String(32), nullable=True), None),
]
INDEXES = [("ix_cases_lead_unit_code", "lead_unit_code"), ("ix_cases_duplicate_of", "duplicate_of")]


def _dialect() -> sa.engine.Dialect:
    return op.get_context().dialect  # also in offline (--sql) mode, where there is no connection


def upgrade() -> None:
    dialect = _dialect()
    for column, check in COLUMNS:
        if dialect.name == "sqlite":
            spec = sa.schema.CreateColumn(column).compile(dialect=dialect)
            inline = f" CONSTRAINT {check[0]} CHECK ({check[1]})" if check else ""
            op.execute(f"ALTER TABLE cases ADD COLUMN {spec}{inline}")
        else:
            op.add_column("cases", column)
            if check:
                # op.f: the name is final (Alembic would otherwise apply the models' naming convention again).
                op.create_check_constraint(op.f(check[0]), "cases", check[1])
    for name, column_name in INDEXES:
        op.create_index(name, "cases", [column_name])
    op.execute("UPDATE cases SET suggested_matter_type = matter_type WHERE suggested_matter_type IS NULL")


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="cases")
    for column, _ in reversed(COLUMNS):
        if _dialect().name == "sqlite":
            op.execute(f"ALTER TABLE cases DROP COLUMN {column.name}")
        else:
            op.drop_column("cases", column.name)
