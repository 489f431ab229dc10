"""Points (积分善治, issue 6): ``points_accounts`` (a holder's cached balance and owed points, CHECK ≥ 0; the
per-holder lock row), ``points_entries`` (the signed ledger, ``source`` unique: every award idempotent on it),
``volunteer_activities`` and ``volunteer_attendances`` (文明实践), ``mall_items`` (catalogue, stock CHECK ≥ 0) and
``mall_redemptions`` (pickup code unique; collection window; reserved/collected/returned).

A holder is a channel sender id (``cases.reporter_id``) for now; see :mod:`workflow.points_models`.

New tables only, so SQLite needs no batch mode and the CHECK constraints are created with them.

Revision ID: 0008_points
Revises: 0007_grids
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_points"
down_revision = "0007_grids"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ENTRY_KINDS = ("report", "reversal", "activity", "redemption", "refund", "settlement")
REDEMPTION_STATUSES = ("reserved", "collected", "returned")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "points_accounts",
        sa.Column("holder_id", sa.String(128), nullable=False),
        sa.Column("balance", sa.Integer(), server_default="0", nullable=False),
        sa.Column("owed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("holder_id", name="pk_points_accounts"),
        sa.CheckConstraint("balance >= 0", name="ck_points_accounts_balance"),
        sa.CheckConstraint("owed >= 0", name="ck_points_accounts_owed"),
    )
    op.create_table(
        "points_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("holder_id", sa.String(128), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(160), nullable=False),
        sa.Column("reason", sa.String(256), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("report_day", sa.Date(), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_points_entries"),
        sa.UniqueConstraint("source", name="uq_points_entries_source"),
        sa.ForeignKeyConstraint(["holder_id"], ["points_accounts.holder_id"],
                                name="fk_points_entries_holder_id_points_accounts"),
        sa.CheckConstraint(_in("kind", ENTRY_KINDS), name="ck_points_entries_kind"),
        sa.CheckConstraint("balance_after >= 0", name="ck_points_entries_balance_after"),
    )
    op.create_index("ix_points_entries_holder_id_id", "points_entries", ["holder_id", "id"])
    op.create_index("ix_points_entries_holder_id_report_day", "points_entries", ["holder_id", "report_day"])
    op.create_table(
        "volunteer_activities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(128), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("organiser", sa.String(128), nullable=False),
        sa.Column("place", sa.String(128), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_volunteer_activities"),
        sa.CheckConstraint("points > 0", name="ck_volunteer_activities_points"),
    )
    op.create_index("ix_volunteer_activities_organiser", "volunteer_activities", ["organiser"])
    op.create_table(
        "volunteer_attendances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.String(128), nullable=False),
        sa.Column("confirmed_at", TIMESTAMP, nullable=False),
        sa.Column("confirmed_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_volunteer_attendances"),
        sa.UniqueConstraint("activity_id", "holder_id", name="uq_volunteer_attendances_activity_id_holder_id"),
        sa.ForeignKeyConstraint(["activity_id"], ["volunteer_activities.id"],
                                name="fk_volunteer_attendances_activity_id_volunteer_activities", ondelete="CASCADE"),
    )
    op.create_index("ix_volunteer_attendances_holder_id", "volunteer_attendances", ["holder_id"])
    op.create_table(
        "mall_items",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_mall_items"),
        sa.UniqueConstraint("number", name="uq_mall_items_number"),
        sa.UniqueConstraint("name", name="uq_mall_items_name"),
        sa.CheckConstraint("price > 0", name="ck_mall_items_price"),
        sa.CheckConstraint("stock >= 0", name="ck_mall_items_stock"),
        sa.CheckConstraint("number > 0", name="ck_mall_items_number"),
    )
    op.create_table(
        "mall_redemptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("holder_id", sa.String(128), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pickup_code", sa.String(16), nullable=False),
        sa.Column("redeemed_at", TIMESTAMP, nullable=False),
        sa.Column("collect_from", TIMESTAMP, nullable=False),
        sa.Column("collect_until", TIMESTAMP, nullable=False),
        sa.Column("collected_at", TIMESTAMP, nullable=True),
        sa.Column("collected_by", sa.String(128), nullable=True),
        sa.Column("returned_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mall_redemptions"),
        sa.UniqueConstraint("pickup_code", name="uq_mall_redemptions_pickup_code"),
        sa.ForeignKeyConstraint(["holder_id"], ["points_accounts.holder_id"],
                                name="fk_mall_redemptions_holder_id_points_accounts"),
        sa.ForeignKeyConstraint(["item_code"], ["mall_items.code"], name="fk_mall_redemptions_item_code_mall_items"),
        sa.CheckConstraint(_in("status", REDEMPTION_STATUSES), name="ck_mall_redemptions_status"),
        sa.CheckConstraint("quantity > 0", name="ck_mall_redemptions_quantity"),
        sa.CheckConstraint("points > 0", name="ck_mall_redemptions_points"),
    )
    op.create_index("ix_mall_redemptions_holder_id_id", "mall_redemptions", ["holder_id", "id"])
    op.create_index("ix_mall_redemptions_status_collect_until", "mall_redemptions", ["status", "collect_until"])


def downgrade() -> None:
    op.drop_index("ix_mall_redemptions_status_collect_until", table_name="mall_redemptions")
    op.drop_index("ix_mall_redemptions_holder_id_id", table_name="mall_redemptions")
    op.drop_table("mall_redemptions")
    op.drop_table("mall_items")
    op.drop_index("ix_volunteer_attendances_holder_id", table_name="volunteer_attendances")
    op.drop_table("volunteer_attendances")
    op.drop_index("ix_volunteer_activities_organiser", table_name="volunteer_activities")
    op.drop_table("volunteer_activities")
    op.drop_index("ix_points_entries_holder_id_report_day", table_name="points_entries")
    op.drop_index("ix_points_entries_holder_id_id", table_name="points_entries")
    op.drop_table("points_entries")
    op.drop_table("points_accounts")
