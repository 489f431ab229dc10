"""Shared fixtures: a database per test on SQLite and on PostgreSQL, migrated with reference data, and a case service
with a frozen clock.

PostgreSQL: one fresh, uniquely named database per test session on 127.0.0.1:5432 (``JUHAOBAN_TEST_POSTGRES_URL``
overrides the server), emptied before each test and dropped at the end. Set ``JUHAOBAN_SKIP_POSTGRES=1`` to skip
those tests; otherwise an unreachable server fails them.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from workflow.cases import CaseService
from workflow.db import make_engine, make_session_factory
from workflow.lifecycle import CaseLifecycle
from workflow.notifications import Outbox
from workflow.migrate import upgrade
from workflow.reference import load_reference
from workflow.workcalendar import WorkingCalendar

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
POSTGRES_ADMIN_URL = os.environ.get(
    "JUHAOBAN_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)

#: Monday 30 November 2026, 09:30 in Asia/Shanghai: an ordinary working morning.
MONDAY_MORNING = dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.timezone.utc)


class FrozenClock:
    """A clock for services: returns ``now`` until a test moves it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


def _admin_engine() -> Engine:
    return make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """URL of a PostgreSQL database created for this test session and dropped after it."""
    if os.environ.get("JUHAOBAN_SKIP_POSTGRES") == "1":
        pytest.skip("PostgreSQL tests skipped: JUHAOBAN_SKIP_POSTGRES=1")
    name = f"juhaoban_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.fail(
            f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL).render_as_string()} is not usable ({exc.orig}); "
            "start it or set JUHAOBAN_SKIP_POSTGRES=1",
            pytrace=False,
        )
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in ``tmp_path``, or the session's PostgreSQL database with its schema reset."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'juhaoban.db'}"
    url = request.getfixturevalue("postgres_database_url")
    engine = make_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(database_url: str, engine: Engine) -> sessionmaker:
    """Sessions over the migrated database with the real reference data (``data/reference``) loaded."""
    upgrade(database_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        load_reference(session, DATA_DIR)
    return factory


@pytest.fixture(scope="session")
def calendar() -> WorkingCalendar:
    return WorkingCalendar.default(DATA_DIR)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY_MORNING)


@pytest.fixture
def case_service(session_factory: sessionmaker, calendar: WorkingCalendar, clock: FrozenClock) -> CaseService:
    return CaseService(session_factory, calendar, clock=clock)


@pytest.fixture
def lifecycle(session_factory: sessionmaker, calendar: WorkingCalendar, clock: FrozenClock) -> CaseLifecycle:
    """The closed-loop service over the test database, clock frozen (the one the case service shares)."""
    return CaseLifecycle(session_factory, calendar, clock=clock)


@pytest.fixture
def outbox(session_factory: sessionmaker, clock: FrozenClock) -> Outbox:
    """The notifications outbox over the test database, clock frozen."""
    return Outbox(session_factory, clock=clock)


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model for the current training data, trained once and cached in models/ by a hash of its inputs.

    ``JUHAOBAN_TEST_MODEL=path`` tests a given model file instead (while editing data, to skip retraining).
    """
    from juhaoban.training import ensure_model

    given = os.environ.get("JUHAOBAN_TEST_MODEL")
    return Path(given) if given else ensure_model()
