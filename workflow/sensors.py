"""Field-sensor readings (issue 7 part 3): ingestion with validation, the latest readings of a plot, the bot's answer
to "我家地的墒情怎么样", and the threshold rules' alerts.

**Ingestion** (:meth:`SensorService.ingest`, ``POST /api/sensors/readings``) takes a batch of readings; each is
validated on its own, so a bad reading never drops the good ones: the result lists how many were accepted, how many
were already stored (a batch sent twice stores nothing twice), and each rejected one's index and reason in Chinese
and English. A reading (:data:`READING_SPECS`):

- ``device_id``: a registered, active device whose kind measures this kind of reading;
- ``measured_at``: ISO 8601 with a UTC offset, not more than 5 minutes in the future (clock skew) nor older than 30
  days;
- ``kind`` and ``value`` in ``unit``: ``air_temperature`` −40…60 °C (``℃`` is accepted for ``°C``), ``humidity``
  0–100 %, ``rainfall`` 0–500 mm per reading, ``soil_moisture`` 0–100 % with ``depth_cm`` 0–200 (whole cm),
  ``pest_count`` a whole count ≥ 0 (``unit`` ``count``) with a ``species`` from ``data/sensors/rules.yml``,
  ``snapshot`` with ``ref`` (an http(s) URL of the picture) and no value. Values are JSON numbers (not strings),
  finite. Unknown fields are refused (a misspelt ``depth`` would otherwise lose the depth).

The same device, kind, depth/species and instant is one reading: sent again with the same value it counts as a
duplicate (accepted, not stored twice); with another value it is rejected (``conflicting_duplicate``).

**Rules** (:mod:`workflow.sensor_rules`) are evaluated in the same transaction, for readings of the current
Asia/Shanghai day only (older readings, e.g. a gateway's backlog, are stored but do not alert: their advice would be
stale). For each (plot, kind, series) touched, a rule that applies in the plot's growth stage is checked against
the latest reading of the day (``aggregate: reading``) or the plot's total of the day over all its devices
(``day_total``: each reading counts the rain or insects since the device's previous reading). A holding rule
inserts one ``field_alerts`` row per (rule, plot, day) — unique, so it fires at most once per day, also when two
ingestions race (the loser's insert fails in a savepoint and it sends nothing) — and enqueues the advice to each of
the plot's growers' chats in the notifications outbox (:func:`workflow.notifications.enqueue`, kind
``field_alert``, role ``resident``), which the deliverer sends through the bot.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workflow.cases import Clock, utc_now
from workflow.farms import PlotView, get_plot, grower_chats, growers_of_plot, plots_of_sender
from workflow.field_errors import InvalidFieldData
from workflow.notifications import NotificationKind, Recipient, enqueue
from workflow.pesticides import load_pesticides
from workflow.sensor_models import FieldAlert, Plot, SensorDevice, SensorReading
from workflow.sensor_rules import Rule, SensorConfig, load_sensor_config, series_of
from workflow.settings import TIMEZONE

_TZ = ZoneInfo(TIMEZONE)
#: Most readings in one batch.
MAX_BATCH = 1000
#: How far in the future a reading may be stamped (device clocks drift).
MAX_FUTURE = dt.timedelta(minutes=5)
#: How old a reading may be.
MAX_AGE = dt.timedelta(days=30)
#: Readings older than this are called out as stale in the bot's answer.
STALE_AFTER = dt.timedelta(hours=24)
_MAX_REF = 2000
_FIELDS = frozenset({"device_id", "measured_at", "kind", "value", "unit", "depth_cm", "species", "ref"})


@dataclass(frozen=True)
class ReadingSpec:
    """What a kind of reading must look like: its unit, value range (inclusive) and which devices measure it."""

    unit: str | None
    low: float | None
    high: float | None
    devices: tuple[str, ...]
    label: str


#: The kinds of reading, their units (°C, %, mm, count), ranges and the device kinds that send them.
READING_SPECS: Mapping[str, ReadingSpec] = {
    "air_temperature": ReadingSpec("°C", -40, 60, ("weather_station",), "气温"),
    "humidity": ReadingSpec("%", 0, 100, ("weather_station",), "空气湿度"),
    "rainfall": ReadingSpec("mm", 0, 500, ("weather_station",), "降雨"),
    "soil_moisture": ReadingSpec("%", 0, 100, ("soil_probe",), "土壤含水量"),
    "pest_count": ReadingSpec("count", 0, None, ("pest_trap",), "虫情"),
    "snapshot": ReadingSpec(None, None, None, ("camera", "pest_trap"), "田间照片"),
}
_UNIT_ALIASES = {"℃": "°C"}


@dataclass(frozen=True)
class RejectedReading:
    """A reading that was not stored: its position in the batch (from 0), why (a code, Chinese and English)."""

    index: int
    code: str
    reason_zh: str
    reason_en: str
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {"index": self.index, "code": self.code, "field": self.field, "reason_zh": self.reason_zh,
                "reason_en": self.reason_en}


@dataclass(frozen=True)
class AlertView:
    """An advice pushed: rule, plot, Asia/Shanghai day, the value that triggered it, the text, chats reached."""

    rule_id: str
    plot_code: str
    day: dt.date
    value: float
    text: str
    recipients: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (``day`` as ``YYYY-MM-DD``)."""
        return {"rule_id": self.rule_id, "plot_code": self.plot_code, "day": self.day.isoformat(),
                "value": self.value, "text": self.text, "recipients": self.recipients}


@dataclass(frozen=True)
class IngestResult:
    """What happened to a batch: counts of stored and duplicate readings, the rejected ones, the alerts sent."""

    received: int
    accepted: int
    duplicates: int
    rejected: tuple[RejectedReading, ...] = ()
    alerts: tuple[AlertView, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {"received": self.received, "accepted": self.accepted, "duplicates": self.duplicates,
                "rejected": [r.to_dict() for r in self.rejected], "alerts": [a.to_dict() for a in self.alerts]}


@dataclass(frozen=True)
class LatestReading:
    """A plot's latest reading of one kind and series (depth or species); ``value`` None for a snapshot."""

    kind: str
    series: str
    value: float | None
    unit: str | None
    measured_at: dt.datetime
    device_id: str
    depth_cm: int | None = None
    species: str | None = None
    ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (``measured_at`` ISO 8601 with offset)."""
        values = dict(self.__dict__)
        values["measured_at"] = self.measured_at.isoformat()
        return values


@dataclass(frozen=True)
class _Valid:
    index: int
    device_id: str
    kind: str
    measured_at: dt.datetime
    value: float | None
    unit: str | None
    depth_cm: int | None
    species: str | None
    ref: str | None
    series: str = field(default="")


class SensorService:
    """Ingests readings, evaluates the rules, answers questions about a plot's readings.

    Args:
        session_factory: Over a database migrated to ``0010_sensors_traceability``.
        config: The rules and pest species (:func:`workflow.sensor_rules.load_sensor_config`).
        clock: Returns the current aware time; default :func:`workflow.cases.utc_now`.
    """

    def __init__(self, session_factory: sessionmaker, config: SensorConfig, clock: Clock | None = None) -> None:
        self._session_factory = session_factory
        self._config = config
        self._clock = clock or utc_now

    @classmethod
    def from_data_dir(cls, session_factory: sessionmaker, data_dir: Path | str,
                      clock: Clock | None = None) -> SensorService:
        """Built from ``data/sensors/rules.yml`` and ``data/trace/pesticides.yml`` (validated; raises
        :class:`workflow.field_errors.FieldDataFileError` on a bad file)."""
        return cls(session_factory, load_sensor_config(data_dir, load_pesticides(data_dir)), clock)

    @property
    def config(self) -> SensorConfig:
        """The rules and pest species in use."""
        return self._config

    # ------------------------------------------------------------------ ingestion
    def ingest(self, readings: Any) -> IngestResult:
        """Store a batch of readings, reject the bad ones one by one, and push the alerts they trigger.

        Args:
            readings: A list of reading objects (see the module docstring), at most :data:`MAX_BATCH`.

        Returns:
            The counts, the rejected readings and the alerts sent.

        Raises:
            InvalidFieldData: ``readings`` is not a list, is empty or holds more than :data:`MAX_BATCH` (the whole
                batch is refused; nothing is stored).
        """
        if not isinstance(readings, list) or not readings:
            raise InvalidFieldData("readings must be a non-empty list", field="readings")
        if len(readings) > MAX_BATCH:
            raise InvalidFieldData(f"at most {MAX_BATCH} readings per batch, got {len(readings)}",
                                   field="readings", value=len(readings))
        now = self._now()
        rejected: list[RejectedReading] = []
        valid: list[_Valid] = []
        for index, raw in enumerate(readings):
            outcome = _validate(index, raw, now, self._config.pest_species)
            (rejected if isinstance(outcome, RejectedReading) else valid).append(outcome)
        accepted = duplicates = 0
        touched: dict[tuple[str, str, str], None] = {}
        with self._session_factory.begin() as session:
            ids = sorted({reading.device_id for reading in valid})
            devices = {d.device_id: d for d in session.execute(
                select(SensorDevice).where(SensorDevice.device_id.in_(ids))).scalars()} if ids else {}
            for reading in valid:
                problem = _device_problem(reading, devices.get(reading.device_id))
                if problem is not None:
                    rejected.append(problem)
                    continue
                device = devices[reading.device_id]
                outcome = self._store(session, reading, device.plot_code, now)
                if isinstance(outcome, RejectedReading):
                    rejected.append(outcome)
                elif outcome:
                    accepted += 1
                    if reading.measured_at.astimezone(_TZ).date() == now.astimezone(_TZ).date():
                        touched[(device.plot_code, reading.kind, reading.series)] = None
                else:
                    duplicates += 1
            alerts = self._evaluate(session, list(touched), now)
        rejected.sort(key=lambda r: r.index)
        return IngestResult(received=len(readings), accepted=accepted, duplicates=duplicates,
                            rejected=tuple(rejected), alerts=tuple(alerts))

    def _store(self, session: Session, reading: _Valid, plot_code: str, now: dt.datetime) -> bool | RejectedReading:
        """True when stored, False when the same reading was already there, a rejection when it conflicts."""
        for _ in range(2):
            existing = session.execute(select(SensorReading).where(
                SensorReading.device_id == reading.device_id, SensorReading.kind == reading.kind,
                SensorReading.series == reading.series, SensorReading.measured_at == reading.measured_at,
            )).scalar_one_or_none()
            if existing is not None:
                if existing.value == reading.value and existing.ref == reading.ref:
                    return False
                return _reject(reading.index, "conflicting_duplicate", "measured_at",
                               f"该设备在同一时刻已有不同读数（{existing.value if existing.value is not None else existing.ref}）",
                               "the device already sent a different value for this instant "
                               f"({existing.value if existing.value is not None else existing.ref})")
            row = SensorReading(device_id=reading.device_id, plot_code=plot_code, kind=reading.kind,
                                series=reading.series, measured_at=reading.measured_at, value=reading.value,
                                unit=reading.unit, depth_cm=reading.depth_cm, species=reading.species,
                                ref=reading.ref, received_at=now)
            try:
                with session.begin_nested():
                    session.add(row)
                return True
            except IntegrityError:  # a concurrent batch stored the same reading: look again
                continue
        return False

    # ------------------------------------------------------------------ rules
    def _evaluate(self, session: Session, touched: Sequence[tuple[str, str, str]], now: dt.datetime
                  ) -> list[AlertView]:
        day = now.astimezone(_TZ).date()
        start = dt.datetime.combine(day, dt.time(0), _TZ).astimezone(dt.timezone.utc)
        end = start + dt.timedelta(days=1)
        alerts: list[AlertView] = []
        for plot_code, kind, series in touched:
            plot = session.get(Plot, plot_code)
            for rule in self._config.rules:
                if not rule.applies(kind, series, plot.growth_stage):
                    continue
                value = _rule_value(session, rule, plot_code, start, end)
                if value is None or not rule.holds(value):
                    continue
                alert = _fire(session, rule, plot, day, value, now)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    # ------------------------------------------------------------------ reading
    def latest_readings(self, plot_code: str) -> list[LatestReading]:
        """The plot's latest reading per kind and series (depth, species), in :data:`READING_SPECS` order.

        Raises:
            workflow.farms.PlotNotFound: No such plot.
        """
        with self._session_factory() as session:
            get_plot(session, plot_code)
            return latest_readings(session, plot_code)

    def answer_for_sender(self, channel: str, sender_id: str, focus: str | None = None) -> str:
        """The bot's answer (Chinese) about the latest readings of the sender's plots ("我家地的墒情怎么样").

        Args:
            channel, sender_id: The chat, as the bot sees it.
            focus: A kind (``soil_moisture`` for 墒情, ``pest_count`` for 虫情 …) to answer about only; None for
                every kind.

        Raises:
            InvalidFieldData: ``focus`` is not a reading kind.
        """
        if focus is not None and focus not in READING_SPECS:
            raise InvalidFieldData(f"unknown reading kind {focus!r}", field="focus", value=focus)
        now = self._now()
        with self._session_factory() as session:
            plots = plots_of_sender(session, channel, sender_id)
            if not plots:
                return NO_PLOTS_ZH
            answers = [readings_answer_zh(plot, latest_readings(session, plot.code), now, focus=focus,
                                          rules=self._config.rules) for plot in plots]
        return "\n\n".join(answers)

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"clock returned naive datetime {now.isoformat()}")
        return now.astimezone(dt.timezone.utc)


# ---------------------------------------------------------------------- latest readings and the bot's answer
NO_PLOTS_ZH = ("还没有查到您名下登记的地块。请联系村里或乡镇农业站登记地块和监测设备，"
               "登记后就可以问我“我家地的墒情怎么样”。")


def latest_readings(session: Session, plot_code: str) -> list[LatestReading]:
    """The plot's latest reading per (kind, series), in :data:`READING_SPECS` order, then by series."""
    newest = (select(SensorReading.kind, SensorReading.series,
                     func.max(SensorReading.measured_at).label("measured_at"))
              .where(SensorReading.plot_code == plot_code)
              .group_by(SensorReading.kind, SensorReading.series).subquery())
    rows = session.execute(
        select(SensorReading).join(newest, (SensorReading.kind == newest.c.kind)
                                   & (SensorReading.series == newest.c.series)
                                   & (SensorReading.measured_at == newest.c.measured_at))
        .where(SensorReading.plot_code == plot_code).order_by(SensorReading.id)
    ).scalars().all()
    chosen: dict[tuple[str, str], SensorReading] = {}
    for row in rows:  # two devices may share the instant: keep the last stored
        chosen[(row.kind, row.series)] = row
    order = list(READING_SPECS)
    result = [LatestReading(kind=r.kind, series=r.series, value=r.value, unit=r.unit, measured_at=r.measured_at,
                            device_id=r.device_id, depth_cm=r.depth_cm, species=r.species, ref=r.ref)
              for r in chosen.values()]
    return sorted(result, key=lambda r: (order.index(r.kind), r.depth_cm or 0, r.series))


def age_zh(then: dt.datetime, now: dt.datetime) -> str:
    """How long ago ``then`` was, in Chinese: 刚刚, 25 分钟前, 3 小时前, 2 天前."""
    seconds = max(0, (now - then).total_seconds())
    if seconds < 120:
        return "刚刚"
    if seconds < 3600:
        return f"{int(seconds // 60)} 分钟前"
    if seconds < 86400:
        return f"{int(seconds // 3600)} 小时前"
    return f"{int(seconds // 86400)} 天前"


def readings_answer_zh(plot: PlotView, readings: Sequence[LatestReading], now: dt.datetime, *,
                       focus: str | None = None, rules: Sequence[Rule] = ()) -> str:
    """A Chinese answer from a plot's latest readings, each with how old it is.

    Args:
        plot: The plot.
        readings: From :func:`latest_readings`.
        now: The current aware time (for the ages).
        focus: Only this kind (``soil_moisture`` …); None for all.
        rules: Threshold rules; a reading past an applicable ``reading`` rule's threshold is called out.

    Returns:
        E.g. ``您的地块「东地」（王虎寨镇东关村，花期）最新监测：\\n· 土壤含水量 20 厘米 14.5%（2 小时前）…``.
        Readings older than 24 hours are marked as not updated.
    """
    where = plot.township_name + (plot.village_name or "")
    head = f"您的地块「{plot.name}」（{where}，{plot.growth_stage}）"
    shown = [r for r in readings if focus is None or r.kind == focus]
    if not shown:
        what = READING_SPECS[focus].label if focus else "监测"
        return f"{head}还没有{what}数据。"
    lines = [f"{head}最新监测："]
    for reading in shown:
        spec = READING_SPECS[reading.kind]
        age = age_zh(reading.measured_at, now)
        if now - reading.measured_at > STALE_AFTER:
            age += "，已超过一天没有更新，设备可能有故障，请以实地查看为准"
        if reading.kind == "snapshot":
            lines.append(f"· {spec.label}：{reading.ref}（{age}）")
            continue
        value = _number(reading.value)
        if reading.kind == "soil_moisture":
            text = f"· {spec.label}：{reading.depth_cm} 厘米土层 {value}%"
        elif reading.kind == "pest_count":
            text = f"· {spec.label}：{reading.species} {value} 头（最近一次诱捕）"
        elif reading.kind == "rainfall":
            text = f"· {spec.label}：{value} 毫米（最近一次）"
        else:
            text = f"· {spec.label}：{value}{spec.unit}"
        for rule in rules:
            if rule.aggregate == "reading" and rule.applies(reading.kind, reading.series, plot.growth_stage) \
                    and rule.holds(reading.value):
                text += f"，{rule.name}（{'低于' if rule.direction == 'below' else '高于'} {_number(rule.threshold)}）"
        lines.append(f"{text}（{age}）")
    return "\n".join(lines)


# ---------------------------------------------------------------------- helpers
def _rule_value(session: Session, rule: Rule, plot_code: str, start: dt.datetime, end: dt.datetime
                ) -> float | None:
    window = (SensorReading.plot_code == plot_code, SensorReading.kind == rule.kind,
              SensorReading.series == rule.series, SensorReading.measured_at >= start,
              SensorReading.measured_at < end)
    if rule.aggregate == "day_total":
        return session.execute(select(func.sum(SensorReading.value)).where(*window)).scalar_one_or_none()
    return session.execute(select(SensorReading.value).where(*window)
                           .order_by(SensorReading.measured_at.desc(), SensorReading.id.desc()).limit(1)
                           ).scalar_one_or_none()


def _fire(session: Session, rule: Rule, plot: Plot, day: dt.date, value: float, now: dt.datetime
          ) -> AlertView | None:
    """Insert the day's alert of ``rule`` for ``plot`` and enqueue it to the growers; None when it already fired."""
    text = rule.message(plot.name, value)
    row = FieldAlert(rule_id=rule.id, plot_code=plot.code, day=day, created_at=now, value=value, text=text,
                     recipients=0)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # fired already today (possibly by a concurrent ingestion)
        return None
    chats = grower_chats(session, growers_of_plot(session, plot.code))
    for channel, sender_id in chats:
        enqueue(session, now=now, kind=NotificationKind.FIELD_ALERT, recipient_role=Recipient.RESIDENT,
                recipient_id=sender_id, channel=channel, text=text,
                data={"rule_id": rule.id, "plot_code": plot.code, "day": day.isoformat(), "value": value})
    row.recipients = len(chats)
    session.flush()
    return AlertView(rule.id, plot.code, day, value, text, len(chats))


def _reject(index: int, code: str, field_name: str | None, zh: str, en: str) -> RejectedReading:
    return RejectedReading(index=index, code=code, reason_zh=zh, reason_en=en, field=field_name)


def _device_problem(reading: _Valid, device: SensorDevice | None) -> RejectedReading | None:
    if device is None:
        return _reject(reading.index, "unknown_device", "device_id", f"未登记的设备 {reading.device_id}",
                       f"unknown device {reading.device_id!r}: register it first")
    if not device.active:
        return _reject(reading.index, "inactive_device", "device_id", f"设备 {reading.device_id} 已停用",
                       f"device {reading.device_id!r} is inactive")
    if device.kind not in READING_SPECS[reading.kind].devices:
        return _reject(reading.index, "kind_not_measured_by_device", "kind",
                       f"设备 {reading.device_id}（{device.kind}）不测量 {reading.kind}",
                       f"a {device.kind} does not measure {reading.kind}")
    return None


def _validate(index: int, raw: Any, now: dt.datetime, pest_species: Sequence[str]) -> _Valid | RejectedReading:
    """One reading checked on its own (shape, kind, unit, range, time); the device is checked later."""
    def reject(code: str, field_name: str | None, zh: str, en: str) -> RejectedReading:
        return _reject(index, code, field_name, zh, en)

    if not isinstance(raw, dict):
        return reject("not_an_object", None, "读数必须是 JSON 对象", "a reading must be a JSON object")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        return reject("unknown_field", unknown[0], f"未知字段 {', '.join(unknown)}",
                      f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}")
    for name in ("device_id", "measured_at", "kind"):
        if raw.get(name) is None or (isinstance(raw.get(name), str) and not raw[name].strip()):
            return reject("missing_field", name, f"缺少字段 {name}", f"missing field {name}")
    device_id = raw["device_id"]
    if not isinstance(device_id, str) or len(device_id.strip()) > 64:
        return reject("invalid_device_id", "device_id", "device_id 必须是不超过 64 个字符的字符串",
                      "device_id must be a string of at most 64 characters")
    kind = raw["kind"]
    spec = READING_SPECS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        return reject("unknown_kind", "kind", f"未知的读数类型 {kind!r}",
                      f"unknown kind {kind!r}; one of {', '.join(READING_SPECS)}")
    measured_at = _instant(raw["measured_at"])
    if measured_at is None:
        return reject("invalid_timestamp", "measured_at", "measured_at 必须是带时区的 ISO 8601 时间",
                      "measured_at must be ISO 8601 with a UTC offset, e.g. 2026-06-01T08:00:00+08:00")
    if measured_at > now + MAX_FUTURE:
        return reject("future_timestamp", "measured_at", "测量时间晚于当前时间 5 分钟以上（请检查设备时钟）",
                      "measured_at is more than 5 minutes in the future (check the device clock)")
    if measured_at < now - MAX_AGE:
        return reject("stale_timestamp", "measured_at", "测量时间早于 30 天前",
                      "measured_at is older than 30 days")
    depth_cm = raw.get("depth_cm")
    species = raw.get("species")
    ref = raw.get("ref")
    if kind == "soil_moisture":
        if isinstance(depth_cm, bool) or not isinstance(depth_cm, int) or not 0 <= depth_cm <= 200:
            return reject("invalid_depth", "depth_cm", "土壤含水量需要 depth_cm：0–200 之间的整数（厘米）",
                          "soil_moisture needs depth_cm, a whole number of centimetres from 0 to 200")
    elif depth_cm is not None:
        return reject("unexpected_field", "depth_cm", "只有土壤含水量才有 depth_cm",
                      "depth_cm is only for soil_moisture")
    if kind == "pest_count":
        if species not in pest_species:
            return reject("unknown_species", "species", f"未知的虫种 {species!r}（可选：{'、'.join(pest_species)}）",
                          f"pest_count needs a known species, got {species!r}")
    elif species is not None:
        return reject("unexpected_field", "species", "只有虫情计数才有 species", "species is only for pest_count")
    if kind == "snapshot":
        if raw.get("value") is not None or raw.get("unit") is not None:
            return reject("unexpected_field", "value", "照片不带数值和单位", "a snapshot has no value or unit")
        if not isinstance(ref, str) or len(ref) > _MAX_REF or urlsplit(ref).scheme not in ("http", "https") \
                or not urlsplit(ref).netloc:
            return reject("invalid_ref", "ref", "照片需要 ref：图片的 http(s) 地址",
                          "a snapshot needs ref, the picture's http(s) URL")
        return _Valid(index, device_id.strip(), kind, measured_at, None, None, None, None, ref, "")
    if ref is not None:
        return reject("unexpected_field", "ref", "只有照片才有 ref", "ref is only for snapshot")
    value = raw.get("value")
    if value is None:
        return reject("missing_field", "value", "缺少数值 value", "missing field value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return reject("non_numeric_value", "value", f"数值必须是数字，收到 {value!r}",
                      f"value must be a finite JSON number, got {value!r}")
    unit = raw.get("unit")
    unit = _UNIT_ALIASES.get(unit, unit) if isinstance(unit, str) else unit
    if unit != spec.unit:
        return reject("wrong_unit", "unit", f"{spec.label}的单位应为 {spec.unit}，收到 {raw.get('unit')!r}",
                      f"{kind} must be given in unit {spec.unit}, got unit {raw.get('unit')!r}")
    if kind == "pest_count" and (isinstance(value, float) and not value.is_integer()):
        return reject("out_of_range", "value", "虫情计数必须是整数", "pest_count must be a whole number")
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        high = f"{_number(spec.high)}" if spec.high is not None else "∞"
        return reject("out_of_range", "value",
                      f"{spec.label} {value} 超出范围 {_number(spec.low)}–{high} {spec.unit}",
                      f"{kind} {value} is outside {_number(spec.low)}–{high} {spec.unit}")
    series = series_of(kind, depth_cm, species)
    return _Valid(index, device_id.strip(), kind, measured_at, float(value), unit, depth_cm, species, None, series)


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed.astimezone(dt.timezone.utc)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"
