"""Models on SQLite and PostgreSQL: aware UTC datetimes, constraints, JSON, optimistic concurrency."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm.exc import StaleDataError

from workflow.cases import NewReport
from workflow.models import Case, CaseEvent, Township, UTCDateTime, Village

SHANGHAI = ZoneInfo("Asia/Shanghai")
NAIVE = dt.datetime(2026, 11, 30, 9, 30)
# The same instant written in Asia/Shanghai and in UTC.
SHANGHAI_MORNING = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
UTC_MORNING = dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.timezone.utc)


def _file(case_service, **overrides):
    values = dict(
        description="路灯不亮",
        category_code="city_management",
        matter_type="other",
        township="巨鹿镇",
        reporter_id="wx-100",
    )
    values.update(overrides)
    return case_service.file_report(NewReport(**values))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_it_rejects_naive_datetimes_before_they_reach_the_database(dialect):
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(NAIVE, dialect)


def test_it_stores_naive_utc_on_sqlite_and_aware_utc_on_postgresql():
    assert UTCDateTime().process_bind_param(SHANGHAI_MORNING, sqlite.dialect()) == NAIVE - dt.timedelta(hours=8)
    bound = UTCDateTime().process_bind_param(SHANGHAI_MORNING, postgresql.dialect())
    assert bound == UTC_MORNING and bound.utcoffset() == dt.timedelta(0)


def test_it_returns_aware_utc_datetimes(case_service, session_factory):
    view = _file(case_service)
    with session_factory.begin() as session:
        case = session.execute(select(Case).where(Case.case_id == view.case_id)).scalar_one()
        case.accepted_at = SHANGHAI_MORNING + dt.timedelta(hours=1)
    with session_factory() as session:
        case = session.execute(select(Case).where(Case.case_id == view.case_id)).scalar_one()
        for value in (case.created_at, case.accepted_at, case.deadline, case.updated_at, case.events[0].at):
            assert value.tzinfo is not None and value.utcoffset() == dt.timedelta(0)
        assert case.accepted_at == UTC_MORNING + dt.timedelta(hours=1)
        assert case.created_at == UTC_MORNING


def test_it_refuses_to_write_a_naive_datetime(case_service, session_factory):
    view = _file(case_service)
    with pytest.raises(StatementError) as raised:
        with session_factory.begin() as session:
            case = session.execute(select(Case).where(Case.case_id == view.case_id)).scalar_one()
            case.accepted_at = NAIVE
    assert isinstance(raised.value.orig, ValueError)


def test_it_compares_datetimes_as_instants_in_queries(case_service, session_factory):
    view = _file(case_service)
    with session_factory() as session:
        found = session.execute(select(Case.case_id).where(Case.created_at == SHANGHAI_MORNING)).scalars().all()
        later = session.execute(select(Case.case_id).where(Case.created_at > UTC_MORNING)).scalars().all()
    assert found == [view.case_id]
    assert later == []


def test_it_enforces_foreign_keys(session_factory):
    with pytest.raises(IntegrityError):
        with session_factory.begin() as session:
            session.add(Village(code="nowhere_x", name="无名村", township_code="no_such_township", aliases=[]))


def test_it_enforces_the_status_check(case_service, session_factory):
    view = _file(case_service)
    with pytest.raises(IntegrityError):
        with session_factory.begin() as session:
            session.execute(update(Case).where(Case.case_id == view.case_id).values(status="lost"))


def test_it_enforces_the_importance_level_range(case_service, session_factory):
    view = _file(case_service)
    with pytest.raises(IntegrityError):
        with session_factory.begin() as session:
            session.execute(update(Case).where(Case.case_id == view.case_id).values(importance_level=4))


def test_it_round_trips_chinese_json(session_factory):
    with session_factory() as session:
        township = session.get(Township, "julu_zhen")
    assert "巨鹿县城" in township.aliases
    assert township.kind == "镇"


def test_it_detects_a_concurrent_update_by_version(case_service, session_factory):
    view = _file(case_service)
    first, second = session_factory(), session_factory()
    try:
        mine = first.execute(select(Case).where(Case.case_id == view.case_id)).scalar_one()
        theirs = second.execute(select(Case).where(Case.case_id == view.case_id)).scalar_one()
        assert mine.version == theirs.version == 1
        theirs.importance_level = 2
        second.commit()
        mine.importance_level = 3
        with pytest.raises(StaleDataError):
            first.commit()
    finally:
        first.close()
        second.close()
    with session_factory() as session:
        case = session.execute(select(Case).where(Case.case_id == view.case_id)).scalar_one()
        assert (case.importance_level, case.version) == (2, 2)


def test_it_deletes_events_with_their_case(case_service, session_factory):
    view = _file(case_service)
    with session_factory.begin() as session:
        case = session.execute(select(Case).where(Case.case_id == view.case_id)).scalar_one()
        session.delete(case)
    with session_factory() as session:
        assert session.execute(select(CaseEvent)).scalars().all() == []


@pytest.mark.parametrize(
    "values",
    [
        dict(rating="great"),
        dict(rejection_reason="boring"),
        dict(suggested_matter_type="urgent"),
        dict(unsatisfied_count=-1),
    ],
    ids=lambda v: next(iter(v)),
)
def test_it_enforces_the_closed_loop_checks(case_service, session_factory, values):
    view = _file(case_service)
    with pytest.raises(IntegrityError):
        with session_factory.begin() as session:
            session.execute(update(Case).where(Case.case_id == view.case_id).values(**values))
