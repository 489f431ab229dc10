"""Engine and session factory.

PostgreSQL in production (several bot and action-server instances share it), SQLite for development and tests.
SQLAlchemy 1.4 used 2.0-style: ``select()``, ``session.execute(...).scalars()``, ``Session.get``; no ``Query``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker

from workflow.settings import normalize_database_url

#: How long a SQLite connection waits for another writer's lock, in seconds.
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``.

    SQLite: ``check_same_thread=False`` (sessions move between threads of the action server), a 30 s busy timeout,
    and on every new connection ``journal_mode=WAL`` (readers do not block the writer) and ``foreign_keys=ON``
    (SQLite ignores foreign keys otherwise). The directory of a SQLite file is created when missing (``var/``).
    Server databases get ``pool_pre_ping=True`` so a connection dropped by the server is replaced, not used.

    Args:
        url: SQLAlchemy URL; ``postgres://`` / ``postgresql://`` are normalised to ``postgresql+psycopg2://``.
        **kwargs: Extra ``create_engine`` arguments (they win over the defaults above).
    """
    url = normalize_database_url(url)
    parsed = make_url(url)
    options: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
    else:
        options["pool_pre_ping"] = True
    options.update(kwargs)
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    finally:
        cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker:
    """Return a ``sessionmaker`` bound to ``engine`` (``future=True``, ``expire_on_commit=False``).

    Objects stay readable after commit, so services can return values built from them; use
    ``with factory.begin() as session:`` for one transaction.
    """
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)
