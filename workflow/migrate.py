"""Running the schema migrations from Python (the CLI, the app's startup, tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from workflow.db import make_engine
from workflow.models import metadata
from workflow.settings import normalize_database_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic hook: compare only our tables and their indexes/constraints.

    Rasa's SQL tracker store creates ``events`` in the same database; without this filter autogenerate would
    propose to drop it.
    """
    if type_ == "table":
        return name in metadata.tables
    table = getattr(obj, "table", None)
    if table is not None and getattr(table, "name", None) is not None:
        return table.name in metadata.tables
    return True


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic ``Config`` for our migrations that needs no ``alembic.ini`` (works from an installed package).

    Args:
        database_url: Database to migrate; None lets ``env.py`` read ``DATABASE_URL``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        # Through attributes, not set_main_option: ConfigParser would mangle a '%' in an encoded password.
        config.attributes["database_url"] = normalize_database_url(database_url)
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Run ``alembic upgrade <revision>`` on ``database_url`` (idempotent: an up-to-date database is untouched).

    The engine is made by :func:`workflow.db.make_engine`, so SQLite gets the same pragmas as the application.
    Other tables in the database (Rasa's tracker store ``events``) are left alone.
    """
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(database_url: str) -> str | None:
    """The revision ``database_url`` is at, or None for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
