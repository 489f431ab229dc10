"""Channels: evidence attachments (``case_attachments``), the resident's shared location and the hotline call of a
case (columns on ``cases``), and the hotline calls themselves (``hotline_calls``, unique ``call_id``: the same call
posted twice files nothing new).

New columns on ``cases`` are nullable, so SQLite adds them with plain ``ALTER TABLE`` (and drops them with ``DROP
COLUMN``, as in 0002/0003); the index on ``call_id`` finds a call's cases.

Revision ID: 0005_channels
Revises: 0004_api_tokens
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_channels"
down_revision = "0004_api_tokens"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
ATTACHMENT_KINDS = ("image", "voice", "video")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.add_column("cases", sa.Column("latitude", sa.Float(), nullable=True))
    op.add_column("cases", sa.Column("longitude", sa.Float(), nullable=True))
    op.add_column("cases", sa.Column("location_label", sa.String(256), nullable=True))
    op.add_column("cases", sa.Column("call_id", sa.String(64), nullable=True))
    op.create_index("ix_cases_call_id", "cases", ["call_id"])
    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("media_id", sa.String(256), nullable=True),
        sa.Column("url", sa.String(1024), nullable=True),
        sa.Column("added_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_attachments"),
        sa.ForeignKeyConstraint(["case_pk"], ["cases.id"], name="fk_case_attachments_case_pk_cases",
                                ondelete="CASCADE"),
        sa.CheckConstraint(_in("kind", ATTACHMENT_KINDS), name="ck_case_attachments_kind"),
    )
    op.create_index("ix_case_attachments_case_pk", "case_attachments", ["case_pk"])
    op.create_table(
        "hotline_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("caller_number", sa.String(32), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("turns", JSON, nullable=False),
        sa.Column("outcome", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_calls"),
        sa.UniqueConstraint("call_id", name="uq_hotline_calls_call_id"),
    )


def downgrade() -> None:
    op.drop_table("hotline_calls")
    op.drop_index("ix_case_attachments_case_pk", table_name="case_attachments")
    op.drop_table("case_attachments")
    op.drop_index("ix_cases_call_id", table_name="cases")
    for column in ("call_id", "location_label", "longitude", "latitude"):
        # As in 0002/0003: on SQLite plain DROP COLUMN (batch mode would rebuild cases and cascade to its children).
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE cases DROP COLUMN {column}")
        else:
            op.drop_column("cases", column)
