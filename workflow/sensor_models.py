"""Database tables of farms and field sensors (issue 7 part 3, migration ``0010_sensors_traceability``): same ``Base``
as :mod:`workflow.models`, which imports this module at its end.

- ``plots``: a grower's field (地块) — ``code`` (the county's stable id), name, township and village, crop (only
  ``honeysuckle`` 金银花 for now), growth stage (:data:`GROWTH_STAGES`), area in mu (亩).
- ``growers``: a person who farms plots — a display name (the only personal data shown publicly, on trace pages),
  the village, and how to reach them: a chat (``channel`` + ``sender_id`` as the bot sees them) and/or a resident
  (``resident_id``, whose ``resident_channels`` are their chats). Unique per (channel, sender id).
- ``plot_growers``: which growers farm which plots (many to many).
- ``sensor_devices``: a device in a plot (:data:`DEVICE_KINDS`); an inactive one's readings are refused.
- ``sensor_readings``: one measurement. ``series`` tells the readings of one kind in one plot apart: the depth for
  soil moisture (``20cm``), the species for pest counts (``蚜虫``), empty otherwise; unique per (device, kind,
  series, measured_at), so a batch sent twice stores nothing twice. ``value`` is NULL only for a snapshot (whose
  ``ref`` is the picture's URL).
- ``field_alerts``: one row per advice pushed — unique per (rule, plot, Asia/Shanghai day): a rule fires at most
  once per plot per day, also when two ingestions race (the loser's insert fails and it sends nothing).
- ``grower_broadcasts``: an administrator's guidance to all growers or one township's; unique ``request_id`` so a
  retried request sends nothing twice.

Rules: :mod:`workflow.farms`, :mod:`workflow.sensors`, :mod:`workflow.sensor_rules`, :mod:`workflow.broadcasts`.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from workflow.models import Base, JSONType, UTCDateTime

CROPS = ("honeysuckle",)
#: Growth stages of honeysuckle (金银花) as growers name them, in the order of a season.
GROWTH_STAGES = ("休眠期", "萌芽期", "现蕾期", "花期", "采收后")
DEVICE_KINDS = ("weather_station", "soil_probe", "pest_trap", "camera")
READING_KINDS = ("air_temperature", "humidity", "rainfall", "soil_moisture", "pest_count", "snapshot")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Plot(Base):
    """A field (地块) of honeysuckle; ``area_mu`` in mu (1 亩 ≈ 666.7 m²)."""

    __tablename__ = "plots"
    __table_args__ = (
        CheckConstraint(_in("crop", CROPS), name="crop"),
        CheckConstraint(_in("growth_stage", GROWTH_STAGES), name="growth_stage"),
        CheckConstraint("area_mu IS NULL OR area_mu > 0", name="area_mu"),
        Index("ix_plots_township_code", "township_code"),
    )

    code = Column(String(64), primary_key=True)
    name = Column(String(128), nullable=False)
    township_code = Column(String(64), ForeignKey("townships.code"), nullable=False)
    village_code = Column(String(64), ForeignKey("villages.code"), nullable=True)
    crop = Column(String(32), nullable=False, default="honeysuckle")
    growth_stage = Column(String(16), nullable=False)
    area_mu = Column(Float, nullable=True)
    created_at = Column(UTCDateTime, nullable=False)

    growers = relationship("Grower", secondary="plot_growers", back_populates="plots", order_by="Grower.id")
    devices = relationship("SensorDevice", back_populates="plot", order_by="SensorDevice.device_id")


class Grower(Base):
    """A grower: display name, village, and their chat (``channel`` + ``sender_id``) and/or resident record."""

    __tablename__ = "growers"
    __table_args__ = (
        UniqueConstraint("channel", "sender_id"),
        CheckConstraint("(channel IS NULL) = (sender_id IS NULL)", name="chat"),
        CheckConstraint("sender_id IS NOT NULL OR resident_id IS NOT NULL", name="reachable"),
        Index("ix_growers_resident_id", "resident_id"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    display_name = Column(String(64), nullable=False)
    village_code = Column(String(64), ForeignKey("villages.code"), nullable=True)
    channel = Column(String(32), nullable=True)
    sender_id = Column(String(255), nullable=True)
    resident_id = Column(Integer, ForeignKey("residents.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False)

    plots = relationship("Plot", secondary="plot_growers", back_populates="growers", order_by="Plot.code")


class PlotGrower(Base):
    """That a grower farms a plot."""

    __tablename__ = "plot_growers"
    __table_args__ = (Index("ix_plot_growers_grower_id", "grower_id"),)

    plot_code = Column(String(64), ForeignKey("plots.code", ondelete="CASCADE"), primary_key=True)
    grower_id = Column(Integer, ForeignKey("growers.id", ondelete="CASCADE"), primary_key=True)


class SensorDevice(Base):
    """A weather station, soil probe, pest trap or camera in a plot; ``device_id`` is the id the device sends."""

    __tablename__ = "sensor_devices"
    __table_args__ = (
        CheckConstraint(_in("kind", DEVICE_KINDS), name="kind"),
        Index("ix_sensor_devices_plot_code", "plot_code"),
    )

    device_id = Column(String(64), primary_key=True)
    plot_code = Column(String(64), ForeignKey("plots.code"), nullable=False)
    kind = Column(String(32), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False)

    plot = relationship("Plot", back_populates="devices")


class SensorReading(Base):
    """One measurement: ``value`` in ``unit`` (°C, %, mm, count), NULL only for a snapshot (``ref`` its URL)."""

    __tablename__ = "sensor_readings"
    __table_args__ = (
        CheckConstraint(_in("kind", READING_KINDS), name="kind"),
        UniqueConstraint("device_id", "kind", "series", "measured_at"),
        Index("ix_sensor_readings_plot_code_kind_series_measured_at", "plot_code", "kind", "series", "measured_at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    device_id = Column(String(64), ForeignKey("sensor_devices.device_id"), nullable=False)
    plot_code = Column(String(64), ForeignKey("plots.code"), nullable=False)
    kind = Column(String(32), nullable=False)
    series = Column(String(32), nullable=False, default="")
    measured_at = Column(UTCDateTime, nullable=False)
    value = Column(Float, nullable=True)
    unit = Column(String(16), nullable=True)
    depth_cm = Column(Integer, nullable=True)
    species = Column(String(32), nullable=True)
    ref = Column(Text, nullable=True)
    received_at = Column(UTCDateTime, nullable=False)


class FieldAlert(Base):
    """Advice of rule ``rule_id`` pushed to a plot's growers on ``day`` (Asia/Shanghai): at most one per day."""

    __tablename__ = "field_alerts"
    __table_args__ = (UniqueConstraint("rule_id", "plot_code", "day"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    rule_id = Column(String(64), nullable=False)
    plot_code = Column(String(64), ForeignKey("plots.code", ondelete="CASCADE"), nullable=False)
    day = Column(Date, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    value = Column(Float, nullable=True)
    text = Column(Text, nullable=False)
    recipients = Column(Integer, nullable=False, default=0)


class GrowerBroadcast(Base):
    """An administrator's guidance to all growers (``township_code`` NULL) or one township's."""

    __tablename__ = "grower_broadcasts"
    __table_args__ = (UniqueConstraint("request_id"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    request_id = Column(String(64), nullable=False)
    township_code = Column(String(64), ForeignKey("townships.code"), nullable=True)
    text = Column(Text, nullable=False)
    sent_by = Column(String(128), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    recipients = Column(JSONType, nullable=False, default=list)
