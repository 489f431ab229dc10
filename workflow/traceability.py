"""Traceability of honeysuckle batches (issue 7 part 5): trace codes, the chain of events, the pre-harvest interval.

**Trace codes** look like ``JYH-2026-7K3QX``: ``JYH`` (金银花), the year the batch was created (Asia/Shanghai), and
five characters from :data:`CODE_ALPHABET` — digits 2–9 and capitals without I, L and O, so nothing on a label can
be misread (0/O, 1/I/L). 31⁵ ≈ 28.6 million codes a year; drawn at random (``secrets``), unique in the database.
:func:`normalize_trace_code` reads what people type (lower case, blanks, full-width dashes, no dashes).

**Events** (:data:`workflow.trace_models.TRACE_EVENT_KINDS`): planting, fertilising, spraying, harvest, drying,
processing, packaging, sale — each with what (``what``), when (``occurred_at``, aware; not in the future), where
(``place``) and who (``actor``: shown publicly, so a display name or an organisation). Spraying also needs the
``product`` (a name or alias from ``data/trace/pesticides.yml``), the ``dose`` (a positive number) and its
``dose_unit`` (:data:`DOSE_UNITS`). The chain is in order of ``occurred_at``, ties in order of recording.

**Pre-harvest interval** (安全间隔期): a harvest on a day (Asia/Shanghai) before a spraying's day + the product's
interval is refused with :class:`PreHarvestIntervalViolation` (product, sprayed date, earliest harvest date), and so
is a spraying recorded later whose interval covers a harvest already on the chain. With ``override_phi=True`` and
an ``override_reason`` the event is recorded anyway and flagged (``phi_override``); the public chain shows the flag
and the reason. Source of the intervals: ``data/trace/pesticides.yml`` (sample data until the county's agriculture
bureau has checked it).

**Public view** (:meth:`Traceability.chain`, the page ``/trace/<code>``): the batch's plot (name, township,
village), the grower's display name and village, and the events — no chat ids, phone numbers or resident records.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workflow.cases import Clock, utc_now
from workflow.farms import GrowerNotFound, get_plot
from workflow.field_errors import FieldDataConflict, FieldDataNotFound, InvalidFieldData
from workflow.models import Township, Village
from workflow.pesticides import PesticideList
from workflow.sensor_models import Grower, PlotGrower
from workflow.settings import TIMEZONE
from workflow.trace_models import TRACE_EVENT_KINDS, TraceBatch, TraceEvent

_TZ = ZoneInfo(TIMEZONE)
CODE_PREFIX = "JYH"
#: Characters of a trace code's random part: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 5
_CODE = re.compile(rf"^{CODE_PREFIX}-(\d{{4}})-([{CODE_ALPHABET}]{{{CODE_LENGTH}}})$")
#: Units a spraying's dose may be given in (per mu of field, dilution ratio, per litre of spray).
DOSE_UNITS = ("mL/亩", "g/亩", "L/亩", "kg/亩", "倍液", "mL/L", "g/L")
#: Chinese names of the event kinds, as the chain shows them.
EVENT_LABELS = {"planting": "种植", "fertilising": "施肥", "spraying": "施药", "harvest": "采收", "drying": "干制",
                "processing": "加工", "packaging": "包装", "sale": "销售"}
MAX_FUTURE = dt.timedelta(minutes=5)
_MAX_TEXT = 500
_MAX_PLACE = 128
_MAX_ACTOR = 64


class TraceNotFound(FieldDataNotFound):
    """No batch has the trace code. Context: ``code`` (as given)."""

    code = "trace_not_found"


class PreHarvestIntervalViolation(FieldDataConflict):
    """A harvest inside a spraying's pre-harvest interval (or a spraying whose interval covers a recorded harvest).

    Context: ``product``, ``sprayed_on`` and ``earliest_harvest`` (``YYYY-MM-DD``, Asia/Shanghai), ``phi_days``,
    ``harvest_on``. Record it anyway only with ``override_phi=True`` and a reason; the chain then shows it flagged.
    """

    code = "pre_harvest_interval_violation"

    @property
    def message_zh(self) -> str:
        """For staff and growers: 施用吡虫啉（2026-06-01）后安全间隔期 7 天，最早 2026-06-08 才能采收。"""
        c = self.context
        return (f"{c['sprayed_on']} 施用{c['product']}，安全间隔期 {c['phi_days']} 天，"
                f"最早 {c['earliest_harvest']} 才能采收（采收日 {c['harvest_on']}）。")


@dataclass(frozen=True)
class TraceEventView:
    """One event of a chain (public fields only)."""

    id: int
    kind: str
    label: str
    occurred_at: dt.datetime
    what: str
    place: str
    actor: str
    details: dict[str, Any]
    phi_override: bool
    override_reason: str | None

    @property
    def day(self) -> dt.date:
        """The event's date in Asia/Shanghai."""
        return self.occurred_at.astimezone(_TZ).date()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (``occurred_at`` ISO 8601 with offset, ``date`` in Asia/Shanghai)."""
        values = dict(self.__dict__)
        values["occurred_at"] = self.occurred_at.isoformat()
        values["date"] = self.day.isoformat()
        return values


@dataclass(frozen=True)
class TraceChain:
    """A batch and its events in order, as anyone with the trace code may see it."""

    code: str
    crop: str
    plot_name: str
    township_name: str
    village_name: str | None
    grower_name: str
    grower_village: str | None
    created_at: dt.datetime
    events: tuple[TraceEventView, ...]

    @property
    def flagged(self) -> bool:
        """True when an event was recorded inside a pre-harvest interval on purpose."""
        return any(event.phi_override for event in self.events)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {"code": self.code, "crop": self.crop, "plot_name": self.plot_name,
                "township_name": self.township_name, "village_name": self.village_name,
                "grower_name": self.grower_name, "grower_village": self.grower_village,
                "created_at": self.created_at.isoformat(), "flagged": self.flagged,
                "events": [event.to_dict() for event in self.events]}


def normalize_trace_code(text: Any) -> str | None:
    """``JYH-2026-7K3QX`` from what was typed (``jyh 2026 7k3qx``, ``JYH－2026－7K3QX``, ``JYH20267K3QX``), or None."""
    if not isinstance(text, str):
        return None
    compact = re.sub(r"[\s\-－—_]+", "", text.strip().upper())
    match = re.fullmatch(rf"{CODE_PREFIX}(\d{{4}})([{CODE_ALPHABET}]{{{CODE_LENGTH}}})", compact)
    return f"{CODE_PREFIX}-{match.group(1)}-{match.group(2)}" if match else None


def new_trace_code(year: int) -> str:
    """A random trace code of ``year`` (uniqueness is the database's: the caller retries on a collision)."""
    return f"{CODE_PREFIX}-{year:04d}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class Traceability:
    """Batches, their events and the public chain.

    Args:
        session_factory: Over a database migrated to ``0010_sensors_traceability``.
        pesticides: The pesticide list (:func:`workflow.pesticides.load_pesticides`).
        clock: Returns the current aware time; default :func:`workflow.cases.utc_now`.
    """

    def __init__(self, session_factory: sessionmaker, pesticides: PesticideList, clock: Clock | None = None) -> None:
        self._session_factory = session_factory
        self._pesticides = pesticides
        self._clock = clock or utc_now

    def create_batch(self, plot_code: str, grower_id: int, *, created_by: str) -> str:
        """Start a batch from a plot and one of its growers; returns its new trace code.

        Raises:
            workflow.farms.PlotNotFound: No such plot.
            GrowerNotFound: No such grower.
            InvalidFieldData: The grower does not farm that plot.
        """
        now = self._now()
        for _ in range(5):
            with self._session_factory.begin() as session:
                plot = get_plot(session, plot_code)
                grower = session.get(Grower, grower_id) if isinstance(grower_id, int) else None
                if grower is None:
                    raise GrowerNotFound(f"no grower {grower_id!r}", grower_id=grower_id)
                if session.get(PlotGrower, (plot.code, grower.id)) is None:
                    raise InvalidFieldData(f"grower {grower_id} does not farm plot {plot.code}", field="grower_id",
                                           value=grower_id)
                code = new_trace_code(now.astimezone(_TZ).year)
                try:
                    with session.begin_nested():
                        session.add(TraceBatch(code=code, plot_code=plot.code, grower_id=grower.id, created_at=now,
                                               created_by=created_by))
                except IntegrityError:  # the code was drawn before: draw again
                    continue
                return code
        raise RuntimeError("could not draw an unused trace code in 5 attempts")

    def record_event(self, code: str, kind: str, *, occurred_at: dt.datetime, what: str, place: str, actor: str,
                     recorded_by: str, product: str | None = None, dose: float | None = None,
                     dose_unit: str | None = None, quantity_kg: float | None = None, override_phi: bool = False,
                     override_reason: str | None = None) -> TraceEventView:
        """Add an event to a batch's chain.

        Args:
            code: The batch's trace code.
            kind: One of :data:`workflow.trace_models.TRACE_EVENT_KINDS`.
            occurred_at: When (aware), not more than 5 minutes in the future.
            what: What was done (``施用吡虫啉防治蚜虫``), 1–500 characters.
            place: Where (``刘家东地``, ``合作社烘干房``), 1–128 characters.
            actor: Who (display name or organisation, shown publicly), 1–64 characters.
            recorded_by: Who recorded it (the token's name), kept, not shown publicly.
            product, dose, dose_unit: Spraying only, all three required: a known pesticide, a positive dose, a unit
                of :data:`DOSE_UNITS`.
            quantity_kg: Harvest, drying, packaging or sale: the quantity in kg, positive (optional).
            override_phi: Record a harvest (or spraying) inside a pre-harvest interval anyway; needs
                ``override_reason``.
            override_reason: Why (e.g. ``检测合格，报告编号 …``), 1–500 characters.

        Raises:
            TraceNotFound: No batch has ``code``.
            InvalidFieldData: A field as above is missing or wrong (``field`` names it).
            workflow.pesticides.UnknownPesticide: The product is not in the pesticide list.
            PreHarvestIntervalViolation: Inside an interval, without an override.
        """
        now = self._now()
        if kind not in TRACE_EVENT_KINDS:
            raise InvalidFieldData(f"kind must be one of {', '.join(TRACE_EVENT_KINDS)}", field="kind", value=kind,
                                   allowed=list(TRACE_EVENT_KINDS))
        if not isinstance(occurred_at, dt.datetime) or occurred_at.tzinfo is None \
                or occurred_at.utcoffset() is None:
            raise InvalidFieldData("occurred_at must be an aware datetime", field="occurred_at")
        occurred_at = occurred_at.astimezone(dt.timezone.utc)
        if occurred_at > now + MAX_FUTURE:
            raise InvalidFieldData("occurred_at is in the future", field="occurred_at",
                                   value=occurred_at.isoformat())
        what = _text(what, "what", _MAX_TEXT)
        place = _text(place, "place", _MAX_PLACE)
        actor = _text(actor, "actor", _MAX_ACTOR)
        details: dict[str, Any] = {}
        if kind == "spraying":
            if product is None or dose is None or dose_unit is None:
                missing = next(n for n, v in (("product", product), ("dose", dose), ("dose_unit", dose_unit))
                               if v is None)
                raise InvalidFieldData("a spraying needs product, dose and dose_unit", field=missing)
            pesticide = self._pesticides.get(_text(product, "product", _MAX_PLACE))
            details.update(product=pesticide.name, dose=_positive(dose, "dose"), dose_unit=_unit(dose_unit),
                           phi_days=pesticide.phi_days)
        elif product is not None or dose is not None or dose_unit is not None:
            raise InvalidFieldData("product, dose and dose_unit are only for a spraying", field="product")
        if quantity_kg is not None:
            if kind not in ("harvest", "drying", "processing", "packaging", "sale"):
                raise InvalidFieldData("quantity_kg is not for this kind of event", field="quantity_kg")
            details["quantity_kg"] = _positive(quantity_kg, "quantity_kg")
        if not isinstance(override_phi, bool):
            raise InvalidFieldData("override_phi must be true or false", field="override_phi")
        reason = _text(override_reason, "override_reason", _MAX_TEXT) if override_phi else None
        with self._session_factory.begin() as session:
            batch = _batch(session, code)
            violation = None
            if kind in ("harvest", "spraying"):
                violation = self._violation(session, batch, kind, occurred_at, details)
            if violation is not None:
                if not override_phi:
                    raise violation
                details["phi_violation"] = dict(violation.context)
            row = TraceEvent(batch_id=batch.id, kind=kind, occurred_at=occurred_at, what=what, place=place,
                             actor=actor, details=details, phi_override=violation is not None,
                             override_reason=reason if violation is not None else None, recorded_at=now,
                             recorded_by=recorded_by)
            session.add(row)
            session.flush()
            return _event_view(row)

    def chain(self, code: str) -> TraceChain:
        """The public chain of the batch with ``code`` (typed loosely: see :func:`normalize_trace_code`).

        Raises:
            TraceNotFound: No batch has the code (or it is not a trace code at all).
        """
        with self._session_factory() as session:
            batch = _batch(session, code)
            plot = get_plot(session, batch.plot_code)
            grower = session.get(Grower, batch.grower_id)
            township = session.get(Township, plot.township_code)
            village = session.get(Village, plot.village_code) if plot.village_code else None
            grower_village = session.get(Village, grower.village_code) if grower.village_code else village
            events = session.execute(select(TraceEvent).where(TraceEvent.batch_id == batch.id)
                                     .order_by(TraceEvent.occurred_at, TraceEvent.id)).scalars()
            return TraceChain(code=batch.code, crop="金银花", plot_name=plot.name,
                              township_name=township.name if township else plot.township_code,
                              village_name=village.name if village else None, grower_name=grower.display_name,
                              grower_village=grower_village.name if grower_village else None,
                              created_at=batch.created_at, events=tuple(_event_view(e) for e in events))

    def trace_summary_zh(self, code: str) -> str:
        """The bot's answer to a trace code, in Chinese: where the batch comes from, who grew it, each step with its
        date, and any pre-harvest-interval flag; for an unknown code, how a code looks."""
        try:
            chain = self.chain(code)
        except TraceNotFound:
            return (f"没有查到溯源码“{str(code)[:40]}”。请核对包装标签上的编码（形如 JYH-2026-7K3QX，"
                    "不含数字 0、1 和字母 I、L、O）。")
        origin = chain.township_name + (chain.village_name or "")
        lines = [f"溯源码 {chain.code}：{chain.crop}，产自{origin}「{chain.plot_name}」，种植户{chain.grower_name}。"]
        if not chain.events:
            lines.append("这一批还没有登记生产记录。")
        for event in chain.events:
            line = f"{event.day.isoformat()} {event.label}：{event.what}"
            if event.kind == "spraying":
                d = event.details
                line += f"（{d['product']} {_number(d['dose'])}{d['dose_unit']}，安全间隔期 {d['phi_days']} 天）"
            if event.phi_override:
                line += f"【注意：在农药安全间隔期内，原因：{event.override_reason}】"
            lines.append(line)
        if chain.flagged:
            lines.append("⚠ 这一批有在农药安全间隔期内的记录，详见上面的说明。")
        return "\n".join(lines)

    def _violation(self, session: Session, batch: TraceBatch, kind: str, at: dt.datetime,
                   details: dict[str, Any]) -> PreHarvestIntervalViolation | None:
        """The worst interval broken by a new harvest or spraying at ``at`` (latest earliest-harvest), or None."""
        day = at.astimezone(_TZ).date()
        others = session.execute(select(TraceEvent).where(
            TraceEvent.batch_id == batch.id,
            TraceEvent.kind == ("spraying" if kind == "harvest" else "harvest"))).scalars().all()
        pairs = []  # (product, phi_days, sprayed_on, harvest_on)
        if kind == "harvest":
            for spray in others:
                pairs.append((spray.details["product"], int(spray.details["phi_days"]),
                              spray.occurred_at.astimezone(_TZ).date(), day))
        else:
            for harvest in others:
                pairs.append((details["product"], int(details["phi_days"]), day,
                              harvest.occurred_at.astimezone(_TZ).date()))
        worst = None
        for product, phi_days, sprayed_on, harvest_on in pairs:
            earliest = sprayed_on + dt.timedelta(days=phi_days)
            if sprayed_on <= harvest_on < earliest and (worst is None or earliest > worst[2]):
                worst = (product, sprayed_on, earliest, phi_days, harvest_on)
        if worst is None:
            return None
        product, sprayed_on, earliest, phi_days, harvest_on = worst
        return PreHarvestIntervalViolation(
            f"harvest on {harvest_on} is inside the {phi_days}-day pre-harvest interval of {product} sprayed on "
            f"{sprayed_on}; earliest harvest {earliest}",
            product=product, sprayed_on=sprayed_on.isoformat(), earliest_harvest=earliest.isoformat(),
            phi_days=phi_days, harvest_on=harvest_on.isoformat())

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"clock returned naive datetime {now.isoformat()}")
        return now.astimezone(dt.timezone.utc)


def _batch(session: Session, code: Any) -> TraceBatch:
    normal = normalize_trace_code(code)
    batch = session.execute(select(TraceBatch).where(TraceBatch.code == normal)).scalar_one_or_none() \
        if normal else None
    if batch is None:
        raise TraceNotFound(f"no batch with trace code {code!r}", code=str(code)[:64])
    return batch


def _event_view(row: TraceEvent) -> TraceEventView:
    return TraceEventView(id=row.id, kind=row.kind, label=EVENT_LABELS[row.kind], occurred_at=row.occurred_at,
                          what=row.what, place=row.place, actor=row.actor, details=dict(row.details or {}),
                          phi_override=bool(row.phi_override), override_reason=row.override_reason)


def _text(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= limit:
        raise InvalidFieldData(f"{field} must be 1–{limit} characters", field=field)
    return value.strip()


def _positive(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidFieldData(f"{field} must be a positive number", field=field, value=str(value))
    return float(value)


def _unit(value: Any) -> str:
    if value not in DOSE_UNITS:
        raise InvalidFieldData(f"dose_unit must be one of {', '.join(DOSE_UNITS)}", field="dose_unit",
                               value=str(value), allowed=list(DOSE_UNITS))
    return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
