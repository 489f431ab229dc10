"""Sensors and traceability (issue 7 parts 3 and 5): plots, growers, sensor devices and readings, field alerts,
growers' broadcasts, trace batches and their events; the ``sensor`` API token role.

- ``plots``, ``growers``, ``plot_growers``, ``sensor_devices``, ``sensor_readings`` (unique per device, kind,
  series, measured_at: a batch sent twice stores nothing twice), ``field_alerts`` (unique per rule, plot and
  Asia/Shanghai day: a rule fires at most once per plot per day, race-safe), ``grower_broadcasts`` (unique
  ``request_id``): :mod:`workflow.sensor_models`.
- ``trace_batches`` (unique ``code``), ``trace_events``: :mod:`workflow.trace_models`.
- ``api_tokens.role`` accepts ``sensor`` (its CHECK is replaced: batch mode on SQLite; nothing references
  ``api_tokens``, so the copy cascades to nothing).

New tables, so their CHECK constraints are created with them. Constraint names are passed bare (``kind``), as the
naming convention of :mod:`workflow.models` prefixes them.

Revision ID: 0010_sensors_traceability
Revises: 0009_grid_work
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_sensors_traceability"
down_revision = "0009_grid_work"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
CROPS = ("honeysuckle",)
GROWTH_STAGES = ("休眠期", "萌芽期", "现蕾期", "花期", "采收后")
DEVICE_KINDS = ("weather_station", "soil_probe", "pest_trap", "camera")
READING_KINDS = ("air_temperature", "humidity", "rainfall", "soil_moisture", "pest_count", "snapshot")
TRACE_EVENT_KINDS = ("planting", "fertilising", "spraying", "harvest", "drying", "processing", "packaging", "sale")
OLD_TOKEN_ROLES = ("dispatcher", "unit", "admin")
TOKEN_ROLES = (*OLD_TOKEN_ROLES, "sensor")
# What 0004 created (its name came out doubled by the naming convention).
OLD_TOKEN_ROLE_CHECK = "ck_api_tokens_ck_api_tokens_role"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace_check(table: str, old: str, new: str, condition: str) -> None:
    """Replace a CHECK: ``old`` is the stored name (taken as is), ``new`` a bare name or an ``op.f`` one."""
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(old), type_="check")
        batch.create_check_constraint(new, condition)


def upgrade() -> None:
    op.create_table(
        "plots",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("township_code", sa.String(64), nullable=False),
        sa.Column("village_code", sa.String(64), nullable=True),
        sa.Column("crop", sa.String(32), nullable=False),
        sa.Column("growth_stage", sa.String(16), nullable=False),
        sa.Column("area_mu", sa.Float(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_plots")),
        sa.ForeignKeyConstraint(["township_code"], ["townships.code"], name=op.f("fk_plots_township_code_townships")),
        sa.ForeignKeyConstraint(["village_code"], ["villages.code"], name=op.f("fk_plots_village_code_villages")),
        sa.CheckConstraint(_in("crop", CROPS), name="crop"),
        sa.CheckConstraint(_in("growth_stage", GROWTH_STAGES), name="growth_stage"),
        sa.CheckConstraint("area_mu IS NULL OR area_mu > 0", name="area_mu"),
    )
    op.create_index("ix_plots_township_code", "plots", ["township_code"])
    op.create_table(
        "growers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("village_code", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("sender_id", sa.String(255), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growers")),
        sa.UniqueConstraint("channel", "sender_id", name=op.f("uq_growers_channel_sender_id")),
        sa.ForeignKeyConstraint(["village_code"], ["villages.code"], name=op.f("fk_growers_village_code_villages")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name=op.f("fk_growers_resident_id_residents"),
                                ondelete="SET NULL"),
        sa.CheckConstraint("(channel IS NULL) = (sender_id IS NULL)", name="chat"),
        sa.CheckConstraint("sender_id IS NOT NULL OR resident_id IS NOT NULL", name="reachable"),
    )
    op.create_index("ix_growers_resident_id", "growers", ["resident_id"])
    op.create_table(
        "plot_growers",
        sa.Column("plot_code", sa.String(64), nullable=False),
        sa.Column("grower_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("plot_code", "grower_id", name=op.f("pk_plot_growers")),
        sa.ForeignKeyConstraint(["plot_code"], ["plots.code"], name=op.f("fk_plot_growers_plot_code_plots"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["grower_id"], ["growers.id"], name=op.f("fk_plot_growers_grower_id_growers"),
                                ondelete="CASCADE"),
    )
    op.create_index("ix_plot_growers_grower_id", "plot_growers", ["grower_id"])
    op.create_table(
        "sensor_devices",
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("plot_code", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_sensor_devices")),
        sa.ForeignKeyConstraint(["plot_code"], ["plots.code"], name=op.f("fk_sensor_devices_plot_code_plots")),
        sa.CheckConstraint(_in("kind", DEVICE_KINDS), name="kind"),
    )
    op.create_index("ix_sensor_devices_plot_code", "sensor_devices", ["plot_code"])
    op.create_table(
        "sensor_readings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("plot_code", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("series", sa.String(32), nullable=False),
        sa.Column("measured_at", TIMESTAMP, nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(16), nullable=True),
        sa.Column("depth_cm", sa.Integer(), nullable=True),
        sa.Column("species", sa.String(32), nullable=True),
        sa.Column("ref", sa.Text(), nullable=True),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_readings")),
        sa.UniqueConstraint("device_id", "kind", "series", "measured_at",
                            name=op.f("uq_sensor_readings_device_id_kind_series_measured_at")),
        sa.ForeignKeyConstraint(["device_id"], ["sensor_devices.device_id"],
                                name=op.f("fk_sensor_readings_device_id_sensor_devices")),
        sa.ForeignKeyConstraint(["plot_code"], ["plots.code"], name=op.f("fk_sensor_readings_plot_code_plots")),
        sa.CheckConstraint(_in("kind", READING_KINDS), name="kind"),
    )
    op.create_index("ix_sensor_readings_plot_code_kind_series_measured_at", "sensor_readings",
                    ["plot_code", "kind", "series", "measured_at"])
    op.create_table(
        "field_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("plot_code", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_alerts")),
        sa.UniqueConstraint("rule_id", "plot_code", "day", name=op.f("uq_field_alerts_rule_id_plot_code_day")),
        sa.ForeignKeyConstraint(["plot_code"], ["plots.code"], name=op.f("fk_field_alerts_plot_code_plots"),
                                ondelete="CASCADE"),
    )
    op.create_table(
        "grower_broadcasts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("township_code", sa.String(64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_by", sa.String(128), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grower_broadcasts")),
        sa.UniqueConstraint("request_id", name=op.f("uq_grower_broadcasts_request_id")),
        sa.ForeignKeyConstraint(["township_code"], ["townships.code"],
                                name=op.f("fk_grower_broadcasts_township_code_townships")),
    )
    op.create_table(
        "trace_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("plot_code", sa.String(64), nullable=False),
        sa.Column("grower_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_batches")),
        sa.UniqueConstraint("code", name=op.f("uq_trace_batches_code")),
        sa.ForeignKeyConstraint(["plot_code"], ["plots.code"], name=op.f("fk_trace_batches_plot_code_plots")),
        sa.ForeignKeyConstraint(["grower_id"], ["growers.id"], name=op.f("fk_trace_batches_grower_id_growers")),
    )
    op.create_index("ix_trace_batches_plot_code", "trace_batches", ["plot_code"])
    op.create_table(
        "trace_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("place", sa.String(128), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("phi_override", sa.Boolean(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_events")),
        sa.ForeignKeyConstraint(["batch_id"], ["trace_batches.id"], name=op.f("fk_trace_events_batch_id_trace_batches"),
                                ondelete="CASCADE"),
        sa.CheckConstraint(_in("kind", TRACE_EVENT_KINDS), name="kind"),
        sa.CheckConstraint("phi_override = false OR override_reason IS NOT NULL", name="override_reason"),
    )
    op.create_index("ix_trace_events_batch_id_occurred_at", "trace_events", ["batch_id", "occurred_at"])

    _replace_check("api_tokens", OLD_TOKEN_ROLE_CHECK, "role", _in("role", TOKEN_ROLES))


def downgrade() -> None:
    op.execute("DELETE FROM api_tokens WHERE role = 'sensor'")
    _replace_check("api_tokens", "ck_api_tokens_role", op.f(OLD_TOKEN_ROLE_CHECK), _in("role", OLD_TOKEN_ROLES))
    op.drop_index("ix_trace_events_batch_id_occurred_at", table_name="trace_events")
    op.drop_table("trace_events")
    op.drop_index("ix_trace_batches_plot_code", table_name="trace_batches")
    op.drop_table("trace_batches")
    op.drop_table("grower_broadcasts")
    op.drop_table("field_alerts")
    op.drop_index("ix_sensor_readings_plot_code_kind_series_measured_at", table_name="sensor_readings")
    op.drop_table("sensor_readings")
    op.drop_index("ix_sensor_devices_plot_code", table_name="sensor_devices")
    op.drop_table("sensor_devices")
    op.drop_index("ix_plot_growers_grower_id", table_name="plot_growers")
    op.drop_table("plot_growers")
    op.drop_index("ix_growers_resident_id", table_name="growers")
    op.drop_table("growers")
    op.drop_index("ix_plots_township_code", table_name="plots")
    op.drop_table("plots")
