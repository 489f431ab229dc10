"""Rasa's own SQL tracker store on a test database, for the tests that read conversations back.

(Imported by tests under tests/admin; pytest puts this directory on ``sys.path``.)
"""

from __future__ import annotations

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import make_url


def tracker_store(database_url: str) -> SQLTrackerStore:
    """Rasa's SQL tracker store on the test database, configured as juhaoban/serve.py configures it."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return SQLTrackerStore(dialect="sqlite", db=url.database)
    return SQLTrackerStore(dialect="postgresql", host=url.host, port=url.port or 5432, db=url.database,
                           username=url.username, password=url.password)
