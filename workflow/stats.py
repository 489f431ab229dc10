"""Figures of the console's Overview page (issue 5): new, closed and overdue cases, the four rates, by lead unit and
by township, ranked for 争先进位. Read-only aggregate SQL (``GROUP BY`` with conditional sums) over ``cases``; no
case is loaded into Python. Runs on SQLite and PostgreSQL.

Periods. "Today" and "this month" are the calendar day and month of ``now`` in ``zone`` (Asia/Shanghai): half-open
intervals ``[start, end)`` whose local midnights are converted to UTC, so a case filed at 23:30 Shanghai time on
30 November (15:30 UTC) is November's, and one filed at 00:10 on 1 December (16:10 UTC on 30 November) December's.
:func:`period` gives any other window (last month's ranking, a year).

Which cases count. Rejected reports (不予受理: invalid, duplicate, out of scope) count nowhere: not in the counts,
not in any rate, not against a unit or a township (:attr:`PeriodFigures.rejected` gives their number apart). Each
case belongs to one period for its rates: the one it was *filed* in (``created_at``), the cohort (当期受理) of the
county's 12345-style evaluation, so a rate never exceeds 100% and a period's rates settle as its cases are worked
off. "Today"'s rates are therefore about today's cases, most of them still being handled, and early in a month few
units have a rate yet: the month's ranking is final once its cases are done (:func:`period_figures`).

Counts (flows in the period, each by its own time stamp):

- ``new`` (新增): cases filed in the period.
- ``closed`` (办结归档): cases closed in the period (``closed_at``: rated 满意/基本满意, closed unrated after the
  rating window, or closed after review).
- ``overdue`` (逾期): cases the deadline job marked overdue in the period (``overdue_at``). The mark belongs to a
  round of work and a new round (reopening, re-assignment after review) clears it, so a case late in a first round
  and reopened no longer counts here; the audit trail keeps every mark.
- :attr:`Overview.open_overdue` (逾期未办结, a snapshot, no period): accepted cases with no standing result whose
  deadline has passed at ``now``, whether or not the job has marked them yet. Cases under dispatcher review are
  not among them (the job does not mark them either: the review is the dispatchers' own step).

A case has a *standing result* (办理结果) when its lead unit's last answer stands: status ``resolved`` (waiting for
the rating) or ``closed``, or ``returned`` under dispatcher review (the resident was unsatisfied twice; the unit did
answer). A reopened case, or one re-assigned after review, is being worked again and has none.

Rates, over the valid cases filed in the period; each is a :class:`Rate` with its numerator and denominator, and
``value`` None (the page shows "—") when the denominator is 0:

- reply rate (回复率) = cases with a standing result ÷ cases assigned to a unit (``assigned_at`` set). Did the
  units answer the residents at all.
- closure rate (办结率) = cases closed ÷ cases accepted (``accepted_at`` set; reports still waiting for a dispatcher
  are not yet the units' business). The loop closed: rated, or the rating window passed.
- on-time rate (按时办结率) = cases with a standing result given on or before the deadline (``resolved_at <=
  deadline``) ÷ cases *due*: accepted cases that have a standing result or whose deadline has passed at ``now``.
  Open cases past their deadline are in the denominator, so a unit cannot keep its rate by leaving late cases
  unanswered; open cases not yet due are undecided and left out. A case counts with its current round (after a
  reopening: the new deadline and the new result).
- satisfaction rate (满意率) = cases whose resident's latest rating is 满意 (``satisfied``) or 基本满意
  (``basically_satisfied``) ÷ cases the resident rated (those two and 不满意 ``unsatisfied``). Cases closed without a
  rating (``no_rating``, 未评价) are in neither: no rating is not taken as satisfaction. A case reopened after 不满意
  counts as unsatisfied until the resident rates it again.

Breakdowns:

- by lead unit (承办单位): cases assigned to a unit (``assigned_at`` set) under their current lead unit. A case a
  unit returned as not theirs (``returned``, not under review) is with the dispatcher and counts for no unit until
  it is assigned again, then for the new lead unit. Units with no case in the period's figures are left out.
- by township (乡镇): every case by its township (``cases.township_code``), every township of the ``townships``
  table listed, with zeros when it had no case.

Ranking (争先进位): rows ordered by on-time rate, then closure rate, then satisfaction rate (higher first; a rate
that is None after any number), then name (Unicode order) and code. ``rank`` is the competition rank over the three
rates (equal rates, equal rank: 1, 2, 2, 4); None for a row with none of the three rates (nothing decided yet),
listed last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from workflow.models import Case, Township, Unit
from workflow.status import CaseStatus
from workflow.transitions import Rating

DEFAULT_ZONE = "Asia/Shanghai"
UTC = dt.timezone.utc

S = CaseStatus
_REJECTED = S.REJECTED.value
_CLOSED = S.CLOSED.value
_GOOD_RATINGS = (Rating.SATISFIED.value, Rating.BASICALLY_SATISFIED.value)
_RESIDENT_RATINGS = (*_GOOD_RATINGS, Rating.UNSATISFIED.value)


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class Period:
    """A half-open window ``[start, end)`` of time (aware UTC), e.g. one Asia/Shanghai calendar day.

    Attributes:
        name: ``today``, ``month`` or the caller's name for it.
        label: The local day or month, ``2026-11-30`` / ``2026-11`` (for headings).
        start: First instant in the window (aware UTC).
        end: First instant after it (aware UTC).
    """

    name: str
    label: str
    start: dt.datetime
    end: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True)
class Rate:
    """A rate with what it is made of; ``value`` is ``numerator / denominator``, None when the denominator is 0."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def to_dict(self) -> dict[str, Any]:
        return {"numerator": self.numerator, "denominator": self.denominator, "value": self.value}


@dataclass(frozen=True)
class Figures:
    """The counts and rates of one group of cases in one period (module docstring: what each one counts).

    Attributes:
        new: Cases filed in the period (rejected reports not counted).
        closed: Cases closed in the period.
        overdue: Cases marked overdue in the period (their current round).
        reply_rate: 回复率: standing result ÷ assigned (cases filed in the period).
        closure_rate: 办结率: closed ÷ accepted (cases filed in the period).
        on_time_rate: 按时办结率: result on or before the deadline ÷ due (cases filed in the period).
        satisfaction_rate: 满意率: 满意 + 基本满意 ÷ rated (cases filed in the period).
    """

    new: int
    closed: int
    overdue: int
    reply_rate: Rate
    closure_rate: Rate
    on_time_rate: Rate
    satisfaction_rate: Rate

    @property
    def is_empty(self) -> bool:
        """No case in any count or denominator."""
        return not (self.new or self.closed or self.overdue or self.reply_rate.denominator
                    or self.closure_rate.denominator or self.on_time_rate.denominator
                    or self.satisfaction_rate.denominator)

    def to_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "closed": self.closed,
            "overdue": self.overdue,
            "reply_rate": self.reply_rate.to_dict(),
            "closure_rate": self.closure_rate.to_dict(),
            "on_time_rate": self.on_time_rate.to_dict(),
            "satisfaction_rate": self.satisfaction_rate.to_dict(),
        }


@dataclass(frozen=True)
class RankedRow:
    """One unit or township in a breakdown: its figures and its place in the ranking.

    Attributes:
        code: Unit code (``units.code``) or township code (``townships.code``).
        name: Its name from ``units`` / ``townships``.
        rank: Competition rank (1 = best) over on-time, closure and satisfaction rate; None without any rate.
        figures: Its counts and rates.
    """

    code: str
    name: str
    rank: int | None
    figures: Figures

    def to_dict(self) -> dict[str, Any]:
        """``{"code", "name", "rank", "new", "closed", …}``: the figures flattened into the row (a table row)."""
        return {"code": self.code, "name": self.name, "rank": self.rank, **self.figures.to_dict()}


@dataclass(frozen=True)
class PeriodFigures:
    """Everything the Overview shows for one period.

    Attributes:
        period: The window.
        totals: All valid cases.
        rejected: Reports filed in the period and rejected (counted nowhere else).
        by_unit: Lead units, ranked.
        by_township: Townships, ranked.
    """

    period: Period
    totals: Figures
    rejected: int
    by_unit: tuple[RankedRow, ...]
    by_township: tuple[RankedRow, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "totals": self.totals.to_dict(),
            "rejected": self.rejected,
            "by_unit": [row.to_dict() for row in self.by_unit],
            "by_township": [row.to_dict() for row in self.by_township],
        }


@dataclass(frozen=True)
class Overview:
    """The Overview page's figures at ``now``.

    Attributes:
        now: When they were computed (aware UTC).
        zone: The time zone of the periods (``Asia/Shanghai``).
        today: The calendar day of ``now``.
        month: The calendar month of ``now``.
        open_overdue: Accepted cases with no standing result past their deadline at ``now`` (any period).
    """

    now: dt.datetime
    zone: str
    today: PeriodFigures
    month: PeriodFigures
    open_overdue: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "zone": self.zone,
            "today": self.today.to_dict(),
            "month": self.month.to_dict(),
            "open_overdue": self.open_overdue,
        }


# ---------------------------------------------------------------------- periods
def _utc(value: dt.datetime, name: str = "now") -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive {name} {value.isoformat()} rejected: pass an aware datetime")
    return value.astimezone(UTC)


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def day_period(now: dt.datetime, zone: str = DEFAULT_ZONE) -> Period:
    """The calendar day of ``now`` in ``zone`` (name ``today``).

    Raises:
        ValueError: ``now`` is naive.
    """
    tz = ZoneInfo(zone)
    day = _utc(now).astimezone(tz).date()
    return Period("today", day.isoformat(), _local_midnight(day, tz), _local_midnight(day + dt.timedelta(days=1), tz))


def month_period(now: dt.datetime, zone: str = DEFAULT_ZONE) -> Period:
    """The calendar month of ``now`` in ``zone`` (name ``month``).

    Raises:
        ValueError: ``now`` is naive.
    """
    tz = ZoneInfo(zone)
    first = _utc(now).astimezone(tz).date().replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return Period("month", f"{first:%Y-%m}", _local_midnight(first, tz), _local_midnight(following, tz))


def period(start: dt.datetime, end: dt.datetime, *, name: str = "custom", label: str = "") -> Period:
    """Any window ``[start, end)`` (aware datetimes).

    Raises:
        ValueError: A naive bound, or ``end`` not after ``start``.
    """
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        raise ValueError(f"period end {end.isoformat()} is not after its start {start.isoformat()}")
    return Period(name, label or f"{start.isoformat()}/{end.isoformat()}", start, end)


# ---------------------------------------------------------------------- the figures
def overview(session_factory: sessionmaker, *, now: dt.datetime, zone: str = DEFAULT_ZONE) -> Overview:
    """The Overview page's figures at ``now``: today and this month in ``zone`` (see the module docstring).

    Four queries in one session: one scan of ``cases`` grouped by township, lead unit and whether the case is the
    unit's (both periods' sums side by side; totals, units and townships are added up from its few hundred groups),
    the names of the units and of the townships, and the open-overdue snapshot.

    Raises:
        ValueError: ``now`` is naive.
        ZoneInfoNotFoundError: Unknown ``zone``.
    """
    now = _utc(now)
    today, month = day_period(now, zone), month_period(now, zone)
    with session_factory() as session:
        today_figures, month_figures = _period_figures(session, [today, month], now)
        open_overdue = session.execute(
            select(func.count()).select_from(Case).where(_valid(), _accepted(), not_(_has_result()),
                                                         _not_in_review(), Case.deadline <= now)
        ).scalar_one()
    return Overview(now=now, zone=zone, today=today_figures, month=month_figures, open_overdue=open_overdue)


def period_figures(session_factory: sessionmaker, window: Period, *, now: dt.datetime) -> PeriodFigures:
    """The figures of any one window (e.g. last month, for its final ranking); ``now`` decides what is due.

    Raises:
        ValueError: ``now`` is naive.
    """
    now = _utc(now)
    with session_factory() as session:
        return _period_figures(session, [window], now)[0]


def _period_figures(session: Session, windows: Sequence[Period], now: dt.datetime) -> list[PeriodFigures]:
    """One scan of ``cases`` grouped by (township, lead unit, counts for the unit), summed up here three ways."""
    # Only cases filed, closed or marked overdue at or after the earliest start can count in any window.
    earliest = min(window.start for window in windows)
    relevant = or_(Case.created_at >= earliest, Case.closed_at >= earliest, Case.overdue_at >= earliest)
    columns = [column for index, window in enumerate(windows) for column in _columns(window, now, f"p{index}_")]
    names = [column.name for column in columns]
    for_unit = case((and_(Case.assigned_at.isnot(None), _not_with_dispatcher()), 1), else_=0).label("for_unit")
    groups = session.execute(
        select(Case.township_code, Case.lead_unit_code, for_unit, *columns)
        .where(relevant)
        .group_by(Case.township_code, Case.lead_unit_code, for_unit)
    ).all()

    totals: dict[str, int] = dict.fromkeys(names, 0)
    by_unit: dict[str, dict[str, int]] = {}
    by_township: dict[str, dict[str, int]] = {}
    for group in groups:
        targets = [totals, by_township.setdefault(group.township_code, dict.fromkeys(names, 0))]
        if group.for_unit:
            targets.append(by_unit.setdefault(group.lead_unit_code, dict.fromkeys(names, 0)))
        for name in names:
            value = _int(getattr(group, name))
            for target in targets:
                target[name] += value
    unit_names: dict[str, str] = {}
    if by_unit:
        unit_names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(list(by_unit)))).all())
    townships = session.execute(select(Township.code, Township.name).order_by(Township.code)).all()

    results = []
    for index, window in enumerate(windows):
        prefix = f"p{index}_"
        units = [(code, unit_names.get(code, code), _figures(sums, prefix)) for code, sums in by_unit.items()]
        places = [(code, name, _figures(by_township.get(code, {}), prefix)) for code, name in townships]
        results.append(
            PeriodFigures(
                period=window,
                totals=_figures(totals, prefix),
                rejected=totals[prefix + "rejected"],
                by_unit=rank([(code, name, figures) for code, name, figures in units if not figures.is_empty]),
                by_township=rank(places),
            )
        )
    return results


# ---------------------------------------------------------------------- conditions
def _valid() -> ColumnElement:
    return Case.status != _REJECTED


def _accepted() -> ColumnElement:
    return Case.accepted_at.isnot(None)


def _in_review() -> ColumnElement:
    return and_(Case.status == S.RETURNED.value, Case.needs_review.is_(True))


def _not_in_review() -> ColumnElement:
    return not_(_in_review())


def _not_with_dispatcher() -> ColumnElement:
    """Not a case a unit returned as not theirs, waiting for re-assignment (it is no unit's then)."""
    return not_(and_(Case.status == S.RETURNED.value, Case.needs_review.is_(False)))


def _has_result() -> ColumnElement:
    """The lead unit's last answer stands (module docstring: *standing result*)."""
    return or_(Case.status.in_((S.RESOLVED.value, S.CLOSED.value)), _in_review())


def _within(column: Any, window: Period) -> ColumnElement:
    return and_(column >= window.start, column < window.end)


def _count(*conditions: ColumnElement) -> ColumnElement:
    return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)


def _columns(window: Period, now: dt.datetime, prefix: str) -> list[ColumnElement]:
    """The conditional sums of one window, labelled ``<prefix><name>``."""
    valid, filed = _valid(), _within(Case.created_at, window)
    cohort = and_(valid, filed)
    result = _has_result()
    due = and_(_accepted(), or_(result, and_(Case.deadline <= now, _not_in_review())))
    sums = {
        "new": _count(cohort),
        "rejected": _count(filed, Case.status == _REJECTED),
        "closed": _count(valid, Case.status == _CLOSED, _within(Case.closed_at, window)),
        "overdue": _count(valid, _within(Case.overdue_at, window)),
        "assigned": _count(cohort, Case.assigned_at.isnot(None)),
        "replied": _count(cohort, Case.assigned_at.isnot(None), result),
        "accepted": _count(cohort, _accepted()),
        "closed_of_accepted": _count(cohort, _accepted(), Case.status == _CLOSED),
        "due": _count(cohort, due),
        "on_time": _count(cohort, result, Case.resolved_at <= Case.deadline),
        "rated": _count(cohort, Case.rating.in_(_RESIDENT_RATINGS)),
        "satisfied": _count(cohort, Case.rating.in_(_GOOD_RATINGS)),
    }
    return [column.label(prefix + name) for name, column in sums.items()]


def _int(value: Any) -> int:
    return int(value or 0)


def _figures(sums: dict[str, int], prefix: str) -> Figures:
    def get(name: str) -> int:
        return sums.get(prefix + name, 0)

    return Figures(
        new=get("new"),
        closed=get("closed"),
        overdue=get("overdue"),
        reply_rate=Rate(get("replied"), get("assigned")),
        closure_rate=Rate(get("closed_of_accepted"), get("accepted")),
        on_time_rate=Rate(get("on_time"), get("due")),
        satisfaction_rate=Rate(get("satisfied"), get("rated")),
    )



# ---------------------------------------------------------------------- ranking
def _rank_key(figures: Figures) -> tuple[float | None, ...]:
    return (figures.on_time_rate.value, figures.closure_rate.value, figures.satisfaction_rate.value)


def rank(rows: Sequence[tuple[str, str, Figures]]) -> tuple[RankedRow, ...]:
    """Order ``(code, name, figures)`` rows for 争先进位 and number them (module docstring: *Ranking*).

    Higher on-time rate first, then closure rate, then satisfaction rate; a None rate after every number; then by
    name (and code). Equal rates share a rank (1, 2, 2, 4); a row with no rate at all has rank None.
    """

    def order(row: tuple[str, str, Figures]) -> tuple[Any, ...]:
        code, name, figures = row
        return (*((value is None, -(value or 0.0)) for value in _rank_key(figures)), name, code)

    ranked: list[RankedRow] = []
    previous: tuple[float | None, ...] | None = None
    current = 0
    for position, (code, name, figures) in enumerate(sorted(rows, key=order), start=1):
        key = _rank_key(figures)
        if all(value is None for value in key):
            ranked.append(RankedRow(code, name, None, figures))
            continue
        if key != previous:
            current, previous = position, key
        ranked.append(RankedRow(code, name, current, figures))
    return tuple(ranked)



# ---------------------------------------------------------------------- 帮我办 (issue 6)
@dataclass(frozen=True)
class ProxyRow:
    """帮我办 figures of one township in one period: ``filed`` (proxy cases filed in it), ``responded_on_time``
    (of those, first response given by its due time: ``first_response_at <= first_response_due``), ``closed``
    (proxy cases closed in it, by ``closed_at``). Rejected ones count nowhere, as everywhere on the page."""

    code: str
    name: str
    filed: int
    responded_on_time: int
    closed: int

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "filed": self.filed,
                "responded_on_time": self.responded_on_time, "closed": self.closed}


def proxy_figures(session_factory: sessionmaker, *, now: dt.datetime,
                  zone: str = DEFAULT_ZONE) -> dict[str, tuple[ProxyRow, ...]]:
    """帮我办 counts per township for ``today`` and ``month`` (the periods of :func:`overview`): every township
    listed, zeros included, in the ``townships`` table's name order. One grouped query per period.

    Raises:
        ValueError: ``now`` is naive.
    """
    now = _utc(now)
    result: dict[str, tuple[ProxyRow, ...]] = {}
    with session_factory() as session:
        townships = session.execute(select(Township.code, Township.name).order_by(Township.name)).all()
        for window in (day_period(now, zone), month_period(now, zone)):
            filed = _within(Case.created_at, window)
            rows = session.execute(
                select(Case.township_code,
                       _count(filed),
                       _count(filed, Case.first_response_at.is_not(None),
                              Case.first_response_at <= Case.first_response_due),
                       _count(_within(Case.closed_at, window)))
                .where(Case.kind == "proxy", _valid())
                .group_by(Case.township_code)).all()
            sums = {code: (int(a or 0), int(b or 0), int(c or 0)) for code, a, b, c in rows}
            result[window.name] = tuple(ProxyRow(code, name, *sums.get(code, (0, 0, 0))) for code, name in townships)
    return result
