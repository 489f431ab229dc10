"""Grid work (issue 6): the kind of a case and its grid, 帮我办 (proxy) cases, grid workers' chats, idempotent
redemptions.

- ``cases``: ``kind`` (``report`` | ``patrol`` | ``proxy``; NOT NULL, server default ``report`` so existing rows are
  reports), ``grid_code`` (FK grids), ``assignee_account_id`` (FK accounts: the grid worker a proxy case is assigned
  to), ``beneficiary`` (who the proxy request is for, as said), ``first_response_due`` / ``first_response_at``.
  No CHECK on ``kind`` here: SQLite can add one only by rebuilding ``cases``, which would cascade to its children;
  :mod:`workflow.cases` validates the value.
- ``worker_channels``: a grid worker's chat identities (unique per channel and sender id).
- ``worker_binding_codes``: one-time codes that bind a chat (SHA-256 of the code only; expiry; single use).
- ``worker_binding_failures``: wrong codes per sender, for the lock-out.
- ``mall_redemptions.request_id``: the client's idempotency key, unique per holder.
- ``case_events.actor_role`` and ``notifications.recipient_role`` accept ``grid_worker`` (their CHECK is replaced:
  batch mode on SQLite; nothing references either table, so the copy cascades to nothing).

Constraint names are passed bare (``kind``), as the naming convention of :mod:`workflow.models` prefixes them.

Revision ID: 0009_grid_work
Revises: 0008_points
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_grid_work"
down_revision = "0008_points"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
OLD_ACTOR_ROLES = ("resident", "bot", "dispatcher", "unit", "system")
ACTOR_ROLES = (*OLD_ACTOR_ROLES, "grid_worker")
OLD_RECIPIENT_ROLES = ("resident", "unit", "dispatcher")
RECIPIENT_ROLES = (*OLD_RECIPIENT_ROLES, "grid_worker")
# What 0001/0003 created (their names came out doubled by the naming convention).
OLD_ACTOR_CHECK = "ck_case_events_ck_case_events_actor_role"
OLD_RECIPIENT_CHECK = "ck_notifications_ck_notifications_recipient_role"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _add_reference(column: str, sql_type: str, target: str, name: str, ondelete: str | None = None) -> None:
    """A nullable FK column on ``cases`` (SQLite: ADD COLUMN with a named REFERENCES clause; no table rebuild)."""
    table, key = target.split(".")
    if _sqlite():
        on_delete = f" ON DELETE {ondelete}" if ondelete else ""
        op.execute(f"ALTER TABLE cases ADD COLUMN {column} {sql_type} "
                   f"CONSTRAINT {name} REFERENCES {table} ({key}){on_delete}")
    else:
        op.add_column("cases", sa.Column(column, sa.String(64) if sql_type.startswith("VARCHAR") else sa.Integer(),
                                         nullable=True))
        op.create_foreign_key(op.f(name), "cases", table, [column], [key], ondelete=ondelete)


def _replace_check(table: str, old: str, new: str, condition: str) -> None:
    """Replace a CHECK: ``old`` is the stored name (taken as is), ``new`` a bare name or an ``op.f`` one."""
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(old), type_="check")
        batch.create_check_constraint(new, condition)


def upgrade() -> None:
    op.add_column("cases", sa.Column("kind", sa.String(16), nullable=False, server_default="report"))
    _add_reference("grid_code", "VARCHAR(64)", "grids.code", "fk_cases_grid_code_grids")
    _add_reference("assignee_account_id", "INTEGER", "accounts.id", "fk_cases_assignee_account_id_accounts")
    op.add_column("cases", sa.Column("beneficiary", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("first_response_due", TIMESTAMP, nullable=True))
    op.add_column("cases", sa.Column("first_response_at", TIMESTAMP, nullable=True))
    op.create_index("ix_cases_grid_code", "cases", ["grid_code"])
    op.create_index("ix_cases_assignee_account_id", "cases", ["assignee_account_id"])
    op.create_index("ix_cases_kind_created_at", "cases", ["kind", "created_at"])

    op.create_table(
        "worker_channels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("bound_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_channels")),
        sa.UniqueConstraint("channel", "sender_id", name=op.f("uq_worker_channels_channel_sender_id")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_worker_channels_account_id_accounts"),
                                ondelete="CASCADE"),
    )
    op.create_index("ix_worker_channels_account_id", "worker_channels", ["account_id"])
    op.create_index("ix_worker_channels_sender_id", "worker_channels", ["sender_id"])
    op.create_table(
        "worker_binding_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_binding_codes")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_worker_binding_codes_account_id_accounts"), ondelete="CASCADE"),
    )
    op.create_index("ix_worker_binding_codes_code_hash", "worker_binding_codes", ["code_hash"])
    op.create_index("ix_worker_binding_codes_account_id", "worker_binding_codes", ["account_id"])
    op.create_table(
        "worker_binding_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_binding_failures")),
    )
    op.create_index("ix_worker_binding_failures_sender_id_at", "worker_binding_failures", ["sender_id", "at"])

    op.add_column("mall_redemptions", sa.Column("request_id", sa.String(64), nullable=True))
    op.create_index("uq_mall_redemptions_holder_id_request_id", "mall_redemptions", ["holder_id", "request_id"],
                    unique=True)

    _replace_check("case_events", OLD_ACTOR_CHECK, "actor_role", _in("actor_role", ACTOR_ROLES))
    _replace_check("notifications", OLD_RECIPIENT_CHECK, "recipient_role", _in("recipient_role", RECIPIENT_ROLES))


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE recipient_role = 'grid_worker'")
    _replace_check("notifications", "ck_notifications_recipient_role", op.f(OLD_RECIPIENT_CHECK),
                   _in("recipient_role", OLD_RECIPIENT_ROLES))
    _replace_check("case_events", "ck_case_events_actor_role", op.f(OLD_ACTOR_CHECK),
                   _in("actor_role", OLD_ACTOR_ROLES))
    op.drop_index("uq_mall_redemptions_holder_id_request_id", table_name="mall_redemptions")
    if _sqlite():
        op.execute("ALTER TABLE mall_redemptions DROP COLUMN request_id")
    else:
        op.drop_column("mall_redemptions", "request_id")
    op.drop_index("ix_worker_binding_failures_sender_id_at", table_name="worker_binding_failures")
    op.drop_table("worker_binding_failures")
    op.drop_index("ix_worker_binding_codes_account_id", table_name="worker_binding_codes")
    op.drop_index("ix_worker_binding_codes_code_hash", table_name="worker_binding_codes")
    op.drop_table("worker_binding_codes")
    op.drop_index("ix_worker_channels_sender_id", table_name="worker_channels")
    op.drop_index("ix_worker_channels_account_id", table_name="worker_channels")
    op.drop_table("worker_channels")
    op.drop_index("ix_cases_kind_created_at", table_name="cases")
    op.drop_index("ix_cases_assignee_account_id", table_name="cases")
    op.drop_index("ix_cases_grid_code", table_name="cases")
    for column in ("first_response_at", "first_response_due", "beneficiary", "assignee_account_id", "grid_code",
                   "kind"):
        if _sqlite():
            # As in 0002/0003/0005: plain DROP COLUMN (batch mode would rebuild cases and cascade to its children);
            # SQLite drops a column together with its own REFERENCES clause.
            op.execute(f"ALTER TABLE cases DROP COLUMN {column}")
        else:
            if column in ("assignee_account_id", "grid_code"):
                target = "accounts" if column == "assignee_account_id" else "grids"
                op.drop_constraint(op.f(f"fk_cases_{column}_{target}"), "cases", type_="foreignkey")
            op.drop_column("cases", column)
