"""Tests for workflow/workcalendar.py.

The 2026 dates come from chinesecalendar 1.11.0 (State Council notice for 2026), printed with
``chinese_calendar.get_holidays`` / ``get_workdays``:
holidays 01-01..03, 02-15..23, 04-04..06, 05-01..05, 06-19..21, 09-25..27, 10-01..07;
make-up workdays 01-04 (Sun), 02-14 (Sat), 02-28 (Sat), 05-09 (Sat), 09-20 (Sun), 10-10 (Sat).
2027 comes from the shipped override file (provisional); 2031 is in no source.
"""

from __future__ import annotations

import datetime as dt
import logging
import textwrap
from pathlib import Path

import pytest

from workflow.workcalendar import (
    DEFAULT_DATA_DIR,
    OVERRIDE_FILE,
    PACKAGE_YEARS,
    CalendarDataError,
    WorkingCalendar,
    YearStatus,
    load_overrides,
)

D = dt.date

# Named days (2026 from chinesecalendar).
MON_2026_12_07 = D(2026, 12, 7)
FRI_2026_12_04 = D(2026, 12, 4)
SAT_2026_12_05 = D(2026, 12, 5)
WED_EVE_OF_NATIONAL_DAY_2026 = D(2026, 9, 30)
NATIONAL_DAY_2026 = D(2026, 10, 1)
FIRST_WORKDAY_AFTER_NATIONAL_DAY_2026 = D(2026, 10, 8)
MAKEUP_SAT_2026_10_10 = D(2026, 10, 10)
MAKEUP_SUN_2026_09_20 = D(2026, 9, 20)
MAKEUP_SAT_BEFORE_SPRING_FESTIVAL_2026 = D(2026, 2, 14)
SPRING_FESTIVAL_MON_2026 = D(2026, 2, 16)
FIRST_WORKDAY_AFTER_SPRING_FESTIVAL_2026 = D(2026, 2, 24)
NEW_YEAR_2027 = D(2027, 1, 1)
SPRING_FESTIVAL_DAY3_2027 = D(2027, 2, 8)
UNKNOWN_YEAR = 2031
NEW_YEAR_2031 = D(2031, 1, 1)  # a Wednesday; a holiday in reality, a working day in the fallback


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar.default()


def _write_override(tmp_path: Path, body: str) -> Path:
    path = tmp_path / OVERRIDE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (MON_2026_12_07, True),
        (FRI_2026_12_04, True),
        (SAT_2026_12_05, False),
        (D(2026, 12, 6), False),  # Sunday
        (NATIONAL_DAY_2026, False),
        (D(2026, 10, 7), False),
        (FIRST_WORKDAY_AFTER_NATIONAL_DAY_2026, True),
        (MAKEUP_SAT_2026_10_10, True),
        (MAKEUP_SUN_2026_09_20, True),
        (D(2026, 9, 25), False),  # Mid-autumn, a Friday
        (MAKEUP_SAT_BEFORE_SPRING_FESTIVAL_2026, True),
        (SPRING_FESTIVAL_MON_2026, False),
        (D(2026, 2, 23), False),  # last day of the 9-day block, a Monday
        (FIRST_WORKDAY_AFTER_SPRING_FESTIVAL_2026, True),
        (D(2026, 2, 28), True),  # make-up Saturday after Spring Festival
        (D(2026, 1, 2), False),  # New Year, a Friday
        (D(2026, 1, 4), True),  # make-up Sunday
        (D(2026, 12, 31), True),
    ],
)
def test_it_knows_2026_from_chinesecalendar(calendar: WorkingCalendar, day: dt.date, expected: bool) -> None:
    assert calendar.is_workday(day) is expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (NEW_YEAR_2027, False),
        (D(2027, 1, 4), True),
        (D(2027, 2, 5), False),  # 除夕
        (SPRING_FESTIVAL_DAY3_2027, False),  # 初三, a Monday
        (D(2027, 2, 9), True),
        (D(2027, 4, 5), False),  # 清明
        (D(2027, 6, 9), False),  # 端午
        (D(2027, 9, 15), False),  # 中秋
        (D(2027, 10, 1), False),
        (D(2027, 10, 4), True),  # no guessed 补假 or 调休 in the provisional year
    ],
)
def test_it_reads_2027_from_the_override_file(calendar: WorkingCalendar, day: dt.date, expected: bool) -> None:
    assert calendar.is_workday(day) is expected


@pytest.mark.parametrize(
    ("day", "include_self", "expected"),
    [
        (FRI_2026_12_04, False, MON_2026_12_07),
        (SAT_2026_12_05, False, MON_2026_12_07),
        (SAT_2026_12_05, True, MON_2026_12_07),
        (MON_2026_12_07, True, MON_2026_12_07),
        (MON_2026_12_07, False, D(2026, 12, 8)),
        (WED_EVE_OF_NATIONAL_DAY_2026, False, FIRST_WORKDAY_AFTER_NATIONAL_DAY_2026),
        (NATIONAL_DAY_2026, True, FIRST_WORKDAY_AFTER_NATIONAL_DAY_2026),
        (D(2026, 10, 9), False, MAKEUP_SAT_2026_10_10),
        (D(2026, 2, 13), False, MAKEUP_SAT_BEFORE_SPRING_FESTIVAL_2026),
        (MAKEUP_SAT_BEFORE_SPRING_FESTIVAL_2026, False, FIRST_WORKDAY_AFTER_SPRING_FESTIVAL_2026),
        (D(2026, 12, 31), False, D(2027, 1, 4)),
    ],
)
def test_it_finds_the_next_workday(
    calendar: WorkingCalendar, day: dt.date, include_self: bool, expected: dt.date
) -> None:
    assert calendar.next_workday(day, include_self=include_self) == expected


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (MON_2026_12_07, 0, MON_2026_12_07),
        (NATIONAL_DAY_2026, 0, NATIONAL_DAY_2026),  # n == 0 returns d even on a holiday
        (MON_2026_12_07, 1, D(2026, 12, 8)),
        (FRI_2026_12_04, 5, D(2026, 12, 11)),
        (WED_EVE_OF_NATIONAL_DAY_2026, 1, FIRST_WORKDAY_AFTER_NATIONAL_DAY_2026),
        (WED_EVE_OF_NATIONAL_DAY_2026, 3, MAKEUP_SAT_2026_10_10),
        (WED_EVE_OF_NATIONAL_DAY_2026, 4, D(2026, 10, 12)),
        (D(2026, 9, 18), 1, MAKEUP_SUN_2026_09_20),  # Friday → make-up Sunday, not Monday
        (D(2026, 12, 30), 2, D(2027, 1, 4)),
    ],
)
def test_it_adds_workdays_strictly_after_the_day(
    calendar: WorkingCalendar, day: dt.date, n: int, expected: dt.date
) -> None:
    assert calendar.add_workdays(day, n) == expected


@pytest.mark.parametrize("n", [-1, 1.5, True])
def test_it_refuses_a_bad_workday_count(calendar: WorkingCalendar, n: object) -> None:
    with pytest.raises(ValueError, match="n must be"):
        calendar.add_workdays(MON_2026_12_07, n)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (MON_2026_12_07, MON_2026_12_07, 0),
        (FRI_2026_12_04, MON_2026_12_07, 1),
        (SAT_2026_12_05, D(2026, 12, 6), 0),
        (WED_EVE_OF_NATIONAL_DAY_2026, MAKEUP_SAT_2026_10_10, 3),
        (MAKEUP_SAT_2026_10_10, WED_EVE_OF_NATIONAL_DAY_2026, -3),
        (D(2026, 2, 13), D(2026, 2, 28), 6),  # 02-14, 02-24..27, 02-28
    ],
)
def test_it_counts_workdays_in_the_half_open_range(
    calendar: WorkingCalendar, a: dt.date, b: dt.date, expected: int
) -> None:
    assert calendar.workdays_between(a, b) == expected


@pytest.mark.parametrize(
    "start",
    [FRI_2026_12_04, SAT_2026_12_05, D(2026, 9, 17), NATIONAL_DAY_2026, D(2026, 2, 12), D(2026, 12, 28)],
)
def test_it_counts_back_what_it_added(calendar: WorkingCalendar, start: dt.date) -> None:
    for n in range(0, 12):
        assert calendar.workdays_between(start, calendar.add_workdays(start, n)) == n


@pytest.mark.parametrize("value", [dt.datetime(2026, 12, 7, 10, 0), "2026-12-07", None])
def test_it_refuses_anything_but_a_date(calendar: WorkingCalendar, value: object) -> None:
    with pytest.raises(TypeError, match="datetime.date"):
        calendar.is_workday(value)  # type: ignore[arg-type]


def test_it_warns_once_for_a_provisional_year(
    calendar: WorkingCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="workflow.workcalendar")

    calendar.is_workday(D(2026, 12, 31))
    assert _warnings(caplog) == []

    calendar.is_workday(NEW_YEAR_2027)
    calendar.add_workdays(D(2027, 3, 1), 30)

    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "2027" in warnings[0] and "provisional" in warnings[0]
    assert calendar.schedule_for(2027).status is YearStatus.PROVISIONAL


def test_it_falls_back_to_weekends_for_an_unknown_year(
    calendar: WorkingCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="workflow.workcalendar")
    assert UNKNOWN_YEAR not in PACKAGE_YEARS

    assert calendar.is_workday(NEW_YEAR_2031) is True
    assert calendar.is_workday(D(2031, 1, 4)) is False  # Saturday
    assert calendar.next_workday(D(2031, 1, 3)) == D(2031, 1, 6)

    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert str(UNKNOWN_YEAR) in warnings[0] and "Saturdays and Sundays" in warnings[0]
    assert calendar.schedule_for(UNKNOWN_YEAR).status is YearStatus.WEEKENDS_ONLY


def test_it_lets_the_override_file_win_over_chinesecalendar(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="workflow.workcalendar")
    _write_override(
        tmp_path,
        """\
        years:
          2026:
            status: official
            source: county correction (test)
            holidays: [2026-10-01, 2026-10-02, 2026-12-31]
            makeup_workdays: [2026-12-26]
        """,
    )
    assert 2026 in PACKAGE_YEARS

    calendar = WorkingCalendar.default(data_dir=tmp_path)

    assert calendar.is_workday(D(2026, 12, 31)) is False
    assert calendar.is_workday(D(2026, 12, 26)) is True  # a Saturday made a working day
    # The override's year is complete: package holidays it does not list are ordinary days again.
    assert calendar.is_workday(D(2026, 10, 5)) is True
    assert calendar.is_workday(MAKEUP_SAT_2026_10_10) is False
    assert _warnings(caplog) == []  # official: nothing to warn about


def test_it_ships_a_valid_provisional_2027(calendar: WorkingCalendar) -> None:
    schedules = load_overrides(DEFAULT_DATA_DIR / OVERRIDE_FILE)
    schedule = schedules[2027]

    assert schedule.status is YearStatus.PROVISIONAL
    assert schedule.makeup_workdays == frozenset()
    # 元旦 1 + 春节 4 + 清明 1 + 劳动节 2 + 端午 1 + 中秋 1 + 国庆 3 statutory days (2025 rules).
    assert len(schedule.holidays) == 13


def test_it_works_without_an_override_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="workflow.workcalendar")

    calendar = WorkingCalendar.default(data_dir=tmp_path)

    assert any("not found" in message for message in _warnings(caplog))
    assert calendar.is_workday(NATIONAL_DAY_2026) is False
    assert calendar.is_workday(NEW_YEAR_2027) is True  # 2027 now falls back to weekends only


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            """\
            years:
              2027: {status: official, source: x, holidays: [2027-02-30], makeup_workdays: []}
            """,
            "invalid date '2027-02-30'",
            id="impossible-date",
        ),
        pytest.param(
            """\
            years:
              2027: {status: official, source: x, holidays: ["2027/10/01"], makeup_workdays: []}
            """,
            "'2027/10/01' is not a date",
            id="not-iso",
        ),
        pytest.param(
            """\
            years:
              2027: {status: official, source: x, holidays: [2026-12-31], makeup_workdays: []}
            """,
            "holidays: 2026-12-31 is not in 2027",
            id="wrong-year",
        ),
        pytest.param(
            """\
            years:
              2027: {status: official, source: x, holidays: [2027-02-06], makeup_workdays: [2027-02-06]}
            """,
            "['2027-02-06'] listed both as holidays and as makeup_workdays",
            id="holiday-and-makeup",
        ),
        pytest.param(
            """\
            years:
              2027: {status: official, source: x, holidays: [], makeup_workdays: [2027-02-09]}
            """,
            "are not Saturdays or Sundays",
            id="makeup-on-weekday",
        ),
        pytest.param(
            """\
            years:
              2027: {status: draft, source: x, holidays: [], makeup_workdays: []}
            """,
            "status must be 'official' or 'provisional'",
            id="bad-status",
        ),
        pytest.param(
            """\
            years:
              2027: {status: official, holidays: [], makeup_workdays: []}
            """,
            "missing keys ['source']",
            id="missing-source",
        ),
        pytest.param(
            """\
            years:
              2027: {status: official, source: x, holidays: [], makeup_workday: []}
            """,
            "unknown keys ['makeup_workday']",
            id="unknown-key",
        ),
        pytest.param(
            """\
            years:
              next: {status: official, source: x, holidays: [], makeup_workdays: []}
            """,
            "year key 'next' is not a four-digit year",
            id="bad-year-key",
        ),
        pytest.param(
            """\
            years:
              2027: {status: official, source: x, holidays: [2027-01-01 09:00:00], makeup_workdays: []}
            """,
            "has a time",
            id="datetime",
        ),
        pytest.param("years: [2027]\n", "`years` must map a year", id="years-not-mapping"),
        pytest.param("years:\n  2027: {status: [unclosed\n", "not a valid calendar file", id="bad-yaml"),
    ],
)
def test_it_rejects_a_bad_override_file_naming_it(tmp_path: Path, body: str, message: str) -> None:
    path = _write_override(tmp_path, body)

    with pytest.raises(CalendarDataError) as excinfo:
        WorkingCalendar.default(data_dir=tmp_path)

    assert str(path) in str(excinfo.value)
    assert message in str(excinfo.value)
    assert excinfo.value.path == path
    assert excinfo.value.to_dict()["code"] == "calendar_data_invalid"


def test_it_gives_up_on_data_without_any_working_day(tmp_path: Path) -> None:
    days = [D(2027, 1, 1) + dt.timedelta(days=i) for i in range(365)]
    listed = ", ".join(day.isoformat() for day in days if day.weekday() < 5)
    _write_override(
        tmp_path,
        f"""\
        years:
          2027: {{status: official, source: broken, holidays: [{listed}], makeup_workdays: []}}
        """,
    )
    calendar = WorkingCalendar.default(data_dir=tmp_path)

    with pytest.raises(CalendarDataError, match="no working day within"):
        calendar.next_workday(D(2027, 3, 1))
