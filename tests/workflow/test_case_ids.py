"""Case ids: Asia/Shanghai day, format, per-day sequence, and the race on the first filing of a day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, insert, select

from workflow.case_ids import allocate_case_id, case_day, format_case_id, next_case_number
from workflow.db import make_engine
from workflow.models import CaseSequence

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: 23:59 and 00:01 in Asia/Shanghai; both are 29 November in UTC.
LAST_MINUTE_OF_29TH = dt.datetime(2026, 11, 29, 23, 59, tzinfo=SHANGHAI)
FIRST_MINUTE_OF_30TH = dt.datetime(2026, 11, 30, 0, 1, tzinfo=SHANGHAI)


def test_it_uses_the_shanghai_date():
    assert case_day(LAST_MINUTE_OF_29TH) == "20261129"
    assert case_day(FIRST_MINUTE_OF_30TH.astimezone(dt.timezone.utc)) == "20261130"


def test_it_rejects_a_naive_time():
    with pytest.raises(ValueError, match="naive"):
        case_day(dt.datetime(2026, 11, 30, 9, 0))


@pytest.mark.parametrize(
    "number,case_id", [(7, "JL20261129-0007"), (9999, "JL20261129-9999"), (12345, "JL20261129-12345")]
)
def test_it_formats_case_ids(number, case_id):
    assert format_case_id("20261129", number) == case_id


def test_it_counts_per_day_and_gives_back_rolled_back_numbers(session_factory):
    with session_factory.begin() as session:
        assert [allocate_case_id(session, LAST_MINUTE_OF_29TH) for _ in range(2)] == [
            "JL20261129-0001",
            "JL20261129-0002",
        ]
        assert allocate_case_id(session, FIRST_MINUTE_OF_30TH) == "JL20261130-0001"
    with session_factory() as session:
        assert next_case_number(session, "20261129") == 3
        session.rollback()
    with session_factory.begin() as session:
        assert next_case_number(session, "20261129") == 3


def test_it_bumps_the_row_another_filing_inserted_first(database_url, session_factory):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: no other filing can insert between our UPDATE and INSERT")
    other = make_engine(database_url)
    raced = []

    def insert_from_another_filing(conn, cursor, statement, parameters, context, executemany):
        # Our UPDATE found no row for the day; another filing inserts and commits it before our INSERT.
        if statement.lstrip().upper().startswith("UPDATE CASE_SEQUENCES") and cursor.rowcount == 0 and not raced:
            raced.append(True)
            with other.begin() as connection:
                connection.execute(insert(CaseSequence).values(day="20261130", last=5))

    engine = session_factory.kw["bind"]
    event.listen(engine, "after_cursor_execute", insert_from_another_filing)
    try:
        with session_factory.begin() as session:
            assert next_case_number(session, "20261130") == 6
    finally:
        event.remove(engine, "after_cursor_execute", insert_from_another_filing)
        other.dispose()
    assert raced == [True]
    with session_factory() as session:
        assert session.execute(select(CaseSequence.last)).scalar_one() == 6
