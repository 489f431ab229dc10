"""Grid model (issue 6): ``grids`` (a village's or community's grids, each with at most one grid worker account),
``households`` (registered in a grid; 帮我办 flags), ``residents`` (members of a household: normalised phone, at most
the last 4 characters of the ID card, never the full number) and ``resident_channels`` (a resident's sender id on a
channel, unique per channel: how a WeChat openid or web chat id is bound to a person).

New tables only, so SQLite needs no batch mode and the CHECK constraints are created with them.

Revision ID: 0007_grids
Revises: 0006_console
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_grids"
down_revision = "0006_console"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
GRID_KINDS = ("rural", "urban")
RESIDENT_ROLES = ("head", "spouse", "child", "parent", "grandchild", "sibling", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "grids",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("village_code", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("worker_account_id", sa.Integer(), nullable=True),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_grids"),
        sa.UniqueConstraint("village_code", "name", name="uq_grids_village_code_name"),
        sa.ForeignKeyConstraint(["village_code"], ["villages.code"], name="fk_grids_village_code_villages"),
        sa.ForeignKeyConstraint(["worker_account_id"], ["accounts.id"], name="fk_grids_worker_account_id_accounts",
                                ondelete="SET NULL"),
        sa.CheckConstraint(_in("kind", GRID_KINDS), name="ck_grids_kind"),
    )
    op.create_index("ix_grids_village_code", "grids", ["village_code"])
    op.create_index("ix_grids_worker_account_id", "grids", ["worker_account_id"])
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("grid_code", sa.String(64), nullable=False),
        sa.Column("address", sa.String(256), nullable=False),
        sa.Column("head_name", sa.String(64), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("has_elderly", sa.Boolean(), nullable=False),
        sa.Column("has_disabled", sa.Boolean(), nullable=False),
        sa.Column("has_members_away", sa.Boolean(), nullable=False),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_households"),
        sa.UniqueConstraint("code", name="uq_households_code"),
        sa.ForeignKeyConstraint(["grid_code"], ["grids.code"], name="fk_households_grid_code_grids"),
        sa.CheckConstraint("member_count BETWEEN 1 AND 20", name="ck_households_member_count"),
    )
    op.create_index("ix_households_grid_code", "households", ["grid_code"])
    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("id_card_last4", sa.String(4), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_residents"),
        sa.UniqueConstraint("household_id", "name", name="uq_residents_household_id_name"),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"], name="fk_residents_household_id_households",
                                ondelete="CASCADE"),
        sa.CheckConstraint(_in("role", RESIDENT_ROLES), name="ck_residents_role"),
        sa.CheckConstraint("id_card_last4 IS NULL OR length(id_card_last4) = 4", name="ck_residents_id_card_last4"),
    )
    op.create_index("ix_residents_household_id", "residents", ["household_id"])
    op.create_index("ix_residents_phone", "residents", ["phone"])
    op.create_table(
        "resident_channels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("bound_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_resident_channels"),
        sa.UniqueConstraint("channel", "sender_id", name="uq_resident_channels_channel_sender_id"),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name="fk_resident_channels_resident_id_residents",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_resident_channels_resident_id", "resident_channels", ["resident_id"])


def downgrade() -> None:
    op.drop_index("ix_resident_channels_resident_id", table_name="resident_channels")
    op.drop_table("resident_channels")
    op.drop_index("ix_residents_phone", table_name="residents")
    op.drop_index("ix_residents_household_id", table_name="residents")
    op.drop_table("residents")
    op.drop_index("ix_households_grid_code", table_name="households")
    op.drop_table("households")
    op.drop_index("ix_grids_worker_account_id", table_name="grids")
    op.drop_index("ix_grids_village_code", table_name="grids")
    op.drop_table("grids")
