"""Plots, growers and sensor devices (issue 7 part 3): who farms which field, and how to reach them.

A grower is reached on their chats: their own (``channel`` + ``sender_id``, as the bot sees them) and, when the
grower is a resident (``resident_id``), the resident's bound chats (``resident_channels``, :mod:`workflow.grids`).
:func:`plots_of_sender` answers "which are my fields?" for the bot; :func:`grower_chats` is whom an alert or a
broadcast goes to (one outbox row per chat, never two for the same chat).

Functions take the caller's session (the caller owns the transaction); :class:`Farms` wraps them for the admin API
and the bot, one transaction per call. Tables: :mod:`workflow.sensor_models`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workflow.cases import Clock, utc_now
from workflow.field_errors import FieldDataNotFound, InvalidFieldData
from workflow.models import Resident, ResidentChannel, Township, Village
from workflow.sensor_models import CROPS, DEVICE_KINDS, GROWTH_STAGES, Grower, Plot, PlotGrower, SensorDevice

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
_MAX_NAME = 64
_MAX_PLOT_NAME = 128
_MAX_CHANNEL = 32
_MAX_SENDER_ID = 255


class PlotNotFound(FieldDataNotFound):
    """No plot has the code. Context: ``plot``."""

    code = "plot_not_found"


class GrowerNotFound(FieldDataNotFound):
    """No grower has the id. Context: ``grower_id``."""

    code = "grower_not_found"


@dataclass(frozen=True)
class PlotView:
    """A plot as callers see it; ``area_mu`` in mu (亩), None when unknown."""

    code: str
    name: str
    township_code: str
    township_name: str
    village_code: str | None
    village_name: str | None
    crop: str
    growth_stage: str
    area_mu: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class GrowerView:
    """A grower: display name, village, own chat (or None) and resident id (or None)."""

    id: int
    display_name: str
    village_code: str | None
    channel: str | None
    sender_id: str | None
    resident_id: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class DeviceView:
    """A sensor device: id, plot, kind, whether its readings are accepted."""

    device_id: str
    plot_code: str
    kind: str
    active: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return dict(self.__dict__)


# ---------------------------------------------------------------------- session-level functions
def get_plot(session: Session, plot_code: str) -> Plot:
    """The plot with ``plot_code``.

    Raises:
        PlotNotFound: No such plot.
    """
    plot = session.get(Plot, (plot_code or "").strip()) if isinstance(plot_code, str) else None
    if plot is None:
        raise PlotNotFound(f"no plot {plot_code!r}", plot=plot_code)
    return plot


def plot_view(session: Session, plot: Plot) -> PlotView:
    """The view of ``plot`` with its township's and village's names."""
    township = session.get(Township, plot.township_code)
    village = session.get(Village, plot.village_code) if plot.village_code else None
    return PlotView(code=plot.code, name=plot.name, township_code=plot.township_code,
                    township_name=township.name if township else plot.township_code,
                    village_code=plot.village_code, village_name=village.name if village else None,
                    crop=plot.crop, growth_stage=plot.growth_stage, area_mu=plot.area_mu)


def growers_of_sender(session: Session, channel: str, sender_id: str) -> list[Grower]:
    """The growers a chat belongs to: by their own chat, or as a resident bound to it."""
    channel, sender_id = (channel or "").strip(), (sender_id or "").strip()
    if not channel or not sender_id:
        return []
    own = select(Grower).where(Grower.channel == channel, Grower.sender_id == sender_id)
    as_resident = (select(Grower).join(ResidentChannel, ResidentChannel.resident_id == Grower.resident_id)
                   .where(ResidentChannel.channel == channel, ResidentChannel.sender_id == sender_id))
    found = {g.id: g for g in session.execute(own).scalars()}
    found.update({g.id: g for g in session.execute(as_resident).scalars()})
    return [found[key] for key in sorted(found)]


def plots_of_sender(session: Session, channel: str, sender_id: str) -> list[PlotView]:
    """The plots farmed by whoever writes on ``channel``/``sender_id``, by plot code; empty for a stranger."""
    growers = growers_of_sender(session, channel, sender_id)
    if not growers:
        return []
    plots = session.execute(
        select(Plot).join(PlotGrower, PlotGrower.plot_code == Plot.code)
        .where(PlotGrower.grower_id.in_([g.id for g in growers])).distinct().order_by(Plot.code)
    ).scalars().all()
    return [plot_view(session, plot) for plot in plots]


def grower_chats(session: Session, growers: Iterable[Grower]) -> list[tuple[str, str]]:
    """``(channel, sender_id)`` of every chat of ``growers``, each once, in the growers' order."""
    chats: list[tuple[str, str]] = []
    for grower in growers:
        if grower.channel and grower.sender_id:
            chats.append((grower.channel, grower.sender_id))
        if grower.resident_id is not None:
            chats.extend(session.execute(
                select(ResidentChannel.channel, ResidentChannel.sender_id)
                .where(ResidentChannel.resident_id == grower.resident_id).order_by(ResidentChannel.id)
            ).tuples())
    return list(dict.fromkeys(chats))


def growers_of_plot(session: Session, plot_code: str) -> list[Grower]:
    """The growers of a plot, by id."""
    return list(session.execute(
        select(Grower).join(PlotGrower, PlotGrower.grower_id == Grower.id)
        .where(PlotGrower.plot_code == plot_code).order_by(Grower.id)
    ).scalars())


def growers_in(session: Session, township_code: str | None) -> list[Grower]:
    """Every grower farming a plot in ``township_code`` (None: every grower with a plot), by id."""
    query = select(Grower).join(PlotGrower, PlotGrower.grower_id == Grower.id).join(
        Plot, Plot.code == PlotGrower.plot_code)
    if township_code is not None:
        query = query.where(Plot.township_code == township_code)
    return list(session.execute(query.distinct().order_by(Grower.id)).scalars())


def resolve_township(session: Session, township: str) -> Township:
    """The township named by its code, name or alias (``王虎寨镇``, ``wanghuzhai_zhen``, ``王虎寨``).

    Raises:
        InvalidFieldData: No township matches (``field`` ``township``).
    """
    given = (township or "").strip() if isinstance(township, str) else ""
    for row in session.execute(select(Township).order_by(Township.code)).scalars():
        if given in (row.code, row.name) or given in (row.aliases or []):
            return row
    raise InvalidFieldData(f"no township {township!r}", field="township", value=township)


# ---------------------------------------------------------------------- service
class Farms:
    """Plots, growers and devices, one transaction per call.

    Args:
        session_factory: Over a database migrated to ``0010_sensors_traceability`` with the reference data loaded.
        clock: Returns the current aware time; default :func:`workflow.cases.utc_now`.
    """

    def __init__(self, session_factory: sessionmaker, clock: Clock | None = None) -> None:
        self._session_factory = session_factory
        self._clock = clock or utc_now

    def create_plot(self, code: str, name: str, township: str, *, village: str | None = None,
                    growth_stage: str = "休眠期", area_mu: float | None = None,
                    crop: str = "honeysuckle") -> PlotView:
        """Add a plot.

        Args:
            code: The county's plot code, 1–64 characters of letters, digits, ``_`` and ``-``.
            name: What growers call it (``老刘家东地``), 1–128 characters.
            township: Code, name or alias of its township.
            village: Code of its village (must be in that township), or None.
            growth_stage: One of :data:`workflow.sensor_models.GROWTH_STAGES`.
            area_mu: Area in mu, positive, or None.
            crop: ``honeysuckle``.

        Raises:
            InvalidFieldData: A field as above is wrong (``field`` names it), or the code is taken.
        """
        code = _code(code, "code")
        name = _text(name, "name", _MAX_PLOT_NAME)
        _choice(growth_stage, GROWTH_STAGES, "growth_stage")
        _choice(crop, CROPS, "crop")
        if area_mu is not None and (isinstance(area_mu, bool) or not isinstance(area_mu, (int, float))
                                    or not 0 < area_mu < 100_000):
            raise InvalidFieldData("area_mu must be a positive number of mu", field="area_mu", value=area_mu)
        with self._session_factory.begin() as session:
            town = resolve_township(session, township)
            village_code = self._village(session, village, town.code)
            if session.get(Plot, code) is not None:
                raise InvalidFieldData(f"plot code {code!r} is taken", field="code", value=code)
            plot = Plot(code=code, name=name, township_code=town.code, village_code=village_code, crop=crop,
                        growth_stage=growth_stage, area_mu=float(area_mu) if area_mu is not None else None,
                        created_at=self._now())
            session.add(plot)
            session.flush()
            return plot_view(session, plot)

    def set_growth_stage(self, plot_code: str, growth_stage: str) -> PlotView:
        """Move a plot to another growth stage (the rules that apply change with it).

        Raises:
            PlotNotFound: No such plot.
            InvalidFieldData: Unknown stage.
        """
        _choice(growth_stage, GROWTH_STAGES, "growth_stage")
        with self._session_factory.begin() as session:
            plot = get_plot(session, plot_code)
            plot.growth_stage = growth_stage
            return plot_view(session, plot)

    def get_plot(self, plot_code: str) -> PlotView:
        """One plot. Raises :class:`PlotNotFound`."""
        with self._session_factory() as session:
            return plot_view(session, get_plot(session, plot_code))

    def add_grower(self, plot_codes: list[str], display_name: str, *, channel: str | None = None,
                   sender_id: str | None = None, resident_id: int | None = None,
                   village: str | None = None) -> GrowerView:
        """Bind a grower to plots; a grower already known by the same chat (or resident) is reused, not duplicated.

        Args:
            plot_codes: The plots they farm (at least one).
            display_name: The name shown to others (``刘大姐``, ``刘建国``), 1–64 characters; shown on public trace
                pages, so no more than the grower agrees to.
            channel, sender_id: Their chat (both or neither).
            resident_id: Their resident record, whose bound chats also reach them.
            village: Code of their village, or None.

        Raises:
            PlotNotFound: A plot code names no plot.
            InvalidFieldData: No way to reach them, a chat half given, an unknown resident or village.
        """
        display_name = _text(display_name, "display_name", _MAX_NAME)
        channel = _optional_text(channel, "channel", _MAX_CHANNEL)
        sender_id = _optional_text(sender_id, "sender_id", _MAX_SENDER_ID)
        if (channel is None) != (sender_id is None):
            raise InvalidFieldData("give both channel and sender_id, or neither", field="sender_id")
        if sender_id is None and resident_id is None:
            raise InvalidFieldData("a grower needs a chat (channel + sender_id) or a resident_id",
                                   field="sender_id")
        if not plot_codes or not isinstance(plot_codes, list):
            raise InvalidFieldData("a grower needs at least one plot", field="plots")
        with self._session_factory.begin() as session:
            plots = [get_plot(session, code) for code in plot_codes]
            if resident_id is not None and session.get(Resident, resident_id) is None:
                raise InvalidFieldData(f"no resident {resident_id!r}", field="resident_id", value=resident_id)
            village_code = self._village(session, village, None)
            grower = self._existing_grower(session, channel, sender_id, resident_id)
            if grower is None:
                grower = Grower(display_name=display_name, village_code=village_code, channel=channel,
                                sender_id=sender_id, resident_id=resident_id, created_at=self._now())
                try:
                    with session.begin_nested():
                        session.add(grower)
                except IntegrityError:  # the same chat was added concurrently
                    grower = self._existing_grower(session, channel, sender_id, resident_id)
            else:
                grower.display_name = display_name
                grower.village_code = village_code or grower.village_code
                grower.resident_id = resident_id or grower.resident_id
            session.flush()
            known = {row for row in session.execute(
                select(PlotGrower.plot_code).where(PlotGrower.grower_id == grower.id)).scalars()}
            for plot in plots:
                if plot.code not in known:
                    session.add(PlotGrower(plot_code=plot.code, grower_id=grower.id))
                    known.add(plot.code)
            session.flush()
            return _grower_view(grower)

    def plots_of_sender(self, channel: str, sender_id: str) -> list[PlotView]:
        """The plots of whoever writes on ``channel``/``sender_id`` (see :func:`plots_of_sender`)."""
        with self._session_factory() as session:
            return plots_of_sender(session, channel, sender_id)

    def register_device(self, device_id: str, plot_code: str, kind: str, *, active: bool = True) -> DeviceView:
        """Add a device, or move/re-kind/(de)activate an existing one (the same ``device_id``).

        Raises:
            PlotNotFound: No such plot.
            InvalidFieldData: A malformed id or an unknown kind.
        """
        device_id = _code(device_id, "device_id")
        _choice(kind, DEVICE_KINDS, "kind")
        if not isinstance(active, bool):
            raise InvalidFieldData("active must be true or false", field="active", value=active)
        with self._session_factory.begin() as session:
            get_plot(session, plot_code)
            device = session.get(SensorDevice, device_id)
            if device is None:
                device = SensorDevice(device_id=device_id, created_at=self._now())
                session.add(device)
            device.plot_code, device.kind, device.active = plot_code, kind, active
            session.flush()
            return DeviceView(device.device_id, device.plot_code, device.kind, device.active)

    @staticmethod
    def _existing_grower(session: Session, channel: str | None, sender_id: str | None,
                         resident_id: int | None) -> Grower | None:
        if sender_id is not None:
            return session.execute(select(Grower).where(Grower.channel == channel, Grower.sender_id == sender_id)
                                   ).scalar_one_or_none()
        return session.execute(select(Grower).where(Grower.resident_id == resident_id, Grower.sender_id.is_(None))
                               .order_by(Grower.id)).scalars().first()

    @staticmethod
    def _village(session: Session, village: str | None, township_code: str | None) -> str | None:
        if village is None or village == "":
            return None
        row = session.get(Village, village) if isinstance(village, str) else None
        if row is None or (township_code is not None and row.township_code != township_code):
            raise InvalidFieldData(f"no village {village!r} in that township", field="village", value=village)
        return row.code

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"clock returned naive datetime {now.isoformat()}")
        return now.astimezone(dt.timezone.utc)


def _grower_view(grower: Grower) -> GrowerView:
    return GrowerView(id=grower.id, display_name=grower.display_name, village_code=grower.village_code,
                      channel=grower.channel, sender_id=grower.sender_id, resident_id=grower.resident_id)


def _code(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _CODE.match(value.strip()):
        raise InvalidFieldData(f"{field} must be 1–64 letters, digits, '_' or '-'", field=field, value=value)
    return value.strip()


def _text(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= limit:
        raise InvalidFieldData(f"{field} must be 1–{limit} characters", field=field)
    return value.strip()


def _optional_text(value: Any, field: str, limit: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _text(value, field, limit)


def _choice(value: Any, allowed: tuple[str, ...], field: str) -> None:
    if value not in allowed:
        raise InvalidFieldData(f"{field} must be one of {', '.join(allowed)}, got {value!r}", field=field,
                               value=value, allowed=list(allowed))
