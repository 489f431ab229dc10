"""The APScheduler wiring of the deadline sweep: :func:`build_scheduler` and the job function :func:`deadline_sweep`.

The job is kept in the database (APScheduler's ``SQLAlchemyJobStore`` on ``DATABASE_URL``, table
``apscheduler_jobs``, created by APScheduler on start) under the id :data:`JOB_ID`: an interval trigger
(``Settings.jobs_interval_seconds``, 60 s), ``coalesce`` (runs missed while down collapse into one),
``max_instances=1`` and no misfire limit. Every start replaces the stored definition with the one in this code
(the code is the source of truth) and schedules the first run at once: the catch-up sweep. Several instances may
share the table; they all keep the job alive, and the sweep lock (:mod:`workflow.jobs.locks`) lets one sweep at a
time.

A job in a database store is stored by reference (``workflow.jobs.scheduler:deadline_sweep``), without arguments:
engines and sessions cannot be pickled. :func:`build_scheduler` therefore registers the process's lifecycle and lock
where :func:`deadline_sweep` finds them: one deadline scheduler per process.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from workflow.db import make_engine
from workflow.jobs.locks import SweepLock, sweep_lock
from workflow.jobs.sweep import DEFAULT_BATCH_SIZE, run_due
from workflow.lifecycle import CaseLifecycle
from workflow.mall import Mall
from workflow.settings import Settings

logger = logging.getLogger(__name__)

#: Id of the sweep job in the job store.
JOB_ID = "juhaoban.deadline_sweep"
#: APScheduler's table in our database (not in our models: Alembic leaves it alone).
JOBSTORE_TABLE = "apscheduler_jobs"


@dataclass(frozen=True)
class _Runtime:
    lifecycle: CaseLifecycle
    lock: SweepLock
    batch_size: int
    mall: Mall | None = None


_runtime: _Runtime | None = None
_runtime_guard = threading.Lock()


def build_scheduler(
    settings: Settings,
    lifecycle: CaseLifecycle,
    *,
    lock: SweepLock | None = None,
    jobstore_engine: Engine | None = None,
    run_at_start: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    mall: Mall | None = None,
) -> BackgroundScheduler:
    """A background scheduler that sweeps the deadlines (not started: call ``start()``, and ``shutdown()`` at exit).

    Args:
        settings: ``database_url`` (the job store), ``redis_url`` (the sweep lock when set),
            ``jobs_interval_seconds``.
        lifecycle: The lifecycle the sweep works with (its database, clock, rating window, warning share). It is
            registered for this process's :func:`deadline_sweep`, replacing any earlier one.
        lock: The sweep lock; default :func:`workflow.jobs.locks.sweep_lock` (Redis when ``REDIS_URL`` is set).
        jobstore_engine: Engine for the job store; default a new one on ``settings.database_url`` (APScheduler 3
            needs a non-``future`` engine and disposes of it at shutdown).
        run_at_start: Sweep as soon as the scheduler starts (the catch-up after a restart); default True.
        batch_size: Cases read per query by a sweep.
        mall: The points mall whose uncollected redemptions each sweep returns; default one over the lifecycle's
            database and clock (:func:`workflow.jobs.sweep.run_due`).

    Returns:
        The configured scheduler, in UTC, its job :data:`JOB_ID` to be written to the job store on start.
    """
    global _runtime
    with _runtime_guard:
        _runtime = _Runtime(lifecycle, lock or sweep_lock(settings), batch_size, mall)
    engine = jobstore_engine or make_engine(settings.database_url, future=False)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=dt.timezone.utc,
    )
    first_run = {"next_run_time": dt.datetime.now(dt.timezone.utc)} if run_at_start else {}
    scheduler.add_job(
        deadline_sweep,
        trigger=IntervalTrigger(seconds=settings.jobs_interval_seconds, timezone=dt.timezone.utc),
        id=JOB_ID,
        name="deadline sweep: warnings, overdue marks, auto-close, uncollected mall goods",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        **first_run,
    )
    return scheduler


def deadline_sweep() -> None:
    """The scheduled job: one :func:`workflow.jobs.sweep.run_due` under the sweep lock.

    Never raises (an exception would only reach APScheduler's log): a sweep that fails is logged and the next one
    does its work. When the lock is held elsewhere this run is skipped; when the lock cannot be reached the sweep
    runs anyway (its effects are exactly-once without the lock).
    """
    runtime = _runtime
    if runtime is None:
        logger.warning("deadline sweep skipped: no lifecycle registered (build_scheduler was not called here)")
        return
    try:
        token = runtime.lock.acquire()
    except Exception:  # noqa: BLE001 - the lock is an optimisation
        logger.warning("deadline sweep: lock unavailable, sweeping without it", exc_info=True)
        token = ""
    if token is None:
        logger.debug("deadline sweep skipped: another instance holds the lock")
        return
    try:
        run_due(runtime.lifecycle, batch_size=runtime.batch_size, mall=runtime.mall)
    except Exception:  # noqa: BLE001 - nothing escapes the scheduler
        logger.exception("deadline sweep failed; the next sweep retries")
    finally:
        if token:
            try:
                runtime.lock.release(token)
            except Exception:  # noqa: BLE001 - it expires by itself
                logger.warning("deadline sweep: could not release the lock", exc_info=True)
