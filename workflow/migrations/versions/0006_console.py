"""Dispatcher console: ``accounts`` (people who log in, argon2id password hashes, lock-out counters),
``console_sessions`` (browser sessions: SHA-256 of the cookie token, CSRF token, idle and absolute expiry),
``login_events`` (every log-in attempt), ``personal_data_views`` (every view of a resident's full phone number) and
``conversation_takeovers`` (a dispatcher's take-over of a live bot conversation; at most one open per conversation,
a partial unique index that SQLite and PostgreSQL both support).

New tables only, so SQLite needs no batch mode and the CHECK constraints are created with them.

Revision ID: 0006_console
Revises: 0005_channels
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_console"
down_revision = "0005_channels"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
ACCOUNT_ROLES = ("dispatcher", "unit", "grid_worker", "admin")
LOGIN_OUTCOMES = ("success", "wrong_password", "unknown_user", "locked", "disabled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=True),
        sa.Column("village_code", sa.String(64), nullable=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", TIMESTAMP, nullable=True),
        sa.Column("last_login_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("disabled_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("username", name="uq_accounts_username"),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name="fk_accounts_unit_code_units"),
        sa.ForeignKeyConstraint(["village_code"], ["villages.code"], name="fk_accounts_village_code_villages"),
        sa.CheckConstraint(_in("role", ACCOUNT_ROLES), name="ck_accounts_role"),
        sa.CheckConstraint(
            "(role = 'unit' AND unit_code IS NOT NULL) OR (role <> 'unit' AND unit_code IS NULL)",
            name="ck_accounts_unit_scope",
        ),
        sa.CheckConstraint(
            "(role = 'grid_worker' AND village_code IS NOT NULL) OR (role <> 'grid_worker' AND village_code IS NULL)",
            name="ck_accounts_village_scope",
        ),
        sa.CheckConstraint("failed_logins >= 0", name="ck_accounts_failed_logins"),
    )
    op.create_index("ix_accounts_unit_code", "accounts", ["unit_code"])
    op.create_index("ix_accounts_village_code", "accounts", ["village_code"])
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_console_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_console_sessions_token_hash"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_console_sessions_account_id_accounts",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_console_sessions_account_id", "console_sessions", ["account_id"])
    op.create_table(
        "login_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_login_events"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_login_events_account_id_accounts",
                                ondelete="SET NULL"),
        sa.CheckConstraint(_in("outcome", LOGIN_OUTCOMES), name="ck_login_events_outcome"),
    )
    op.create_index("ix_login_events_at", "login_events", ["at"])
    op.create_index("ix_login_events_account_id", "login_events", ["account_id"])
    op.create_table(
        "personal_data_views",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("case_pk", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_personal_data_views"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_personal_data_views_account_id_accounts",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["case_pk"], ["cases.id"], name="fk_personal_data_views_case_pk_cases",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_personal_data_views_at", "personal_data_views", ["at"])
    op.create_index("ix_personal_data_views_account_id", "personal_data_views", ["account_id"])
    op.create_index("ix_personal_data_views_case_pk", "personal_data_views", ["case_pk"])
    op.create_table(
        "conversation_takeovers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("taken_by", sa.String(128), nullable=False),
        sa.Column("taken_at", TIMESTAMP, nullable=False),
        sa.Column("released_at", TIMESTAMP, nullable=True),
        sa.Column("released_by", sa.String(128), nullable=True),
        sa.Column("messages_sent", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_takeovers"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name="fk_conversation_takeovers_account_id_accounts", ondelete="SET NULL"),
    )
    op.create_index("ix_conversation_takeovers_sender_id", "conversation_takeovers", ["sender_id"])
    op.create_index("uq_conversation_takeovers_open", "conversation_takeovers", ["sender_id"], unique=True,
                    sqlite_where=sa.text("released_at IS NULL"), postgresql_where=sa.text("released_at IS NULL"))


def downgrade() -> None:
    op.drop_index("uq_conversation_takeovers_open", table_name="conversation_takeovers")
    op.drop_index("ix_conversation_takeovers_sender_id", table_name="conversation_takeovers")
    op.drop_table("conversation_takeovers")
    for index in ("ix_personal_data_views_case_pk", "ix_personal_data_views_account_id", "ix_personal_data_views_at"):
        op.drop_index(index, table_name="personal_data_views")
    op.drop_table("personal_data_views")
    op.drop_index("ix_login_events_account_id", table_name="login_events")
    op.drop_index("ix_login_events_at", table_name="login_events")
    op.drop_table("login_events")
    op.drop_index("ix_console_sessions_account_id", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index("ix_accounts_village_code", table_name="accounts")
    op.drop_index("ix_accounts_unit_code", table_name="accounts")
    op.drop_table("accounts")
