"""Alembic environment of the case domain.

Where the database comes from, first match wins:

1. ``config.attributes["connection"]``: an open connection (``workflow.migrate.upgrade`` and tests pass one);
2. ``config.attributes["database_url"]``;
3. ``Settings.from_env().database_url`` (``DATABASE_URL``, default the SQLite file under ``var/``).

Rasa's SQL tracker store keeps its ``events`` table in the same database, and other services may add theirs:
:func:`workflow.migrate.include_object` hides every table that is not in our metadata, so autogenerate never
proposes to drop them.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from workflow.db import make_engine
from workflow.migrate import include_object
from workflow.models import metadata
from workflow.settings import Settings

config = context.config
target_metadata = metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    # Keep the application's loggers: fileConfig would disable them by default.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        compare_type=True,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``)."""
    url = config.attributes.get("database_url") or Settings.from_env().database_url
    context.configure(
        url=url,
        target_metadata=target_metadata,
        include_object=include_object,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.attributes.get("database_url") or Settings.from_env().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
