"""The deadline policy file: the county's limits and office hours as data, validated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from workflow.deadlines import DEFAULT_POLICY, compute_deadline
from workflow.exceptions import ReferenceDataError
from workflow.policy import load_policy
from workflow.workcalendar import WorkingCalendar

DATA = Path(__file__).resolve().parents[2] / "data"
MONDAY_9 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 in Asia/Shanghai


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "deadline_policy.yml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_shipped_file_is_the_countys_practice():
    assert load_policy(DATA) == DEFAULT_POLICY


def test_a_county_that_closes_at_five_and_allows_five_days(tmp_path):
    policy = load_policy(write(tmp_path, 'end_of_day: "17:00"\nother_workdays: 5\nemergency_hours: 1.5\n'))
    calendar = WorkingCalendar.default(DATA)
    other = compute_deadline("other", MONDAY_9, calendar, policy)
    assert other.astimezone(policy.office_hours.tz).replace(tzinfo=None) == dt.datetime(2026, 12, 7, 17, 0)
    assert compute_deadline("emergency", MONDAY_9, calendar, policy) == MONDAY_9 + dt.timedelta(hours=1, minutes=30)


def test_an_unquoted_time_is_read_as_the_time_it_looks_like(tmp_path):
    assert load_policy(write(tmp_path, "end_of_day: 17:00\n")).office_hours.end_of_day == dt.time(17, 0)


def test_no_file_means_the_defaults(tmp_path):
    assert load_policy(tmp_path) == DEFAULT_POLICY


@pytest.mark.parametrize("text, named", [("other_workdays: 0\n", "other_workdays"),
                                         ("timezone: Mars/Olympus\n", "Mars"),
                                         ('end_of_day: "half past five"\n', "end_of_day"),
                                         ("office_hours: 9-17\n", "unknown keys"),
                                         ("- 1\n- 2\n", "mapping")])
def test_a_wrong_file_stops_with_a_clear_error(tmp_path, text, named):
    with pytest.raises(ReferenceDataError, match=named):
        load_policy(write(tmp_path, text))
