"""Engines: SQLite pragmas and directory creation, PostgreSQL pre-ping, session factory options."""

from __future__ import annotations

from sqlalchemy import text

from workflow.db import make_engine, make_session_factory


def test_it_configures_sqlite_connections(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'nested' / 'juhaoban.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert (tmp_path / "var" / "nested" / "juhaoban.db").exists()
    finally:
        engine.dispose()


def test_it_pings_server_connections_before_use(database_url):
    engine = make_engine(database_url)
    try:
        assert engine.pool._pre_ping is (engine.dialect.name != "sqlite")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_it_accepts_heroku_style_postgres_urls():
    engine = make_engine("postgres://postgres@127.0.0.1:5432/postgres")
    try:
        assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg2"
    finally:
        engine.dispose()


def test_sessions_keep_objects_readable_after_commit(tmp_path):
    factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    assert factory.kw["expire_on_commit"] is False and factory.kw["future"] is True
