"""API tokens: ``api_tokens``, bearer tokens of the admin API scoped to a role (dispatcher, unit, admin) and, for a
unit, to one unit (workflow/api_tokens.py).

Only a token's SHA-256 hex digest is stored (``token_hash``, unique: it is how a presented token is found). A new
table, so SQLite needs no batch mode and the CHECK constraints are created with it.

Revision ID: 0004_api_tokens
Revises: 0003_notifications_jobs
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_api_tokens"
down_revision = "0003_notifications_jobs"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
TOKEN_ROLES = ("dispatcher", "unit", "admin")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name="fk_api_tokens_unit_code_units"),
        sa.CheckConstraint(_in("role", TOKEN_ROLES), name="ck_api_tokens_role"),
        sa.CheckConstraint(
            "(role = 'unit' AND unit_code IS NOT NULL) OR (role <> 'unit' AND unit_code IS NULL)",
            name="ck_api_tokens_unit_scope",
        ),
    )
    op.create_index("ix_api_tokens_unit_code", "api_tokens", ["unit_code"])


def downgrade() -> None:
    op.drop_index("ix_api_tokens_unit_code", table_name="api_tokens")
    op.drop_table("api_tokens")
