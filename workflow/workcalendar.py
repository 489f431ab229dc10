"""Working-day calendar of mainland China (工作日历) for deadline rules (限时办结).

A day is a working day when it is a Monday–Friday that is not an official holiday, or a Saturday/Sunday that
the State Council has made a make-up workday (调休上班). Sources, per year:

1. ``data/calendar/workdays.yml`` (the override file) when it lists the year. Its entry is the complete
   schedule of that year and wins over chinesecalendar, so the county can correct a date or add a new year
   without a release. Years marked ``status: provisional`` log a WARNING once.
2. The ``chinesecalendar`` package (module ``chinese_calendar``; 1.11.0 covers 2004–2026), which carries the
   State Council's annual notices (国务院办公厅关于部分节假日安排的通知).
3. Neither: only Saturdays and Sundays are rest days, with a WARNING logged once. Lookups never fail for
   want of data.

All data is read when the calendar is built; lookups are pure functions of it (no I/O, no clock). Dates are
calendar dates in China (Asia/Shanghai); converting a timestamp to that date is the caller's job.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Mapping

import chinese_calendar
import yaml

from workflow.exceptions import JuhaobanError

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
OVERRIDE_FILE = Path("calendar") / "workdays.yml"

# Longest run of rest days we accept before calling the data broken. The longest real one is a 9-day
# Spring Festival block; a year's override listing every weekday as a holiday must not loop forever.
_MAX_REST_RUN_DAYS = 62

_ENTRY_KEYS = frozenset({"status", "source", "holidays", "makeup_workdays"})


class YearStatus(str, Enum):
    """How trustworthy a year's schedule is."""

    OFFICIAL = "official"  # published State Council notice (via chinesecalendar or the override file)
    PROVISIONAL = "provisional"  # statutory days only, notice not yet published
    WEEKENDS_ONLY = "weekends_only"  # no data at all: Saturdays and Sundays are the only rest days


class CalendarDataError(JuhaobanError, ValueError):
    """The holiday data is unusable: the override file is invalid, or a lookup found no working day.

    A configuration error (raised when the calendar is built at start-up), not a resident's mistake.
    Context: ``path`` (the override file) and ``year`` when known.

    Attributes:
        path: The override file concerned, or None when the error is not about one file.
        year: The year concerned, or None.
        detail: What is wrong.
    """

    code = "calendar_data_invalid"

    def __init__(self, detail: str, *, path: Path | None = None, year: int | None = None) -> None:
        context: dict[str, Any] = {}
        if path is not None:
            context["path"] = str(path)
        if year is not None:
            context["year"] = year
        super().__init__(detail, **context)
        self.path = path
        self.year = year
        self.detail = detail


@dataclass(frozen=True)
class YearSchedule:
    """The rest-day exceptions of one calendar year.

    Attributes:
        year: The Gregorian year.
        holidays: Dates that are rest days although they may be weekdays (放假). May include weekend dates.
        makeup_workdays: Saturdays/Sundays that are working days (调休上班).
        status: How trustworthy the schedule is.
        source: Where the dates come from (package version, notice, or file).
    """

    year: int
    holidays: frozenset[dt.date]
    makeup_workdays: frozenset[dt.date]
    status: YearStatus
    source: str

    def is_workday(self, day: dt.date) -> bool:
        """Whether ``day`` (which must fall in ``self.year``) is a working day."""
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


def _package_years() -> range:
    years = [day.year for day in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


PACKAGE_YEARS = _package_years()
"""Years for which the installed chinesecalendar has official data (1.11.0: 2004–2026)."""


def _package_schedule(year: int) -> YearSchedule:
    return YearSchedule(
        year=year,
        holidays=frozenset(day for day in chinese_calendar.holidays if day.year == year),
        makeup_workdays=frozenset(day for day in chinese_calendar.workdays if day.year == year),
        status=YearStatus.OFFICIAL,
        source=f"chinesecalendar {getattr(chinese_calendar, '__version__', '?')}",
    )


def _weekends_only_schedule(year: int) -> YearSchedule:
    return YearSchedule(
        year=year,
        holidays=frozenset(),
        makeup_workdays=frozenset(),
        status=YearStatus.WEEKENDS_ONLY,
        source="no holiday data: Saturdays and Sundays only",
    )


# --- override file --------------------------------------------------------------------------------------


class _OverrideLoader(yaml.SafeLoader):
    """SafeLoader that reports an impossible unquoted date (2027-02-30) with its line instead of a bare
    ValueError from deep inside PyYAML."""


def _construct_timestamp(loader: _OverrideLoader, node: yaml.Node) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"invalid date {node.value!r} ({exc})", node.start_mark
        ) from exc


_OverrideLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _parse_date(value: Any, *, path: Path, year: int, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise CalendarDataError(f"{field}: {value!r} has a time; give a date YYYY-MM-DD", path=path, year=year)
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise CalendarDataError(
                f"{field}: {value!r} is not a date YYYY-MM-DD", path=path, year=year
            ) from None
    else:
        raise CalendarDataError(f"{field}: {value!r} is not a date YYYY-MM-DD", path=path, year=year)
    if day.year != year:
        raise CalendarDataError(f"{field}: {day.isoformat()} is not in {year}", path=path, year=year)
    return day


def _parse_dates(entry: Mapping[str, Any], field: str, *, path: Path, year: int) -> frozenset[dt.date]:
    values = entry[field]
    if values is None:  # `makeup_workdays:` left blank
        return frozenset()
    if not isinstance(values, list):
        raise CalendarDataError(f"{field} must be a list of dates, got {values!r}", path=path, year=year)
    return frozenset(_parse_date(value, path=path, year=year, field=field) for value in values)


def _parse_year(year: Any, entry: Any, *, path: Path) -> YearSchedule:
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 9999:
        raise CalendarDataError(f"year key {year!r} is not a four-digit year", path=path)
    if not isinstance(entry, dict):
        raise CalendarDataError(f"entry must be a mapping, got {entry!r}", path=path, year=year)
    missing = sorted(_ENTRY_KEYS - entry.keys())
    unknown = sorted(str(key) for key in entry.keys() - _ENTRY_KEYS)
    if missing or unknown:
        raise CalendarDataError(f"missing keys {missing}, unknown keys {unknown}", path=path, year=year)

    status_text = entry["status"]
    if status_text not in (YearStatus.OFFICIAL.value, YearStatus.PROVISIONAL.value):
        raise CalendarDataError(
            f"status must be 'official' or 'provisional', got {status_text!r}", path=path, year=year
        )
    source = entry["source"]
    if not isinstance(source, str) or not source.strip():
        raise CalendarDataError("source must be a non-empty text", path=path, year=year)

    holidays = _parse_dates(entry, "holidays", path=path, year=year)
    makeup_workdays = _parse_dates(entry, "makeup_workdays", path=path, year=year)
    both = sorted(holidays & makeup_workdays)
    if both:
        raise CalendarDataError(
            f"{[d.isoformat() for d in both]} listed both as holidays and as makeup_workdays",
            path=path,
            year=year,
        )
    weekday_makeups = sorted(day for day in makeup_workdays if day.weekday() < 5)
    if weekday_makeups:
        # A weekday is a working day already; listing it means a typo in the date.
        raise CalendarDataError(
            f"makeup_workdays {[d.isoformat() for d in weekday_makeups]} are not Saturdays or Sundays",
            path=path,
            year=year,
        )
    return YearSchedule(
        year=year,
        holidays=holidays,
        makeup_workdays=makeup_workdays,
        status=YearStatus(status_text),
        source=f"{path.name}: {source.strip()}",
    )


def load_overrides(path: Path) -> dict[int, YearSchedule]:
    """Read and validate the override file (format documented in ``data/calendar/workdays.yml``).

    Args:
        path: The YAML file: ``years: {YYYY: {status, source, holidays: [dates], makeup_workdays: [dates]}}``.

    Returns:
        The schedules by year; empty for an empty file.

    Raises:
        CalendarDataError: The file is not valid YAML or an entry is invalid (bad or impossible date, a date
            outside its year, a date both holiday and make-up workday, a make-up workday on a weekday, bad
            status, missing source, unknown key). The message names the file and the year.
        OSError: The file cannot be read.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as stream:  # a stream, so YAML errors carry the file name and line
            document = yaml.load(stream, Loader=_OverrideLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CalendarDataError(f"not a valid calendar file: {exc}", path=path) from exc
    if document is None:
        return {}
    if not isinstance(document, dict) or set(document) - {"years"}:
        raise CalendarDataError("expected a mapping with a single top-level key `years`", path=path)
    years = document.get("years") or {}
    if not isinstance(years, dict):
        raise CalendarDataError("`years` must map a year to its schedule", path=path)
    return {year: _parse_year(year, entry, path=path) for year, entry in years.items()}


# --- calendar --------------------------------------------------------------------------------------------


def _require_date(value: Any, name: str) -> dt.date:
    # A datetime is a date subclass, but its calendar day depends on a time zone we cannot guess here.
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(
            f"{name} must be a datetime.date (convert timestamps to Asia/Shanghai and take .date()), "
            f"got {type(value).__name__}"
        )
    return value


class WorkingCalendar:
    """Answers working-day questions for any year, from the override file, chinesecalendar or weekends.

    Per-year schedules are built on first use and cached; a provisional or missing year logs one WARNING
    per calendar instance. Safe to share between threads.

    Args:
        overrides: Schedules by year that win over chinesecalendar (see :func:`load_overrides`).
        override_path: The file the overrides came from, only for log messages.
    """

    def __init__(
        self,
        overrides: Mapping[int, YearSchedule] | None = None,
        *,
        override_path: Path | None = None,
    ) -> None:
        self._overrides = dict(overrides or {})
        self._override_path = override_path
        self._years: dict[int, YearSchedule] = {}
        self._lock = threading.Lock()

    @classmethod
    def default(cls, data_dir: Path | None = None) -> WorkingCalendar:
        """Build the calendar from chinesecalendar plus ``<data_dir>/calendar/workdays.yml``.

        Args:
            data_dir: The project's data directory; defaults to the repository's ``data/``. A missing
                override file logs a WARNING and leaves only chinesecalendar's years.

        Raises:
            CalendarDataError: The override file exists but is invalid.
        """
        path = Path(data_dir if data_dir is not None else DEFAULT_DATA_DIR) / OVERRIDE_FILE
        if path.is_file():
            overrides = load_overrides(path)
        else:
            logger.warning(
                "Working-day override file %s not found; only chinesecalendar's years %d-%d have holidays",
                path,
                PACKAGE_YEARS.start,
                PACKAGE_YEARS.stop - 1,
            )
            overrides = {}
        return cls(overrides, override_path=path)

    def schedule_for(self, year: int) -> YearSchedule:
        """The schedule used for ``year`` (override file, then chinesecalendar, then weekends only).

        Logs a WARNING the first time a provisional or weekends-only year is used.
        """
        schedule = self._years.get(year)
        if schedule is not None:
            return schedule
        with self._lock:
            schedule = self._years.get(year)
            if schedule is None:
                schedule = self._build(year)
                self._years[year] = schedule
        return schedule

    def _build(self, year: int) -> YearSchedule:
        if year in self._overrides:
            schedule = self._overrides[year]
            if schedule.status is YearStatus.PROVISIONAL:
                logger.warning(
                    "Working-day calendar for %d is provisional (statutory holidays only, no 调休); deadlines "
                    "may move when the State Council publishes its %d holiday notice: update %s",
                    year,
                    year,
                    self._override_path or "the override file",
                )
            return schedule
        if year in PACKAGE_YEARS:
            return _package_schedule(year)
        logger.warning(
            "No holiday data for %d (chinesecalendar covers %d-%d; %s has no entry); counting only "
            "Saturdays and Sundays as rest days",
            year,
            PACKAGE_YEARS.start,
            PACKAGE_YEARS.stop - 1,
            self._override_path or "no override file",
        )
        return _weekends_only_schedule(year)

    def is_workday(self, d: dt.date) -> bool:
        """Whether ``d`` is a working day (weekday not on holiday, or a make-up Saturday/Sunday).

        Raises:
            TypeError: ``d`` is not a ``date`` (a ``datetime`` is refused: its day depends on a time zone).
        """
        d = _require_date(d, "d")
        return self.schedule_for(d.year).is_workday(d)

    def next_workday(self, d: dt.date, include_self: bool = False) -> dt.date:
        """The first working day after ``d`` (or ``d`` itself when ``include_self`` and it is one).

        Raises:
            TypeError: ``d`` is not a ``date``.
            CalendarDataError: No working day within 62 days (broken holiday data).
        """
        d = _require_date(d, "d")
        day = d if include_self else d + dt.timedelta(days=1)
        for _ in range(_MAX_REST_RUN_DAYS):
            if self.is_workday(day):
                return day
            day += dt.timedelta(days=1)
        raise CalendarDataError(
            f"no working day within {_MAX_REST_RUN_DAYS} days after {d.isoformat()}",
            path=self._override_path,
            year=d.year,
        )

    def add_workdays(self, d: dt.date, n: int) -> dt.date:
        """The ``n``-th working day strictly after ``d``; ``d`` itself never counts.

        Args:
            d: The start date (e.g. the acceptance day of a case).
            n: Number of working days, ``n >= 0``; ``0`` returns ``d`` unchanged.

        Raises:
            TypeError: ``d`` is not a ``date``.
            ValueError: ``n`` is negative or not an integer.
        """
        d = _require_date(d, "d")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be an integer >= 0 working days, got {n!r}")
        day = d
        for _ in range(n):
            day = self.next_workday(day)
        return day

    def workdays_between(self, a: dt.date, b: dt.date) -> int:
        """Number of working days in the half-open range (a, b]: after ``a``, up to and including ``b``.

        The inverse of :meth:`add_workdays`: ``workdays_between(d, add_workdays(d, n)) == n``. Negative
        when ``b`` is before ``a``; ``0`` when they are equal.

        Raises:
            TypeError: ``a`` or ``b`` is not a ``date``.
        """
        a = _require_date(a, "a")
        b = _require_date(b, "b")
        if b < a:
            return -self.workdays_between(b, a)
        count = 0
        day = a + dt.timedelta(days=1)
        while day <= b:
            count += self.is_workday(day)
            day += dt.timedelta(days=1)
        return count
