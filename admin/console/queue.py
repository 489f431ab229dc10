"""The case queue page: ``GET /console/cases`` with filters as a GET form, paging, and live deadline countdowns.

Every role opens it and sees the cases it may read (:func:`admin.console.access.queue_scope`): dispatchers and
administrators all, a unit its assigned cases, a grid worker its village's. The rules of the list (open cases by
default, the overdue rule, the order) are :mod:`workflow.case_queue`'s. Query parameters (all optional; a value the
form cannot have produced is ignored, never an error page): ``status`` (a status, ``all``; none: open cases),
``category``, ``unit`` (lead unit), ``township``, ``matter_type``, ``overdue`` (``1``/``0``), ``q`` (case id or
words of the description), ``order`` (``deadline``/``newest``), ``page`` (from 1).

Phone numbers are always masked here (also inside descriptions); the full number is only on the case page, for the
roles that need it, and every such view is audited. A deadline's countdown is right without JavaScript: the server
renders its text and the row's ``soon``/``overdue`` class; ``console.js`` keeps it ticking.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import urllib.parse
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from admin.console.access import DISPATCHING, queue_scope, worker_grids
from admin.console.session import page, session_of
from admin.console.templating import duration_text, render_page
from workflow.accounts import AccountRole
from workflow.case_queue import ALL_STATUSES, ORDERS, QueueFilter, QueuePage, case_queue, clock_runs, is_overdue
from workflow.case_views import CaseView
from workflow.deadlines import MatterType
from workflow.phones import mask_phones_in
from workflow.reference import DISPATCH_CENTER_CODE, ReferenceData
from workflow.status import CaseStatus

#: A running deadline this close (seconds) is "soon" (matches ``SOON_SECONDS`` in ``console.js``).
SOON_SECONDS = 4 * 3600
#: Cases per page.
PAGE_SIZE = 50
#: Characters of a description shown in the list (the case page shows it whole).
DESCRIPTION_CHARS = 120
_MAX_PAGE = 100_000

#: Statuses as staff call them (the residents' wording is :attr:`CaseStatus.label`).
STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.REPORTED: "待受理",
    CaseStatus.ACCEPTED: "已受理待派单",
    CaseStatus.ASSIGNED: "已派单待签收",
    CaseStatus.IN_PROGRESS: "办理中",
    CaseStatus.RESOLVED: "已办结待评价",
    CaseStatus.CLOSED: "已归档",
    CaseStatus.RETURNED: "已退回待重派",
    CaseStatus.REJECTED: "不予受理",
    CaseStatus.REOPENED: "重新交办",
}
UNDER_REVIEW_LABEL = "待复核（群众两次不满意）"
ORDER_LABELS = {"deadline": "按时限（最急在前）", "newest": "按登记时间（最新在前）"}


def register(blueprint: Blueprint) -> None:
    """Add ``GET /console/cases``."""
    blueprint.add_route(case_list, "/cases", methods=["GET"], strict_slashes=False)


def status_text(view: CaseView) -> str:
    """The case's status as the console shows it (a case under review says so)."""
    if view.status is CaseStatus.RETURNED and view.needs_review:
        return UNDER_REVIEW_LABEL
    return STATUS_LABELS[view.status]


@dataclass(frozen=True)
class Deadline:
    """What the page shows of a case's deadline at ``now``.

    Attributes:
        runs: The clock runs (:func:`workflow.case_queue.clock_runs`); otherwise no countdown is shown.
        state: ``overdue``, ``soon`` or ``""`` (the CSS class of the countdown and of its table row).
        text: ``剩余 3小时5分`` / ``已超期 20分钟`` (as ``console.js`` writes it), or the status's word.
    """

    runs: bool
    state: str
    text: str


def deadline_of(view: CaseView, now: dt.datetime) -> Deadline:
    """The deadline display of ``view`` at ``now`` (the queue's overdue rule; soon: < :data:`SOON_SECONDS`)."""
    if not clock_runs(view):
        late = view.overdue_at is not None
        if view.status is CaseStatus.RETURNED and view.needs_review:
            return Deadline(False, "", "待复核")
        return Deadline(False, "", "曾超期" if late else "—")
    left = (view.deadline - now).total_seconds()
    if is_overdue(view, now) or left < 0:
        return Deadline(True, "overdue", "已超期 " + duration_text(min(left, 0)))
    return Deadline(True, "soon" if left < SOON_SECONDS else "", "剩余 " + duration_text(left))


def _short(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    text = " ".join(mask_phones_in(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class Choices:
    """The filter form's options: ``(value, label)`` pairs."""

    statuses: list[tuple[str, str]]
    categories: list[tuple[str, str]]
    units: list[tuple[str, str]]
    townships: list[tuple[str, str]]
    matter_types: list[tuple[str, str]]


def filter_choices(reference: ReferenceData) -> Choices:
    """Options of the filter form from the reference data (the dispatch centre never leads a case)."""
    units = sorted((u for u in reference.units.values() if u.code != DISPATCH_CENTER_CODE),
                   key=lambda u: ({"county": 0, "enterprise": 1}.get(u.level, 2), u.township_code or "", u.name))
    return Choices(
        statuses=[("", "未办结（默认）"), (ALL_STATUSES, "全部")]
                 + [(status.value, STATUS_LABELS[status]) for status in CaseStatus],
        categories=[(c.code, c.name) for c in sorted(reference.categories.values(), key=lambda c: c.position)],
        units=[(u.code, u.name) for u in units],
        townships=[(t.code, t.name) for t in reference.gazetteer.townships],
        matter_types=[(m.value, m.label) for m in MatterType],
    )


def _first(args: Mapping[str, Sequence[str]], name: str) -> str:
    values = args.get(name) or ()
    return (values[0] if values else "").strip()


def parse_filters(args: Mapping[str, Sequence[str]], choices: Choices) -> dict[str, str]:
    """The form's values as typed, each kept only when the form could have produced it ('' otherwise)."""

    def pick(name: str, options: list[tuple[str, str]]) -> str:
        value = _first(args, name)
        return value if value in {v for v, _ in options} else ""

    page_text = _first(args, "page")
    return {
        "status": pick("status", choices.statuses),
        "category": pick("category", choices.categories),
        "unit": pick("unit", choices.units),
        "township": pick("township", choices.townships),
        "matter_type": pick("matter_type", choices.matter_types),
        "overdue": _first(args, "overdue") if _first(args, "overdue") in ("1", "0") else "",
        "q": _first(args, "q")[:100],
        "order": _first(args, "order") if _first(args, "order") in ORDERS else "deadline",
        "page": page_text if page_text.isascii() and page_text.isdigit() and 1 <= int(page_text) <= _MAX_PAGE
        else "1",
    }


def queue_filter(form: Mapping[str, str]) -> QueueFilter:
    """The :class:`QueueFilter` of parsed form values."""
    return QueueFilter(
        status=form["status"] or None,
        category=form["category"] or None,
        unit=form["unit"] or None,
        township=form["township"] or None,
        matter_type=form["matter_type"] or None,
        overdue={"1": True, "0": False}.get(form["overdue"]),
        text=form["q"] or None,
    )


def page_link(form: Mapping[str, str], page_number: int) -> str:
    """The queue's URL with the same filters on another page (empty values left out)."""
    values = {name: value for name, value in form.items() if value and name != "page"}
    if values.get("order") == "deadline":
        del values["order"]
    if page_number > 1:
        values["page"] = str(page_number)
    query = urllib.parse.urlencode(values)
    return "/console/cases" + (f"?{query}" if query else "")


def _row(view: CaseView, now: dt.datetime, reference: ReferenceData) -> dict[str, Any]:
    suggested = view.suggested_category
    return {
        "view": view,
        "status_text": status_text(view),
        "deadline": deadline_of(view, now),
        "suggestion": (reference.categories[suggested].name if suggested in reference.categories else suggested)
        if suggested and suggested != view.category else None,
        "confidence": round(view.category_confidence * 100) if view.category_confidence is not None else None,
        "short_description": _short(view.description),
    }


@page()
async def case_list(request: Request) -> HTTPResponse:
    """The queue of the cases the account may see, filtered and paged (see the module docstring)."""
    account = session_of(request).account
    reference: ReferenceData = request.app.ctx.reference
    choices = filter_choices(reference)
    form = parse_filters({name: request.args.getlist(name) for name in request.args}, choices)
    page_number = int(form["page"])
    now = request.app.ctx.lifecycle.now()
    grids = await asyncio.to_thread(worker_grids, request.app.ctx.session_factory, account)
    result: QueuePage = await asyncio.to_thread(
        case_queue, request.app.ctx.session_factory, queue_filter(form), queue_scope(account, grids),
        order=form["order"], limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE, now=now,
    )
    pages = max(1, -(-result.total // PAGE_SIZE))
    return render_page(
        request, "queue.html",
        title={AccountRole.UNIT: "本单位工单", AccountRole.GRID_WORKER: "本网格工单"}.get(account.role, "工单列表"),
        rows=[_row(view, now, reference) for view in result.views],
        total=result.total, page_number=page_number, pages=pages,
        previous_link=page_link(form, page_number - 1) if page_number > 1 else None,
        next_link=page_link(form, page_number + 1) if result.has_next else None,
        form=form, choices=choices, order_labels=ORDER_LABELS,
        show_unit_filter=account.role in DISPATCHING,
        soon_seconds=SOON_SECONDS, now=now,
    )
