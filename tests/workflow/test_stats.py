"""The Overview figures (workflow.stats) on SQLite and PostgreSQL: Asia/Shanghai day and month boundaries, the four
rates with their denominators (None when empty), rejected reports counted nowhere, the breakdowns by unit and
township, the 争先进位 ranking, and a fixed number of aggregate queries whatever the number of cases."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from workflow.jobs import run_due
from workflow.stats import Figures, Rate, day_period, month_period, overview, period, period_figures, rank
from workflow.transitions import Actor
from workflow_support import report

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc

DISPATCHER = Actor.dispatcher("dispatcher-li")
RESIDENT = Actor.resident("wx-openid-1")


def at(*args: int) -> dt.datetime:
    """A Shanghai wall-clock time."""
    return dt.datetime(*args, tzinfo=SHANGHAI)


def unit(code: str) -> Actor:
    return Actor.unit(code, "staff")


class Cases:
    """Files and moves cases through the real services, each step at a given Shanghai time."""

    def __init__(self, case_service, lifecycle, clock) -> None:
        self.service, self.lc, self.clock = case_service, lifecycle, clock

    def when(self, moment: dt.datetime | None) -> None:
        if moment is not None:
            self.clock.now = moment.astimezone(UTC)

    def file(self, moment: dt.datetime | None = None, **overrides) -> str:
        self.when(moment)
        return self.service.file_report(report(**overrides)).case_id

    def accept(self, case_id: str, moment=None) -> None:
        self.when(moment)
        self.lc.accept(case_id, DISPATCHER, importance_level=1)

    def assign(self, case_id: str, moment=None) -> str:
        self.when(moment)
        return self.lc.assign(case_id, DISPATCHER).lead_unit.code

    def to_in_progress(self, case_id: str, moment=None) -> str:
        self.accept(case_id, moment)
        lead = self.assign(case_id)
        self.lc.acknowledge(case_id, unit(lead))
        return lead

    def resolve(self, case_id: str, moment=None) -> None:
        self.when(moment)
        lead = self.lc.get(case_id).lead_unit.code
        self.lc.resolve(case_id, unit(lead), result="已处理")

    def rate(self, case_id: str, rating: str, moment=None) -> None:
        self.when(moment)
        self.lc.rate(case_id, RESIDENT, rating)

    def reject(self, case_id: str, moment=None) -> None:
        self.when(moment)
        self.lc.reject(case_id, DISPATCHER, reason="invalid", note="无具体内容")


@pytest.fixture
def cases(case_service, lifecycle, clock) -> Cases:
    return Cases(case_service, lifecycle, clock)


def totals(figures) -> dict:
    """The totals of a PeriodFigures as plain values: counts and (numerator, denominator) of each rate."""
    f = figures.totals
    return {
        "new": f.new, "closed": f.closed, "overdue": f.overdue,
        "reply": (f.reply_rate.numerator, f.reply_rate.denominator),
        "closure": (f.closure_rate.numerator, f.closure_rate.denominator),
        "on_time": (f.on_time_rate.numerator, f.on_time_rate.denominator),
        "satisfaction": (f.satisfaction_rate.numerator, f.satisfaction_rate.denominator),
    }  # fmt: skip


# ---------------------------------------------------------------------- periods
def test_today_and_this_month_are_shanghai_calendar_periods_in_utc():
    late = at(2026, 11, 30, 23, 30)  # 15:30 UTC, the last day of November in Shanghai
    assert day_period(late) == period(
        dt.datetime(2026, 11, 29, 16, tzinfo=UTC), dt.datetime(2026, 11, 30, 16, tzinfo=UTC),
        name="today", label="2026-11-30")
    assert month_period(late) == period(
        dt.datetime(2026, 10, 31, 16, tzinfo=UTC), dt.datetime(2026, 11, 30, 16, tzinfo=UTC),
        name="month", label="2026-11")
    # 00:10 on 1 December in Shanghai is still 30 November in UTC: December already.
    early = at(2026, 12, 1, 0, 10)
    assert early.astimezone(UTC).date() == dt.date(2026, 11, 30)
    assert day_period(early).label == "2026-12-01"
    assert day_period(early).start == dt.datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert month_period(early).label == "2026-12"
    assert month_period(early).end == dt.datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert month_period(at(2026, 12, 31, 23, 59)).end == dt.datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert month_period(at(2027, 1, 1, 0, 0)).label == "2027-01"


def test_naive_times_and_empty_windows_are_refused():
    with pytest.raises(ValueError):
        day_period(dt.datetime(2026, 11, 30, 9, 30))
    with pytest.raises(ValueError):
        period(at(2026, 11, 30), at(2026, 11, 30))


def test_a_case_counts_in_the_shanghai_day_and_month_it_was_filed_in(session_factory, cases):
    cases.file(at(2026, 11, 30, 7, 0))  # 23:00 UTC on 29 November: Shanghai's 30th
    cases.file(at(2026, 11, 30, 23, 30))  # last day of the month, late evening
    cases.file(at(2026, 12, 1, 0, 10))  # 16:10 UTC on 30 November: Shanghai's December
    cases.file(at(2026, 10, 31, 23, 59))  # October

    november = overview(session_factory, now=at(2026, 11, 30, 23, 45))
    assert (november.today.totals.new, november.month.totals.new) == (2, 2)
    december = overview(session_factory, now=at(2026, 12, 1, 8, 0))
    assert (december.today.totals.new, december.month.totals.new) == (1, 1)
    assert december.month.period.label == "2026-12"
    october = period_figures(session_factory, month_period(at(2026, 10, 1)), now=at(2026, 12, 1, 8, 0))
    assert october.totals.new == 1  # 23:59 on 31 October


# ---------------------------------------------------------------------- counts and rates
def test_counts_and_rates_of_a_day(session_factory, cases, lifecycle):
    day = (2026, 11, 30)
    closed = cases.file(at(*day, 9, 30))
    cases.to_in_progress(closed)
    cases.resolve(closed)
    cases.rate(closed, "satisfied")  # replied, on time, closed, satisfied

    late = cases.file(at(*day, 9, 30), matter_type="emergency")  # due 11:30
    cases.to_in_progress(late)
    still_open = cases.file(at(*day, 9, 30), matter_type="emergency")
    cases.to_in_progress(still_open)
    reopened = cases.file(at(*day, 9, 30))
    cases.to_in_progress(reopened)
    cases.resolve(reopened)
    cases.rate(reopened, "unsatisfied")  # a new round, not due yet: no result, rated unsatisfied
    cases.file(at(*day, 9, 30))  # waiting for a dispatcher
    rejected = cases.file(at(*day, 9, 30))
    cases.reject(rejected)

    run_due(lifecycle, at(*day, 11, 45).astimezone(UTC))  # marks late and still_open overdue
    cases.resolve(late, at(*day, 12, 0))  # after its deadline

    result = overview(session_factory, now=at(*day, 16, 0))
    expected = {
        "new": 5,  # the rejected report is not among them
        "closed": 1,
        "overdue": 2,
        "reply": (2, 4),  # closed, late / closed, late, still_open, reopened
        "closure": (1, 4),  # closed / the four accepted
        "on_time": (1, 3),  # closed / closed, late, still_open (past its deadline); reopened is not due yet
        "satisfaction": (1, 2),  # closed / closed, reopened
    }
    assert totals(result.today) == expected
    assert totals(result.month) == expected
    assert result.today.rejected == result.month.rejected == 1
    assert result.open_overdue == 1  # still_open
    assert result.today.totals.reply_rate.value == 0.5
    assert result.today.totals.on_time_rate.value == pytest.approx(1 / 3)

    # the next day: nothing new today; November's cases stay November's
    tomorrow = overview(session_factory, now=at(2026, 12, 1, 9, 0))
    assert totals(tomorrow.today)["new"] == 0
    assert tomorrow.month.period.label == "2026-12"
    assert period_figures(session_factory, month_period(at(*day)), now=at(2026, 12, 1, 9, 0)).totals.new == 5


def test_closed_and_overdue_count_when_they_happen_rates_where_the_case_was_filed(session_factory, cases, lifecycle):
    answered_late = cases.file(at(2026, 10, 20, 9, 30))
    cases.to_in_progress(answered_late)
    cases.resolve(answered_late, at(2026, 11, 2, 9, 0))  # past its deadline (29 October)
    cases.rate(answered_late, "satisfied")
    forgotten = cases.file(at(2026, 10, 28, 9, 30))
    cases.to_in_progress(forgotten)
    run_due(lifecycle, at(2026, 11, 10, 9, 0).astimezone(UTC))  # marks forgotten overdue in November

    november = overview(session_factory, now=at(2026, 11, 30, 16, 0)).month
    assert (november.totals.new, november.totals.closed, november.totals.overdue) == (0, 1, 1)
    assert november.totals.on_time_rate.value is None  # nothing filed in November
    [ecology] = november.by_unit
    assert (ecology.figures.closed, ecology.figures.overdue, ecology.rank) == (1, 1, None)
    october = period_figures(session_factory, month_period(at(2026, 10, 1)), now=at(2026, 11, 30, 16, 0))
    assert totals(october)["new"] == 2 and totals(october)["closed"] == 0
    assert totals(october)["on_time"] == (0, 2) and totals(october)["closure"] == (1, 2)


def test_a_unit_with_nothing_in_a_period_is_not_listed_for_it(session_factory, cases):
    cases.to_in_progress(cases.file(at(2026, 11, 27, 9, 30)))
    result = overview(session_factory, now=at(2026, 11, 30, 16, 0))
    assert [row.code for row in result.month.by_unit] == ["county_ecology"]
    assert result.today.by_unit == ()


def test_rates_without_a_denominator_are_none(session_factory, cases):
    cases.file(at(2026, 11, 30, 9, 30))  # filed, not accepted: no rate has a case yet
    result = overview(session_factory, now=at(2026, 11, 30, 10, 0))
    figures = result.today.totals
    assert figures.new == 1
    for rate in (figures.reply_rate, figures.closure_rate, figures.on_time_rate, figures.satisfaction_rate):
        assert rate == Rate(0, 0) and rate.value is None
    data = json.loads(json.dumps(result.to_dict()))
    assert data["today"]["totals"]["closure_rate"] == {"numerator": 0, "denominator": 0, "value": None}
    assert data["today"]["by_unit"] == []  # assigned to nobody yet
    assert len(data["today"]["by_township"]) == 10
    assert all(row["rank"] is None for row in data["today"]["by_township"])

    empty = overview(session_factory, now=at(2026, 12, 1, 10, 0))
    assert empty.month.totals == Figures(0, 0, 0, Rate(0, 0), Rate(0, 0), Rate(0, 0), Rate(0, 0))


def test_rejected_reports_count_against_no_unit_or_township(session_factory, cases):
    kept = cases.file(at(2026, 11, 30, 9, 30))
    cases.to_in_progress(kept)
    cases.resolve(kept)
    # accepted, assigned to the same unit, returned as not theirs, then rejected: the unit's figures do not change
    thrown_out = cases.file(at(2026, 11, 30, 9, 30), matter_type="emergency")
    cases.to_in_progress(thrown_out)
    cases.lc.return_case(thrown_out, unit("county_ecology"), reason="不属于本单位职责")
    cases.reject(thrown_out)
    cases.reject(cases.file(at(2026, 11, 30, 9, 30), township="巨鹿镇"))

    result = overview(session_factory, now=at(2026, 11, 30, 16, 0))  # thrown_out's deadline (11:30) has passed
    [ecology] = result.today.by_unit
    assert ecology.code == "county_ecology" and ecology.name == "县生态环境分局"
    figures = ecology.figures
    assert (figures.new, figures.reply_rate, figures.on_time_rate) == (1, Rate(1, 1), Rate(1, 1))
    townships = {row.code: row for row in result.today.by_township}
    assert townships["wanghuzhai_zhen"].figures.new == 1
    assert townships["wanghuzhai_zhen"].figures.on_time_rate == Rate(1, 1)
    assert townships["julu_zhen"].figures.new == 0
    assert result.today.rejected == 2
    assert result.open_overdue == 0


def test_a_returned_case_waits_with_the_dispatcher_not_the_unit(session_factory, cases):
    returned = cases.file(at(2026, 11, 30, 9, 30), matter_type="emergency")
    cases.to_in_progress(returned)
    cases.lc.return_case(returned, unit("county_ecology"), reason="不属于本单位职责")

    result = overview(session_factory, now=at(2026, 11, 30, 16, 0))
    assert result.today.by_unit == ()
    assert totals(result.today)["on_time"] == (0, 1)  # past its deadline, with nobody's result
    assert result.open_overdue == 1
    # assigned again, to another unit: now it is theirs
    cases.lc.assign(returned, DISPATCHER, lead_unit="county_urban_management", reason="占道焚烧归城管")
    [row] = overview(session_factory, now=at(2026, 11, 30, 16, 0)).today.by_unit
    assert row.code == "county_urban_management" and row.figures.on_time_rate == Rate(0, 1)


# ---------------------------------------------------------------------- ranking
def test_units_are_ranked_by_on_time_then_closure_rate_then_name(session_factory, cases):
    morning = at(2026, 11, 30, 9, 30)
    best = cases.file(morning, category_code="city_management")  # 县城市管理综合行政执法局: on time, closed
    cases.to_in_progress(best)
    cases.resolve(best)
    cases.rate(best, "satisfied")
    for category in ("market_regulation", "transport", "eco_environment"):  # on time, not closed (yet)
        case_id = cases.file(morning, category_code=category)
        cases.to_in_progress(case_id)
        cases.resolve(case_id)
    late = cases.file(morning, category_code="water_conservancy", matter_type="emergency")  # 县水利局: late
    cases.to_in_progress(late)
    cases.resolve(late, at(2026, 11, 30, 12, 0))
    waiting = cases.file(morning, category_code="agriculture")  # 县农业农村局: assigned, not due
    cases.accept(waiting)
    cases.assign(waiting)

    rows = overview(session_factory, now=at(2026, 11, 30, 16, 0)).today.by_unit
    assert [(row.rank, row.name) for row in rows] == [
        (1, "县城市管理综合行政执法局"),
        (2, "县交通运输局"),  # three equal units share rank 2, in name order
        (2, "县市场监督管理局"),
        (2, "县生态环境分局"),
        (5, "县水利局"),
        (6, "县农业农村局"),  # no on-time rate yet: after every unit that has one
    ]
    assert rows[-1].figures.on_time_rate.value is None and rows[-1].figures.closure_rate == Rate(0, 1)
    assert rows[0].to_dict()["on_time_rate"]["value"] == 1.0


def test_townships_are_all_listed_and_ranked(session_factory, cases):
    morning = at(2026, 11, 30, 9, 30)
    good = cases.file(morning, township="巨鹿镇")
    cases.to_in_progress(good)
    cases.resolve(good)
    bad = cases.file(morning, township="王虎寨镇", matter_type="emergency")
    cases.to_in_progress(bad)

    rows = overview(session_factory, now=at(2026, 11, 30, 16, 0)).month.by_township
    assert [(row.rank, row.name) for row in rows[:2]] == [(1, "巨鹿镇"), (2, "王虎寨镇")]
    rest = rows[2:]
    assert len(rest) == 8 and all(row.rank is None and row.figures.new == 0 for row in rest)
    assert [row.name for row in rest] == sorted(row.name for row in rest)


def test_rank_orders_missing_rates_last_and_shares_ranks():
    def figures(on_time, closure, satisfaction=(0, 0)) -> Figures:
        return Figures(1, 0, 0, Rate(1, 1), Rate(*closure), Rate(*on_time), Rate(*satisfaction))

    rows = rank([
        ("e", "戊", figures((0, 0), (0, 0))),
        ("d", "丁", figures((0, 0), (1, 2))),
        ("c", "丙", figures((2, 3), (1, 1))),
        ("b", "乙", figures((4, 6), (1, 1), (1, 1))),
        ("a", "甲", figures((4, 6), (1, 1), (1, 1))),
        ("f", "己", figures((1, 1), (0, 1))),
    ])  # fmt: skip
    assert [(row.code, row.rank) for row in rows] == [
        ("f", 1), ("b", 2), ("a", 2), ("c", 4), ("d", 5), ("e", None),  # 乙 before 甲 (Unicode order)
    ]  # fmt: skip


# ---------------------------------------------------------------------- aggregate SQL
def test_the_overview_is_a_fixed_number_of_queries(session_factory, engine, cases):
    def queries() -> int:
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            overview(session_factory, now=at(2026, 11, 30, 16, 0))
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        # cases are only ever aggregated; the other reads are the units' and townships' names
        for statement in map(str.lower, statements):
            assert ("from cases" in statement) <= ("sum(" in statement or "count(" in statement), statement
        return len(statements)

    first = cases.file(at(2026, 11, 30, 9, 30))
    cases.to_in_progress(first)
    few = queries()
    for category in ("market_regulation", "transport", "eco_environment", "city_management"):
        cases.to_in_progress(cases.file(at(2026, 11, 30, 9, 30), category_code=category))
    assert queries() == few <= 4
