"""Case domain: reference tables (townships, villages, units, categories), cases, case events, case sequences.

Hand-written to match workflow/models.py at the time (tests compare the migrated schema with the models). Types are
spelled out here instead of imported from models.py, so later model changes cannot rewrite history.

Revision ID: 0001_case_domain
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_case_domain"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)

CASE_STATUSES = (
    "reported",
    "accepted",
    "assigned",
    "in_progress",
    "resolved",
    "closed",
    "returned",
    "rejected",
    "reopened",
)
MATTER_TYPES = ("emergency", "policy_consultation", "public_service", "other")
ACTOR_ROLES = ("resident", "bot", "dispatcher", "unit", "system")
UNIT_LEVELS = ("county", "township", "enterprise")
TOWNSHIP_KINDS = ("镇", "乡")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "townships",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("aliases", JSON, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_townships"),
        sa.UniqueConstraint("name", name="uq_townships_name"),
        sa.CheckConstraint(_in("kind", TOWNSHIP_KINDS), name="ck_townships_kind"),
    )
    op.create_table(
        "villages",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("township_code", sa.String(64), nullable=False),
        sa.Column("aliases", JSON, nullable=False),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_villages"),
        sa.ForeignKeyConstraint(
            ["township_code"], ["townships.code"], name="fk_villages_township_code_townships"
        ),
    )
    op.create_index("ix_villages_township_code", "villages", ["township_code"])
    op.create_table(
        "units",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("township_code", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_units"),
        sa.ForeignKeyConstraint(["township_code"], ["townships.code"], name="fk_units_township_code_townships"),
        sa.CheckConstraint(_in("level", UNIT_LEVELS), name="ck_units_level"),
    )
    op.create_index("ix_units_township_code", "units", ["township_code"])
    op.create_table(
        "categories",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("lead_unit_code", sa.String(64), nullable=False),
        sa.Column("cooperating", JSON, nullable=False),
        sa.Column("typical_matters", JSON, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_categories"),
        sa.UniqueConstraint("name", name="uq_categories_name"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("category_code", sa.String(64), nullable=True),
        sa.Column("suggested_category_code", sa.String(64), nullable=True),
        sa.Column("category_confidence", sa.Float(), nullable=True),
        sa.Column("category_ranking", JSON, nullable=False),
        sa.Column("matter_type", sa.String(32), nullable=False),
        sa.Column("importance_level", sa.Integer(), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("township_code", sa.String(64), nullable=False),
        sa.Column("village_code", sa.String(64), nullable=True),
        sa.Column("village_name", sa.String(128), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reporter_id", sa.String(128), nullable=False),
        sa.Column("reporter_phone", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("lead_unit_code", sa.String(64), nullable=False),
        sa.Column("cooperating_unit_codes", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("accepted_at", TIMESTAMP, nullable=True),
        sa.Column("deadline", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("case_id", name="uq_cases_case_id"),
        sa.ForeignKeyConstraint(["category_code"], ["categories.code"], name="fk_cases_category_code_categories"),
        sa.ForeignKeyConstraint(
            ["suggested_category_code"], ["categories.code"], name="fk_cases_suggested_category_code_categories"
        ),
        sa.ForeignKeyConstraint(["township_code"], ["townships.code"], name="fk_cases_township_code_townships"),
        sa.ForeignKeyConstraint(["village_code"], ["villages.code"], name="fk_cases_village_code_villages"),
        sa.ForeignKeyConstraint(["lead_unit_code"], ["units.code"], name="fk_cases_lead_unit_code_units"),
        sa.CheckConstraint(_in("status", CASE_STATUSES), name="ck_cases_status"),
        sa.CheckConstraint(_in("matter_type", MATTER_TYPES), name="ck_cases_matter_type"),
        sa.CheckConstraint(
            "importance_level IS NULL OR importance_level BETWEEN 1 AND 3", name="ck_cases_importance_level"
        ),
    )
    op.create_index("ix_cases_reporter_id", "cases", ["reporter_id"])
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_category_code", "cases", ["category_code"])
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_pk", sa.Integer(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
        sa.ForeignKeyConstraint(
            ["case_pk"], ["cases.id"], name="fk_case_events_case_pk_cases", ondelete="CASCADE"
        ),
        sa.CheckConstraint(_in("actor_role", ACTOR_ROLES), name="ck_case_events_actor_role"),
    )
    op.create_index("ix_case_events_case_pk", "case_events", ["case_pk"])
    op.create_table(
        "case_sequences",
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_case_sequences"),
    )


def downgrade() -> None:
    op.drop_table("case_sequences")
    op.drop_index("ix_case_events_case_pk", table_name="case_events")
    op.drop_table("case_events")
    for index in ("ix_cases_created_at", "ix_cases_category_code", "ix_cases_status", "ix_cases_reporter_id"):
        op.drop_index(index, table_name="cases")
    op.drop_table("cases")
    op.drop_table("categories")
    op.drop_index("ix_units_township_code", table_name="units")
    op.drop_table("units")
    op.drop_index("ix_villages_township_code", table_name="villages")
    op.drop_table("villages")
    op.drop_table("townships")
