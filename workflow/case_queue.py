"""The console's case queue (工单列表): cases filtered, scoped to who is looking, counted and paged in SQL.

Default rules (what a dispatcher opening the queue expects to see: the work still to be done):

- **Status.** Without a status filter the queue shows the *open* cases, those somebody on the staff still has to
  act on (:attr:`workflow.status.CaseStatus.is_open`): reported, accepted, assigned, in progress, returned,
  reopened. Resolved cases wait for the resident's rating (or the auto-close job), closed and rejected ones are
  finished: they appear when asked for by their status, or with :data:`ALL_STATUSES` (``"all"``).
- **Deadline clock.** A case's deadline *runs* while it is open, except for a case under dispatcher review (a
  resident unsatisfied twice: ``returned`` with ``needs_review``; its next deadline is set when it is re-assigned),
  the same exception the deadline jobs make. A reported case counts from the deadline the resident was shown at
  filing: not accepting it by then is late too.
- **Overdue.** A case is overdue when the deadline jobs marked it so in its current round (``overdue_at``), or when
  its deadline runs and has passed (the mark follows within a minute; the queue does not wait for it).
  ``overdue=False`` is exactly the complement.
- **Scope.** :class:`QueueScope`: dispatchers and administrators every case; a unit the cases it leads once assigned
  (:func:`workflow.unit_cases.is_unit_case`, the API's rule); a grid worker (issue 6) the cases of their grids,
  the 帮我办 cases assigned to them, and the cases of their village whose grid is not settled
  (:meth:`QueueScope.grid_worker`).
- **Order.** ``deadline`` (default): the earliest deadline first, then filing order; ``newest``: the latest filed
  first.
- **Text.** ``text`` matches a case id (typed sloppily: ``jl20261130-0001``) or a part of the description.

Filtering, counting and paging are SQL (``WHERE``/``COUNT``/``LIMIT``/``OFFSET``); only one page of cases is loaded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, false, func, not_, or_, select
from sqlalchemy.orm import sessionmaker

from workflow.case_views import CaseView, case_query, case_views, normalize_case_id
from workflow.cases import check_page, utc_now
from workflow.deadlines import MatterType
from workflow.models import Case
from workflow.status import CaseStatus

#: The status filter value that lists every status.
ALL_STATUSES = "all"
#: Statuses listed when no status is asked for.
OPEN_STATUSES: tuple[CaseStatus, ...] = tuple(status for status in CaseStatus if status.is_open)
#: Longest search text (longer text is cut, not refused).
MAX_TEXT = 100

QueueOrder = Literal["deadline", "newest"]
ORDERS: tuple[str, ...] = ("deadline", "newest")


@dataclass(frozen=True)
class QueueFilter:
    """What the queue is narrowed to; every field None (or empty) means "no filter" on it.

    Attributes:
        status: A :class:`CaseStatus` (or its code); None: the open cases; :data:`ALL_STATUSES`: every status.
        category: A category code (the confirmed category).
        unit: A lead unit's code.
        township: A township code.
        matter_type: A :class:`MatterType` (or its code).
        overdue: True only overdue cases, False only the others (see the module docstring).
        text: A case id or part of the description.

    Raises:
        ValueError: ``status`` or ``matter_type`` is not a known value.
    """

    status: CaseStatus | str | None = None
    category: str | None = None
    unit: str | None = None
    township: str | None = None
    matter_type: MatterType | str | None = None
    overdue: bool | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status != ALL_STATUSES:
            object.__setattr__(self, "status", CaseStatus(self.status))
        if self.matter_type is not None:
            object.__setattr__(self, "matter_type", MatterType(self.matter_type))
        text = (self.text or "").strip()[:MAX_TEXT]
        object.__setattr__(self, "text", text or None)


@dataclass(frozen=True)
class QueueScope:
    """Which cases the person looking may see at all (build it with :meth:`everything`, :meth:`unit`,
    :meth:`village`)."""

    unit_code: str | None = None
    village_code: str | None = None
    nothing: bool = False
    grid_codes: tuple[str, ...] | None = None
    account_id: int | None = None

    @classmethod
    def everything(cls) -> QueueScope:
        """Dispatchers and administrators: every case."""
        return cls()

    @classmethod
    def unit(cls, unit_code: str) -> QueueScope:
        """Unit staff: the cases ``unit_code`` leads once assigned (a returned one until it is re-assigned)."""
        return cls(unit_code=unit_code) if unit_code else cls(nothing=True)

    @classmethod
    def village(cls, village_code: str) -> QueueScope:
        """The cases reported in ``village_code``."""
        return cls(village_code=village_code) if village_code else cls(nothing=True)

    @classmethod
    def grid_worker(cls, account_id: int, village_code: str | None, grid_codes: tuple[str, ...]) -> QueueScope:
        """A grid worker: cases whose grid is one of ``grid_codes``, 帮我办 cases assigned to ``account_id``, and
        cases of ``village_code`` without a grid (the rule could not settle one: the village's workers may see it)."""
        return cls(village_code=village_code or None, grid_codes=tuple(grid_codes), account_id=account_id)


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue.

    Attributes:
        views: The cases of the page, in the queue's order.
        total: How many cases match the filter and scope in all.
        limit: Page size asked for.
        offset: Cases skipped before this page.
        now: The instant the overdue rule was applied at (aware UTC).
    """

    views: tuple[CaseView, ...]
    total: int
    limit: int
    offset: int
    now: dt.datetime

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.views) < self.total


def clock_runs(view: CaseView) -> bool:
    """Whether ``view``'s deadline runs now (open, and not waiting for a dispatcher's review)."""
    return view.status.is_open and not (view.status is CaseStatus.RETURNED and view.needs_review)


def is_overdue(view: CaseView, now: dt.datetime) -> bool:
    """The queue's overdue rule for one case (the same as the SQL filter; see the module docstring)."""
    return view.overdue_at is not None or (clock_runs(view) and view.deadline <= now)


def case_queue(
    session_factory: sessionmaker,
    queue_filter: QueueFilter | None = None,
    scope: QueueScope | None = None,
    *,
    order: QueueOrder = "deadline",
    limit: int = 50,
    offset: int = 0,
    now: dt.datetime | None = None,
) -> QueuePage:
    """One page of the cases matching ``queue_filter`` within ``scope``, and how many match in all.

    Args:
        session_factory: Over the case database.
        queue_filter: The filters (default: none, i.e. the open cases).
        scope: Who is looking (default: every case).
        order: ``deadline`` or ``newest``.
        limit: 1 to :data:`workflow.cases.MAX_LIST_LIMIT`.
        offset: Cases to skip, >= 0.
        now: The instant for the overdue rule (aware); default the current time.

    Raises:
        ValueError: Unknown ``order``, ``limit``/``offset`` out of range, or a naive ``now``.
    """
    check_page(limit, offset)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    now = now or utc_now()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    conditions = _conditions(queue_filter or QueueFilter(), scope or QueueScope.everything(), now)
    ordering = (Case.deadline, Case.id) if order == "deadline" else (Case.created_at.desc(), Case.id.desc())
    query = case_query().where(*conditions).order_by(*ordering).limit(limit).offset(offset)
    counting = select(func.count()).select_from(Case).where(*conditions)
    with session_factory() as session:
        total = session.execute(counting).scalar_one()
        views = case_views(session, list(session.execute(query).scalars())) if total > offset else []
    return QueuePage(tuple(views), total, limit, offset, now)


def _clock_runs_sql() -> Any:
    return and_(
        Case.status.in_([status.value for status in OPEN_STATUSES]),
        not_(and_(Case.status == CaseStatus.RETURNED.value, Case.needs_review.is_(True))),
    )


def _overdue_sql(now: dt.datetime) -> Any:
    return or_(Case.overdue_at.is_not(None), and_(_clock_runs_sql(), Case.deadline <= now))


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(queue_filter: QueueFilter, scope: QueueScope, now: dt.datetime) -> list[Any]:
    conditions: list[Any] = []
    if scope.nothing:
        conditions.append(false())
    if scope.unit_code is not None:
        conditions += [Case.lead_unit_code == scope.unit_code, Case.assigned_at.is_not(None)]
    if scope.grid_codes is not None:
        visible = [Case.assignee_account_id == scope.account_id]
        if scope.grid_codes:
            visible.append(Case.grid_code.in_(scope.grid_codes))
        if scope.village_code is not None:
            visible.append(and_(Case.grid_code.is_(None), Case.village_code == scope.village_code))
        conditions.append(or_(*visible))
    elif scope.village_code is not None:
        conditions.append(Case.village_code == scope.village_code)
    status = queue_filter.status
    if status is None:
        conditions.append(Case.status.in_([s.value for s in OPEN_STATUSES]))
    elif status != ALL_STATUSES:
        conditions.append(Case.status == CaseStatus(status).value)
    if queue_filter.category is not None:
        conditions.append(Case.category_code == queue_filter.category)
    if queue_filter.unit is not None:
        conditions.append(Case.lead_unit_code == queue_filter.unit)
    if queue_filter.township is not None:
        conditions.append(Case.township_code == queue_filter.township)
    if queue_filter.matter_type is not None:
        conditions.append(Case.matter_type == MatterType(queue_filter.matter_type).value)
    if queue_filter.overdue is True:
        conditions.append(_overdue_sql(now))
    elif queue_filter.overdue is False:
        conditions.append(not_(_overdue_sql(now)))
    if queue_filter.text:
        conditions.append(or_(
            Case.case_id == normalize_case_id(queue_filter.text),
            Case.description.ilike(_like_pattern(queue_filter.text), escape="\\"),
        ))
    return conditions
