"""Tests for workflow/deadlines.py (限时办结).

2026 working days come from chinesecalendar 1.11.0 (see tests/workflow/test_workcalendar.py for the table);
2027 from the shipped, provisional override file; 2031 is in no source. No test reads the clock: every
instant is a named constant in Asia/Shanghai (CST, UTC+8).
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from workflow.deadlines import (
    DEFAULT_POLICY,
    DeadlinePolicy,
    MatterType,
    OfficeHours,
    compute_deadline,
    deadline_warning_at,
    format_deadline_zh,
)
from workflow.workcalendar import WorkingCalendar

CST = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc


def cst(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=CST)


EMERGENCY = MatterType.EMERGENCY
POLICY = MatterType.POLICY_CONSULTATION
PUBLIC = MatterType.PUBLIC_SERVICE
OTHER = MatterType.OTHER

# Acceptance instants.
MON_MORNING = cst(2026, 12, 7, 10, 0)
MON_BEFORE_CLOSE = cst(2026, 12, 7, 17, 29)
MON_AT_CLOSE = cst(2026, 12, 7, 17, 30)
MON_AFTER_CLOSE = cst(2026, 12, 7, 17, 31)
MON_LATE_NIGHT = cst(2026, 12, 7, 23, 15)
FRI_EVENING = cst(2026, 12, 4, 19, 0)
SAT_MORNING = cst(2026, 12, 5, 10, 0)
EVE_OF_NATIONAL_DAY_MORNING = cst(2026, 9, 30, 10, 0)  # Wednesday, a working day
EVE_OF_NATIONAL_DAY_EVENING = cst(2026, 9, 30, 18, 0)
EVE_OF_NATIONAL_DAY_NEAR_MIDNIGHT = cst(2026, 9, 30, 23, 30)
NATIONAL_DAY_MORNING = cst(2026, 10, 1, 10, 0)
NATIONAL_DAY_AFTERNOON = cst(2026, 10, 3, 15, 0)
FRI_BEFORE_MAKEUP_SAT = cst(2026, 10, 9, 9, 0)
MAKEUP_SAT_MORNING = cst(2026, 10, 10, 10, 0)  # 调休上班
BEFORE_SPRING_FESTIVAL_FRI = cst(2026, 2, 13, 10, 0)
SPRING_FESTIVAL_WED = cst(2026, 2, 18, 10, 0)
NEW_YEARS_EVE_2026 = cst(2026, 12, 31, 10, 0)
NEW_YEAR_2031 = cst(2031, 1, 1, 10, 0)  # Wednesday; a holiday in reality, unknown to every source
SF_MAKEUP_SAT_MORNING = cst(2026, 2, 14, 9, 0)  # 调休上班 before the Spring Festival
SF_LAST_MAKEUP_SAT = cst(2026, 2, 28, 11, 0)  # 调休上班 after it
MON_BEFORE_DAWN = cst(2026, 12, 7, 0, 30)
NEW_YEARS_EVE_2025_MORNING = cst(2025, 12, 31, 10, 0)  # Wednesday, a working day
NEW_YEARS_EVE_2025_EVENING = cst(2025, 12, 31, 18, 0)
NEW_YEARS_EVE_2025_LATE = cst(2025, 12, 31, 23, 0)
NEW_YEARS_DAY_2026 = cst(2026, 1, 1, 9, 0)
NEW_YEAR_UTC_EVENING = dt.datetime(2025, 12, 31, 16, 30, tzinfo=UTC)  # 2026-01-01 00:30 in Shanghai
MAKEUP_SUN_MORNING = cst(2026, 1, 4, 10, 0)  # Sunday, 调休上班
MAKEUP_SUN_EVENING = cst(2026, 1, 4, 18, 0)
BEFORE_LABOUR_DAY_AFTER_CLOSE = cst(2026, 4, 30, 17, 45)  # Thursday
FRI_BEFORE_LD_MAKEUP_SAT = cst(2026, 5, 8, 10, 0)
LD_MAKEUP_SAT_AT_CLOSE = cst(2026, 5, 9, 17, 30)
BEFORE_MID_AUTUMN_THU = cst(2026, 9, 24, 16, 0)

# Deadlines.
CLOSE_MON_12_07 = cst(2026, 12, 7, 17, 30)
CLOSE_TUE_12_08 = cst(2026, 12, 8, 17, 30)
CLOSE_WED_12_09 = cst(2026, 12, 9, 17, 30)
CLOSE_TUE_12_15 = cst(2026, 12, 15, 17, 30)
CLOSE_WED_12_16 = cst(2026, 12, 16, 17, 30)


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar.default()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    ("matter_type", "accepted_at", "expected"),
    [
        # Ordinary week.
        pytest.param(EMERGENCY, MON_MORNING, cst(2026, 12, 7, 12, 0), id="week-emergency"),
        pytest.param(POLICY, MON_MORNING, CLOSE_MON_12_07, id="week-policy"),
        pytest.param(PUBLIC, MON_MORNING, CLOSE_WED_12_09, id="week-public"),
        pytest.param(OTHER, MON_MORNING, CLOSE_WED_12_16, id="week-other"),
        # Friday evening: the weekend does not count.
        pytest.param(POLICY, FRI_EVENING, CLOSE_MON_12_07, id="fri-evening-policy"),
        pytest.param(PUBLIC, FRI_EVENING, CLOSE_TUE_12_08, id="fri-evening-public"),
        pytest.param(OTHER, FRI_EVENING, CLOSE_TUE_12_15, id="fri-evening-other"),
        # Saturday: same as Friday evening, the acceptance day never counts.
        pytest.param(POLICY, SAT_MORNING, CLOSE_MON_12_07, id="sat-policy"),
        pytest.param(PUBLIC, SAT_MORNING, CLOSE_TUE_12_08, id="sat-public"),
        pytest.param(OTHER, SAT_MORNING, CLOSE_TUE_12_15, id="sat-other"),
        # National Day 2026: 10-01..07 off, 10-10 (Sat) worked.
        pytest.param(POLICY, EVE_OF_NATIONAL_DAY_MORNING, cst(2026, 9, 30, 17, 30), id="nd-eve-policy"),
        pytest.param(POLICY, EVE_OF_NATIONAL_DAY_EVENING, cst(2026, 10, 8, 17, 30), id="nd-eve-late-policy"),
        pytest.param(PUBLIC, EVE_OF_NATIONAL_DAY_MORNING, cst(2026, 10, 9, 17, 30), id="nd-eve-public"),
        pytest.param(OTHER, EVE_OF_NATIONAL_DAY_MORNING, cst(2026, 10, 15, 17, 30), id="nd-eve-other"),
        pytest.param(POLICY, NATIONAL_DAY_AFTERNOON, cst(2026, 10, 8, 17, 30), id="nd-policy"),
        pytest.param(PUBLIC, NATIONAL_DAY_AFTERNOON, cst(2026, 10, 9, 17, 30), id="nd-public"),
        # Make-up Saturday 2026-10-10 counts as a working day.
        pytest.param(PUBLIC, FRI_BEFORE_MAKEUP_SAT, cst(2026, 10, 12, 17, 30), id="makeup-sat-counted"),
        pytest.param(POLICY, MAKEUP_SAT_MORNING, cst(2026, 10, 10, 17, 30), id="makeup-sat-policy-same-day"),
        # Policy consultation around 17:30 and on a holiday.
        pytest.param(POLICY, MON_BEFORE_CLOSE, CLOSE_MON_12_07, id="policy-17:29"),
        pytest.param(POLICY, MON_AT_CLOSE, CLOSE_TUE_12_08, id="policy-17:30"),
        pytest.param(POLICY, MON_AFTER_CLOSE, CLOSE_TUE_12_08, id="policy-17:31"),
        pytest.param(POLICY, NATIONAL_DAY_MORNING, cst(2026, 10, 8, 17, 30), id="policy-holiday"),
        # Emergency: wall clock, across midnight and across a holiday.
        pytest.param(EMERGENCY, MON_LATE_NIGHT, cst(2026, 12, 8, 1, 15), id="emergency-midnight"),
        pytest.param(EMERGENCY, NATIONAL_DAY_MORNING, cst(2026, 10, 1, 12, 0), id="emergency-holiday"),
        pytest.param(
            EMERGENCY, EVE_OF_NATIONAL_DAY_NEAR_MIDNIGHT, cst(2026, 10, 1, 1, 30), id="emergency-into-holiday"
        ),
        # Spring Festival 2026: 02-15..23 off; 02-14 (Sat) and 02-28 (Sat) worked.
        pytest.param(POLICY, BEFORE_SPRING_FESTIVAL_FRI, cst(2026, 2, 13, 17, 30), id="sf-policy"),
        pytest.param(PUBLIC, BEFORE_SPRING_FESTIVAL_FRI, cst(2026, 2, 24, 17, 30), id="sf-public"),
        pytest.param(OTHER, BEFORE_SPRING_FESTIVAL_FRI, cst(2026, 3, 2, 17, 30), id="sf-other"),
        pytest.param(POLICY, SPRING_FESTIVAL_WED, cst(2026, 2, 24, 17, 30), id="sf-during-policy"),
        pytest.param(OTHER, SPRING_FESTIVAL_WED, cst(2026, 3, 3, 17, 30), id="sf-during-other"),
        pytest.param(POLICY, SF_MAKEUP_SAT_MORNING, cst(2026, 2, 14, 17, 30), id="sf-makeup-sat-policy"),
        pytest.param(OTHER, SF_LAST_MAKEUP_SAT, cst(2026, 3, 10, 17, 30), id="sf-makeup-sat-other"),
        # After hours and before office hours: only policy consultation looks at the time of day.
        pytest.param(POLICY, MON_BEFORE_DAWN, CLOSE_MON_12_07, id="policy-00:30"),
        pytest.param(PUBLIC, MON_AFTER_CLOSE, CLOSE_WED_12_09, id="public-after-close"),
        pytest.param(OTHER, MON_LATE_NIGHT, CLOSE_WED_12_16, id="other-late-night"),
        # Year end 2025/2026: 01-01..03 off, Sunday 01-04 worked (调休).
        pytest.param(POLICY, NEW_YEARS_EVE_2025_EVENING, cst(2026, 1, 4, 17, 30), id="ye-policy-to-makeup-sun"),
        pytest.param(PUBLIC, NEW_YEARS_EVE_2025_MORNING, cst(2026, 1, 5, 17, 30), id="ye-public"),
        pytest.param(OTHER, NEW_YEARS_EVE_2025_MORNING, cst(2026, 1, 12, 17, 30), id="ye-other"),
        pytest.param(EMERGENCY, NEW_YEARS_EVE_2025_LATE, cst(2026, 1, 1, 1, 0), id="ye-emergency-wall-clock"),
        pytest.param(POLICY, NEW_YEARS_DAY_2026, cst(2026, 1, 4, 17, 30), id="ye-policy-holiday"),
        pytest.param(POLICY, NEW_YEAR_UTC_EVENING, cst(2026, 1, 4, 17, 30), id="ye-utc-is-already-new-year"),
        pytest.param(POLICY, MAKEUP_SUN_MORNING, cst(2026, 1, 4, 17, 30), id="makeup-sun-policy-same-day"),
        pytest.param(POLICY, MAKEUP_SUN_EVENING, cst(2026, 1, 5, 17, 30), id="makeup-sun-policy-after-close"),
        # Labour Day 2026: 05-01..05 off, Saturday 05-09 worked.
        pytest.param(POLICY, BEFORE_LABOUR_DAY_AFTER_CLOSE, cst(2026, 5, 6, 17, 30), id="ld-policy-after-close"),
        pytest.param(PUBLIC, BEFORE_LABOUR_DAY_AFTER_CLOSE, cst(2026, 5, 7, 17, 30), id="ld-public-after-close"),
        pytest.param(OTHER, BEFORE_LABOUR_DAY_AFTER_CLOSE, cst(2026, 5, 13, 17, 30), id="ld-other-counts-makeup-sat"),
        pytest.param(PUBLIC, FRI_BEFORE_LD_MAKEUP_SAT, cst(2026, 5, 11, 17, 30), id="ld-public-counts-makeup-sat"),
        pytest.param(POLICY, LD_MAKEUP_SAT_AT_CLOSE, cst(2026, 5, 11, 17, 30), id="ld-makeup-sat-policy-17:30"),
        # Mid-Autumn 2026: Friday 09-25 off.
        pytest.param(PUBLIC, BEFORE_MID_AUTUMN_THU, cst(2026, 9, 29, 17, 30), id="mid-autumn-public"),
    ],
)
def test_it_computes_the_deadline(
    calendar: WorkingCalendar, matter_type: MatterType, accepted_at: dt.datetime, expected: dt.datetime
) -> None:
    deadline = compute_deadline(matter_type, accepted_at, calendar)

    assert deadline == expected
    assert deadline.tzinfo is UTC


def test_it_takes_the_working_day_in_shanghai_not_utc(calendar: WorkingCalendar) -> None:
    # 2026-12-07 16:30 UTC is already Tuesday 00:30 in Shanghai.
    accepted_at = dt.datetime(2026, 12, 7, 16, 30, tzinfo=UTC)

    assert compute_deadline(POLICY, accepted_at, calendar) == CLOSE_TUE_12_08
    assert compute_deadline(PUBLIC, accepted_at, calendar) == cst(2026, 12, 10, 17, 30)


def test_it_accepts_the_matter_type_code(calendar: WorkingCalendar) -> None:
    assert compute_deadline("public_service", MON_MORNING, calendar) == CLOSE_WED_12_09


def test_it_rejects_an_unknown_matter_type(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="complaint"):
        compute_deadline("complaint", MON_MORNING, calendar)


@pytest.mark.parametrize("matter_type", list(MatterType))
def test_it_rejects_a_naive_acceptance_time(calendar: WorkingCalendar, matter_type: MatterType) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_deadline(matter_type, dt.datetime(2026, 12, 7, 10, 0), calendar)


@pytest.mark.parametrize(
    ("matter_type", "expected"),
    [
        pytest.param(PUBLIC, cst(2027, 1, 5, 17, 30), id="public"),  # 01-01 off; 01-04, 01-05
        pytest.param(OTHER, cst(2027, 1, 12, 17, 30), id="other"),  # 01-04..08, 01-11, 01-12
    ],
)
def test_it_crosses_into_provisional_2027_with_a_warning(
    calendar: WorkingCalendar,
    caplog: pytest.LogCaptureFixture,
    matter_type: MatterType,
    expected: dt.datetime,
) -> None:
    caplog.set_level(logging.WARNING, logger="workflow.workcalendar")

    assert compute_deadline(matter_type, NEW_YEARS_EVE_2026, calendar) == expected

    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "2027" in warnings[0] and "provisional" in warnings[0]


def test_it_falls_back_to_weekends_in_an_unknown_year(
    calendar: WorkingCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="workflow.workcalendar")

    assert compute_deadline(POLICY, NEW_YEAR_2031, calendar) == cst(2031, 1, 1, 17, 30)
    assert compute_deadline(PUBLIC, NEW_YEAR_2031, calendar) == cst(2031, 1, 3, 17, 30)

    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "2031" in warnings[0]


def test_it_follows_a_configured_policy(calendar: WorkingCalendar) -> None:
    policy = DeadlinePolicy(
        office_hours=OfficeHours(end_of_day=dt.time(18, 0)),
        emergency_duration=dt.timedelta(minutes=30),
        public_service_workdays=3,
        other_workdays=5,
    )

    assert compute_deadline(EMERGENCY, MON_MORNING, calendar, policy) == cst(2026, 12, 7, 10, 30)
    assert compute_deadline(POLICY, MON_AFTER_CLOSE, calendar, policy) == cst(2026, 12, 7, 18, 0)
    assert compute_deadline(PUBLIC, MON_MORNING, calendar, policy) == cst(2026, 12, 10, 18, 0)
    assert compute_deadline(OTHER, MON_MORNING, calendar, policy) == cst(2026, 12, 14, 18, 0)


def test_it_has_the_county_defaults() -> None:
    assert DEFAULT_POLICY.office_hours == OfficeHours("Asia/Shanghai", dt.time(17, 30))
    assert DEFAULT_POLICY.emergency_duration == dt.timedelta(hours=2)
    assert (DEFAULT_POLICY.public_service_workdays, DEFAULT_POLICY.other_workdays) == (2, 7)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"emergency_duration": dt.timedelta(0)},
        {"public_service_workdays": 0},
        {"other_workdays": -1},
        {"other_workdays": 2.5},
    ],
)
def test_it_rejects_a_bad_policy(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        DeadlinePolicy(**kwargs)


def test_it_rejects_bad_office_hours() -> None:
    with pytest.raises(ValueError):
        OfficeHours(end_of_day=dt.time(17, 30, tzinfo=UTC))
    with pytest.raises(Exception):  # zoneinfo.ZoneInfoNotFoundError, a KeyError
        OfficeHours(timezone="Asia/Nowhere")


@pytest.mark.parametrize(
    ("matter_type", "label"),
    [(EMERGENCY, "突发紧急"), (POLICY, "政策咨询"), (PUBLIC, "公共服务"), (OTHER, "其他")],
)
def test_it_labels_matter_types_in_chinese(matter_type: MatterType, label: str) -> None:
    assert matter_type.label == label
    assert MatterType(matter_type.value) is matter_type


@pytest.mark.parametrize(
    ("accepted_at", "deadline", "fraction", "expected"),
    [
        pytest.param(MON_MORNING, cst(2026, 12, 7, 12, 0), 0.8, cst(2026, 12, 7, 11, 36), id="emergency-80%"),
        pytest.param(MON_MORNING, CLOSE_WED_12_09, 0.8, cst(2026, 12, 9, 6, 24), id="public-80%"),
        pytest.param(MON_MORNING, CLOSE_WED_12_09, 0.5, cst(2026, 12, 8, 13, 45), id="public-50%"),
        pytest.param(MON_MORNING, CLOSE_WED_12_09, 1.0, CLOSE_WED_12_09, id="at-deadline"),
        pytest.param(MON_MORNING, CLOSE_WED_12_09, 0.0, MON_MORNING, id="at-acceptance"),
    ],
)
def test_it_places_the_warning_at_a_fraction_of_the_span(
    accepted_at: dt.datetime, deadline: dt.datetime, fraction: float, expected: dt.datetime
) -> None:
    warning_at = deadline_warning_at(accepted_at, deadline.astimezone(UTC), fraction)

    assert warning_at == expected
    assert warning_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("accepted_at", "deadline", "fraction", "message"),
    [
        pytest.param(CLOSE_WED_12_09, MON_MORNING, 0.8, "before accepted_at", id="reversed"),
        pytest.param(MON_MORNING, CLOSE_WED_12_09, 1.2, "between 0 and 1", id="fraction>1"),
        pytest.param(MON_MORNING, CLOSE_WED_12_09, -0.1, "between 0 and 1", id="fraction<0"),
        pytest.param(dt.datetime(2026, 12, 7, 10, 0), CLOSE_WED_12_09, 0.8, "timezone-aware", id="naive"),
    ],
)
def test_it_rejects_a_bad_warning_span(
    accepted_at: dt.datetime, deadline: dt.datetime, fraction: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        deadline_warning_at(accepted_at, deadline, fraction)


@pytest.mark.parametrize(
    ("deadline", "text"),
    [
        pytest.param(CLOSE_TUE_12_08, "2026年12月8日(星期二)17:30前", id="cst"),
        pytest.param(dt.datetime(2026, 12, 8, 9, 30, tzinfo=UTC), "2026年12月8日(星期二)17:30前", id="utc"),
        pytest.param(cst(2026, 12, 7, 15, 42, 59), "2026年12月7日(星期一)15:42前", id="emergency-seconds"),
        pytest.param(cst(2026, 12, 8, 1, 15), "2026年12月8日(星期二)01:15前", id="after-midnight"),
        pytest.param(cst(2026, 12, 6, 9, 5), "2026年12月6日(星期日)09:05前", id="sunday"),
        pytest.param(cst(2027, 1, 12, 17, 30), "2027年1月12日(星期二)17:30前", id="2027"),
    ],
)
def test_it_formats_the_deadline_in_chinese(deadline: dt.datetime, text: str) -> None:
    assert format_deadline_zh(deadline) == text


def test_it_refuses_to_format_a_naive_deadline() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_deadline_zh(dt.datetime(2026, 12, 8, 17, 30))
