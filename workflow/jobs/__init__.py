"""Deadline jobs of the closed loop: warn the lead unit at 80% of the time, mark overdue cases and alert the
dispatchers, and close resolved cases nobody rated within 3 days (DESIGN.md "Matter types and deadlines", "The
five-step loop"); and return the points mall's goods not collected by the 14th, refunding their points (DESIGN.md
"Points", issue 6).

Design: one periodic *sweep* over the ``cases`` table instead of one timer per case. DESIGN.md allows either
("APScheduler with a database job store (or a poller over the ``cases`` table)"); we use both, each for what it is
good at:

- The state lives on the cases (``warn_at``, ``warned_at``, ``overdue_at``, ``deadline``, ``resolved_at``), written
  in the same transactions as the transitions that change it (:mod:`workflow.lifecycle`). A sweep asks the table
  what is due *now* (:func:`run_due`), so nothing can be missed: whatever fell due while no scheduler was running is
  found by the next sweep, and the scheduler sweeps once as soon as it starts. Per-case timers would have to be
  created, moved and deleted with every transition (a new round, a reassignment, a resolution), and every bug there
  would silently lose a warning.
- Every effect is a conditional update that re-checks its own condition under the row lock
  (``UPDATE cases SET warned_at = :now WHERE id = :id AND warned_at IS NULL AND warn_at <= :now …``), with its
  notification enqueued in the same transaction; auto-closing goes through :meth:`CaseLifecycle.close_unrated`,
  whose version check lets one writer win. So two sweeps racing — two threads, two instances, a sweep overlapping
  the next — produce each effect exactly once.
- APScheduler 3 runs the sweep every minute (interval trigger, ``coalesce``, ``max_instances=1``, no misfire
  limit) from a job kept in the database (``SQLAlchemyJobStore`` on ``DATABASE_URL``, table ``apscheduler_jobs``,
  which :func:`workflow.migrate.include_object` keeps out of Alembic's comparisons). When ``REDIS_URL`` is set a
  Redis lock lets one instance sweep at a time (:mod:`workflow.jobs.locks`); that saves work, correctness does not
  depend on it.

The rules, once: see :mod:`workflow.jobs.sweep`. Start it with::

    scheduler = build_scheduler(Settings.from_env(), lifecycle)
    scheduler.start()              # background thread; sweeps at once, then every minute
    ...
    scheduler.shutdown()
"""

from workflow.jobs.locks import InMemorySweepLock, RedisSweepLock, SweepLock, sweep_lock
from workflow.jobs.scheduler import JOB_ID, JOBSTORE_TABLE, build_scheduler, deadline_sweep
from workflow.jobs.sweep import SweepResult, run_due

__all__ = [
    "JOB_ID",
    "JOBSTORE_TABLE",
    "InMemorySweepLock",
    "RedisSweepLock",
    "SweepLock",
    "SweepResult",
    "build_scheduler",
    "deadline_sweep",
    "run_due",
    "sweep_lock",
]
