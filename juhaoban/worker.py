"""``juhaoban worker``: the background work of the closed loop, in one process.

* the deadline sweep (:func:`workflow.jobs.build_scheduler`: APScheduler 3, job in the database's
  ``apscheduler_jobs`` table, one sweep at start for what fell due while nothing ran, then every
  ``JUHAOBAN_JOBS_INTERVAL_SECONDS``): 80% warnings to units, overdue marks and dispatcher alerts, auto-close of
  resolved cases not rated within 3 days; and the points mall's goods not collected by the 14th, returned to stock
  with their points refunded from 00:00 on the 15th (:meth:`workflow.mall.Mall.return_uncollected`, the points
  policy of ``JUHAOBAN_DATA_DIR``);
* the delivery of residents' notifications into their conversations through Rasa (:mod:`juhaoban.delivery`).

Several workers may run (two machines): the sweep's effects are conditional updates and the outbox claims rows, so
each warning, mark, closure and message happens once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

logger = logging.getLogger(__name__)


def run(rasa_url: str) -> int:
    """Runs until SIGINT/SIGTERM; returns the exit code (0)."""
    from juhaoban.delivery import RasaDelivery
    from workflow.db import make_engine, make_session_factory
    from workflow.jobs import build_scheduler
    from workflow.lifecycle import CaseLifecycle
    from workflow.mall import Mall
    from workflow.notifications import Outbox
    from workflow.points import PointsLedger, load_points_policy
    from workflow.policy import load_policy
    from workflow.settings import Settings
    from workflow.workcalendar import WorkingCalendar

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s  %(message)s")
    settings = Settings.from_env()
    session_factory = make_session_factory(make_engine(settings.database_url))
    calendar = WorkingCalendar.default(settings.data_dir)
    lifecycle = CaseLifecycle(session_factory, calendar, policy=load_policy(settings.data_dir),
                              auto_accept_threshold=settings.auto_accept_threshold)
    mall = Mall(session_factory, clock=lifecycle.now,
                ledger=PointsLedger(session_factory, clock=lifecycle.now,
                                    policy=load_points_policy(settings.data_dir)))
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler = build_scheduler(settings, lifecycle, mall=mall)
    scheduler.start()
    logger.info("worker: deadline sweep (and uncollected mall goods) every %s s; delivering residents' messages through %s",
                settings.jobs_interval_seconds, rasa_url)
    try:
        RasaDelivery(Outbox(session_factory), rasa_url, token=os.environ.get("JUHAOBAN_RASA_TOKEN") or None).run(stop)
    finally:
        scheduler.shutdown(wait=False)
    return 0
