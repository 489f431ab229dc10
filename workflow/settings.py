"""Process settings read from the environment (12-factor style), shared by the bot, action server, admin API and CLI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: The repository root: the parent of the ``workflow`` package directory.
REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DATA_DIR = REPO_ROOT / "data"
DEFAULT_DATABASE_PATH = REPO_ROOT / "var" / "juhaoban.db"
TIMEZONE = "Asia/Shanghai"
#: NLU category confidence above which a non-emergency report is accepted without a dispatcher (workflow.lifecycle).
DEFAULT_AUTO_ACCEPT_THRESHOLD = 0.85
#: Seconds between two deadline sweeps (workflow.jobs): warnings, overdue marks, auto-close.
DEFAULT_JOBS_INTERVAL_SECONDS = 60
#: Where the admin process reaches Rasa's HTTP API (the console's conversation take-over).
DEFAULT_RASA_URL = "http://127.0.0.1:5005"

# Heroku-style and plain URLs name no driver (or a deprecated scheme); psycopg2 is the driver we ship.
_POSTGRES_SCHEMES = ("postgres://", "postgresql://")
_POSTGRES_DRIVER_SCHEME = "postgresql+psycopg2://"


def normalize_database_url(url: str) -> str:
    """Return ``url`` with ``postgres://`` and ``postgresql://`` rewritten to ``postgresql+psycopg2://``.

    URLs that already name a driver (``postgresql+psycopg2://``, ``sqlite:///…``) are returned unchanged.

    Raises:
        ValueError: ``url`` is empty.
    """
    url = url.strip()
    if not url:
        raise ValueError("database URL is empty")
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return _POSTGRES_DRIVER_SCHEME + url[len(scheme) :]
    return url


@dataclass(frozen=True)
class Settings:
    """Settings of one process.

    Attributes:
        database_url: SQLAlchemy URL; PostgreSQL in production, SQLite file for development.
        redis_url: Redis URL for shared stores (locks, dedup, rate limits), or None for in-memory stores.
        admin_token: Bearer token of the admin API, or None (admin API disabled).
        data_dir: Directory holding ``reference/``, ``calendar/`` and ``nlu/`` data.
        timezone: IANA zone for working-day rules and display; datetimes are stored in UTC.
        auto_accept_threshold: A report whose NLU category confidence is above this (0–1) is accepted by the
            system, unless it is an emergency (:meth:`workflow.lifecycle.CaseLifecycle.auto_accept`); 1.0 turns
            auto-accept off.
        jobs_interval_seconds: Seconds between two sweeps of the deadline jobs (:mod:`workflow.jobs`), ≥ 1.
        rasa_url: Base URL of Rasa's HTTP API as the admin process reaches it (the console pauses, writes into and
            resumes conversations there).
        rasa_token: Rasa's ``--auth-token``, or None when Rasa runs without one.

    Raises:
        ValueError: ``auto_accept_threshold`` is not a number between 0 and 1, or ``jobs_interval_seconds`` is
            not a whole number ≥ 1.
    """

    database_url: str
    redis_url: str | None = None
    admin_token: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    timezone: str = TIMEZONE
    auto_accept_threshold: float = DEFAULT_AUTO_ACCEPT_THRESHOLD
    jobs_interval_seconds: int = DEFAULT_JOBS_INTERVAL_SECONDS
    rasa_url: str = DEFAULT_RASA_URL
    rasa_token: str | None = None

    def __post_init__(self) -> None:
        value = self.auto_accept_threshold
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"auto_accept_threshold must be a number between 0 and 1, got {value!r}")
        interval = self.jobs_interval_seconds
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f"jobs_interval_seconds must be a whole number of seconds >= 1, got {interval!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``).

        Variables: ``DATABASE_URL`` (default ``sqlite:///<repo>/var/juhaoban.db``; ``postgres://`` and
        ``postgresql://`` are normalised to ``postgresql+psycopg2://``), ``REDIS_URL``, ``JUHAOBAN_ADMIN_TOKEN``,
        ``JUHAOBAN_DATA_DIR`` (default ``<repo>/data``), ``JUHAOBAN_AUTO_ACCEPT_THRESHOLD`` (default 0.85),
        ``JUHAOBAN_JOBS_INTERVAL_SECONDS`` (default 60), ``JUHAOBAN_RASA_URL`` (default ``http://127.0.0.1:5005``),
        ``JUHAOBAN_RASA_TOKEN``. Empty values count as unset.

        Raises:
            ValueError: ``JUHAOBAN_AUTO_ACCEPT_THRESHOLD`` is not a number between 0 and 1, or
                ``JUHAOBAN_JOBS_INTERVAL_SECONDS`` is not a whole number ≥ 1.
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        database_url = get("DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE_PATH}"
        data_dir = get("JUHAOBAN_DATA_DIR")
        threshold = get("JUHAOBAN_AUTO_ACCEPT_THRESHOLD")
        try:
            auto_accept_threshold = float(threshold) if threshold else DEFAULT_AUTO_ACCEPT_THRESHOLD
        except ValueError:
            raise ValueError(
                f"JUHAOBAN_AUTO_ACCEPT_THRESHOLD must be a number between 0 and 1, got {threshold!r}"
            ) from None
        interval = get("JUHAOBAN_JOBS_INTERVAL_SECONDS")
        try:
            jobs_interval_seconds = int(interval) if interval else DEFAULT_JOBS_INTERVAL_SECONDS
        except ValueError:
            raise ValueError(
                f"JUHAOBAN_JOBS_INTERVAL_SECONDS must be a whole number of seconds >= 1, got {interval!r}"
            ) from None
        return cls(
            database_url=normalize_database_url(database_url),
            redis_url=get("REDIS_URL"),
            admin_token=get("JUHAOBAN_ADMIN_TOKEN"),
            data_dir=Path(data_dir).expanduser().resolve() if data_dir else DEFAULT_DATA_DIR,
            auto_accept_threshold=auto_accept_threshold,
            jobs_interval_seconds=jobs_interval_seconds,
            rasa_url=(get("JUHAOBAN_RASA_URL") or DEFAULT_RASA_URL).rstrip("/"),
            rasa_token=get("JUHAOBAN_RASA_TOKEN"),
        )
