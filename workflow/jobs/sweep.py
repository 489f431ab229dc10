"""One sweep of the deadline jobs over the ``cases`` table: :func:`run_due`.

Rules (DESIGN.md "Matter types and deadlines": "Warn the unit at 80% of the time; mark overdue at the deadline and
tell the dispatcher"; "The five-step loop": closed when the resident rated, or with no rating after 3 days):

- **Warning** (kind ``deadline_warning``, to the lead unit), once per round: when ``warn_at`` has come, the deadline
  has not, and the lead unit holds the case (assigned, in_progress, reopened). ``warn_at`` is 80% of the wall-clock
  span from the start of the round (acceptance, reopening, re-assignment after review) to the deadline
  (:func:`workflow.deadlines.deadline_warning_at`). Accepted Monday 30 November 2026 09:30 (Asia/Shanghai): an
  emergency (due 11:30) is warned at 11:06, a policy consultation (due 17:30) at 15:54, a public service matter
  (due Wednesday 2 December 17:30) on Wednesday at 06:18, an other matter (due Wednesday 9 December 17:30) on Monday
  7 December at 20:42. Wall clock rather than working time: the deadline is a wall-clock instant, the span is the
  same for every matter type, and a warning that falls in the night or on a rest day is waiting for the unit when
  it opens, still before the deadline. 80% of working time would need an office opening hour the county's rules
  do not fix, and would warn a public service matter only around noon of its last day. A case still with the
  dispatcher (accepted, returned) is warned when it reaches the unit, if its deadline has not passed; a sweep that
  first sees a case after its deadline sends no warning (the overdue alert says more).
- **Overdue** (``cases.overdue_at`` and kind ``overdue``, to the dispatchers), once per round: an accepted case not
  yet resolved (accepted, assigned, in_progress, reopened, returned — but not while under review: the review is
  the dispatchers' own step) whose deadline has come. Overdue is a mark, not a status; a resolution later does not
  clear it, a new round does.
- **Auto-close** (``closed_unrated``, rating ``no_rating``): a case resolved at least ``rating_window`` (3 days) ago
  that nobody rated, through :meth:`workflow.lifecycle.CaseLifecycle.close_unrated` (audit row, version check).
- **Uncollected goods** (issue 6: "uncollected after the 14th returned to stock and points refunded"): every sweep
  also runs :meth:`workflow.mall.Mall.return_uncollected`, so a points-mall redemption still ``reserved`` when its
  collection window has ended (00:00 Asia/Shanghai on the 15th) is returned within one sweep interval of it: its
  pieces back to stock, its points refunded, the resident told. The mall docstring says "run it daily"; running it
  with every sweep costs one indexed query (``ix_mall_redemptions_status_collect_until``) that finds nothing on
  every other day, and catches up by itself after the worker was down, like the case jobs. Idempotent (a
  conditional ``UPDATE … WHERE status = 'reserved'``), so racing sweeps return each redemption once.

Each effect runs in its own short transaction as a conditional update that repeats its condition
(``UPDATE … WHERE id = :id AND warned_at IS NULL AND …``); its notification is enqueued in that transaction, and
only when the update changed the row. So the effect and its message happen exactly once however many sweeps race.
The jobs' marks do not touch ``version``: a mark never makes a person's concurrent action fail.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from workflow.case_views import case_query, case_views
from workflow.exceptions import ConcurrentUpdate, IllegalTransition
from workflow.lifecycle import CaseLifecycle
from workflow.mall import Mall
from workflow.models import Case
from workflow.case_messages import notify_deadline_warning, notify_overdue
from workflow.status import CaseStatus

logger = logging.getLogger(__name__)

S = CaseStatus
#: Statuses in which the lead unit holds the case and is warned.
WARNED_STATUSES = (S.ASSIGNED.value, S.IN_PROGRESS.value, S.REOPENED.value)
#: Statuses of an accepted, unresolved case that can become overdue (``returned`` only when not under review).
OVERDUE_STATUSES = (S.ACCEPTED.value, S.ASSIGNED.value, S.IN_PROGRESS.value, S.REOPENED.value, S.RETURNED.value)
del S
#: Cases read per query while looking for due work.
DEFAULT_BATCH_SIZE = 200


@dataclass
class SweepResult:
    """What one sweep did.

    Attributes:
        now: The sweep's time (aware UTC).
        warned: Case ids whose lead unit was warned, in id order.
        overdue: Case ids marked overdue.
        closed: Case ids closed without rating.
        returned: Pickup codes of the mall redemptions returned (uncollected after their window).
        errors: ``(case_id, error)`` of effects that failed (logged; retried by the next sweep); ``("mall", error)``
            when the return of uncollected goods failed.
    """

    now: dt.datetime
    warned: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (for logs)."""
        return {
            "now": self.now.isoformat(),
            "warned": list(self.warned),
            "overdue": list(self.overdue),
            "closed": list(self.closed),
            "returned": list(self.returned),
            "errors": [list(error) for error in self.errors],
        }


def run_due(
    lifecycle: CaseLifecycle,
    now: dt.datetime | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    mall: Mall | None = None,
) -> SweepResult:
    """Do everything that is due at ``now``: warnings, overdue marks, auto-closes, the return of uncollected mall
    redemptions (see the module docstring).

    Safe to run any number of times, concurrently too: what was done is not done again. A failing case is logged,
    listed in ``errors`` and left for the next sweep; nothing is raised for it.

    Args:
        lifecycle: Gives the database, the rating window, the warning share and the clock.
        now: The sweep's time (aware); default the lifecycle's clock. Auto-close checks the rating window again
            with the lifecycle's own clock.
        batch_size: Cases read per query (≥ 1).
        mall: The points mall whose uncollected redemptions are returned; default one over the lifecycle's database
            and clock (the repository's points policy; the return itself follows each redemption's own window).

    Returns:
        What was done.

    Raises:
        ValueError: ``now`` is naive or ``batch_size`` < 1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
    now = lifecycle.now() if now is None else _utc(now)
    result = SweepResult(now=now)
    factory = lifecycle.session_factory
    for pk, case_id in _due(factory, _warning_due(now), batch_size):
        _apply(result, result.warned, case_id, lambda: _warn(factory, pk, now, lifecycle.warning_fraction))
    for pk, case_id in _due(factory, _overdue_due(now), batch_size):
        _apply(result, result.overdue, case_id, lambda: _mark_overdue(factory, pk, now))
    for _, case_id in _due(factory, _close_due(now, lifecycle.rating_window), batch_size):
        _apply(result, result.closed, case_id, lambda: _close(lifecycle, case_id))
    _return_uncollected(result, mall or Mall(factory, clock=lifecycle.now), now)
    if result.warned or result.overdue or result.closed or result.returned or result.errors:
        logger.info(
            "deadline sweep at %s: %d warned, %d overdue, %d closed, %d returned, %d errors",
            now.isoformat(), len(result.warned), len(result.overdue), len(result.closed), len(result.returned),
            len(result.errors),
        )  # fmt: skip
    return result


# ---------------------------------------------------------------------- what is due
def _warning_due(now: dt.datetime) -> list[ColumnElement]:
    return [
        Case.status.in_(WARNED_STATUSES),
        Case.warn_at <= now,
        Case.warned_at.is_(None),
        Case.deadline > now,
    ]


def _overdue_due(now: dt.datetime) -> list[ColumnElement]:
    return [
        Case.status.in_(OVERDUE_STATUSES),
        Case.accepted_at.isnot(None),
        Case.needs_review.is_(False),
        Case.deadline <= now,
        Case.overdue_at.is_(None),
    ]


def _close_due(now: dt.datetime, rating_window: dt.timedelta) -> list[ColumnElement]:
    return [
        Case.status == CaseStatus.RESOLVED.value,
        Case.resolved_at <= now - rating_window,
    ]


def _due(factory: sessionmaker, conditions: Sequence[ColumnElement], batch_size: int) -> Iterator[tuple[int, str]]:
    """``(cases.id, case_id)`` of the cases meeting ``conditions``, in id order, page by page (keyset: a case
    that fails is not read again in this sweep)."""
    last = 0
    while True:
        with factory() as session:
            page = session.execute(
                select(Case.id, Case.case_id)
                .where(*conditions, Case.id > last)
                .order_by(Case.id)
                .limit(batch_size)
            ).all()
        yield from ((row.id, row.case_id) for row in page)
        if len(page) < batch_size:
            return
        last = page[-1].id


# ---------------------------------------------------------------------- the effects
def _warn(factory: sessionmaker, pk: int, now: dt.datetime, fraction: float) -> bool:
    with factory.begin() as session:
        if not _claim(session, pk, _warning_due(now), warned_at=now):
            return False
        view = case_views(session, [session.execute(case_query().where(Case.id == pk)).scalar_one()])[0]
        notify_deadline_warning(session, pk, view, now, fraction)
    return True


def _mark_overdue(factory: sessionmaker, pk: int, now: dt.datetime) -> bool:
    with factory.begin() as session:
        if not _claim(session, pk, _overdue_due(now), overdue_at=now):
            return False
        view = case_views(session, [session.execute(case_query().where(Case.id == pk)).scalar_one()])[0]
        notify_overdue(session, pk, view, now)
    return True


def _claim(session, pk: int, conditions: Sequence[ColumnElement], **values: dt.datetime) -> bool:
    """Set ``values`` on case ``pk`` only if it still meets ``conditions``; True when this call did it.

    On PostgreSQL a racing UPDATE waits for the winner's row lock and then re-checks the conditions, which no
    longer hold; SQLite lets one writer at a time. ``version`` is left alone on purpose (module docstring).
    """
    result = session.execute(
        update(Case).where(Case.id == pk, *conditions).values(**values).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _close(lifecycle: CaseLifecycle, case_id: str) -> bool:
    try:
        lifecycle.close_unrated(case_id)
    except (IllegalTransition, ConcurrentUpdate) as declined:
        # Rated, closed by another sweep, or (clock skew) still inside the rating window: nothing to do.
        logger.debug("case %s not auto-closed: %s", case_id, declined)
        return False
    return True


def _return_uncollected(result: SweepResult, mall: Mall, now: dt.datetime) -> None:
    """The mall's return job; a failure is logged and listed, and the next sweep retries what is left."""
    try:
        result.returned.extend(view.pickup_code for view in mall.return_uncollected(now))
    except Exception as exc:  # noqa: BLE001 - the case jobs must not stop for it
        logger.exception("deadline sweep: returning uncollected mall redemptions failed")
        result.errors.append(("mall", f"{type(exc).__name__}: {exc}"))


def _apply(result: SweepResult, done: list[str], case_id: str, effect) -> None:
    try:
        if effect():
            done.append(case_id)
    except Exception as exc:  # noqa: BLE001 - one case must not stop the sweep; the next sweep retries it
        logger.exception("deadline sweep: case %s failed", case_id)
        result.errors.append((case_id, f"{type(exc).__name__}: {exc}"))


def _utc(now: dt.datetime) -> dt.datetime:
    if not isinstance(now, dt.datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be an aware datetime, got {now!r}")
    return now.astimezone(dt.timezone.utc)
