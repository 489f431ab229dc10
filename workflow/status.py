"""Case (工单) statuses and how they are told to residents.

Source of the states: the five-step loop in ../shared/DESIGN.md ("The five-step loop and case states"):
reported → accepted → assigned → in_progress → resolved → closed, with the side paths returned, rejected and
reopened. This module names the states and words them for residents; which moves are allowed is the state machine
in :mod:`workflow.transitions`, applied by :mod:`workflow.lifecycle`.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, Protocol

from workflow.deadlines import format_deadline_zh


class CaseStatus(str, Enum):
    """Status of a case; the value is what the ``cases.status`` column stores (Open311's ``status`` is coarser)."""

    REPORTED = "reported"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    RETURNED = "returned"
    REJECTED = "rejected"
    REOPENED = "reopened"

    @property
    def label(self) -> str:
        """Short plain-Chinese label for residents, e.g. ``已登记，等待受理``."""
        return _LABELS[self]

    @property
    def is_open(self) -> bool:
        """True while somebody still has to act (not resolved, closed or rejected)."""
        return self not in (CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.REJECTED)


_LABELS = {
    CaseStatus.REPORTED: "已登记，等待受理",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.ASSIGNED: "已派单至承办单位",
    CaseStatus.IN_PROGRESS: "正在办理",
    CaseStatus.RESOLVED: "已办结，等待您的评价",
    CaseStatus.CLOSED: "已办结归档",
    CaseStatus.RETURNED: "正在重新派单",
    CaseStatus.REJECTED: "未予受理",
    CaseStatus.REOPENED: "已重新交办",
}


class _CaseLike(Protocol):
    case_id: str
    status: Any
    deadline: dt.datetime | None
    lead_unit: Any  # an object with ``.name`` (ORM Unit or UnitRef) or None


def status_label(status: CaseStatus | str, lead_unit_name: str | None = None) -> str:
    """Return the resident-facing label of ``status``; assigned names the unit: ``已派单至县生态环境分局``.

    Raises:
        ValueError: ``status`` is not a known status.
    """
    status = CaseStatus(status)
    if status is CaseStatus.ASSIGNED and lead_unit_name:
        return f"已派单至{lead_unit_name}"
    return status.label


def describe_status(case: _CaseLike) -> str:
    """Return one resident-facing sentence about where ``case`` stands.

    Works for an ORM ``Case`` and for a ``CaseView`` (both have ``case_id``, ``status``, ``deadline`` and a
    ``lead_unit`` with a ``name``). Deadlines are given in Asia/Shanghai time, e.g. ``2026年12月8日(星期二)17:30前``.
    A ``returned`` case with ``needs_review`` (the resident was unsatisfied twice) is told as being reviewed.

    Raises:
        ValueError: ``case.status`` is not a known status.
    """
    status = CaseStatus(case.status)
    unit = getattr(case.lead_unit, "name", None) or "承办单位"
    when = format_deadline_zh(case.deadline) if case.deadline is not None else None
    prefix = f"您的工单{case.case_id}"
    if status is CaseStatus.REPORTED:
        return f"{prefix}已登记，等待受理。"
    if status is CaseStatus.ACCEPTED:
        return f"{prefix}已受理，正在安排承办单位。"
    if status is CaseStatus.ASSIGNED:
        return f"{prefix}已派单至{unit}" + (f"，办理时限为{when}。" if when else "。")
    if status is CaseStatus.IN_PROGRESS:
        return f"{prefix}正在由{unit}办理" + (f"，办理时限为{when}。" if when else "。")
    if status is CaseStatus.RESOLVED:
        return f"{prefix}已办结，请您对办理结果进行评价。"
    if status is CaseStatus.CLOSED:
        return f"{prefix}已办结归档，感谢您的反映。"
    if status is CaseStatus.RETURNED and getattr(case, "needs_review", False):
        return f"{prefix}已转交调度人员复核，我们会尽快给您答复。"
    if status is CaseStatus.RETURNED:
        return f"{prefix}正在重新派单，我们会尽快安排新的承办单位。"
    if status is CaseStatus.REJECTED:
        return f"{prefix}未予受理（重复反映或不属于受理范围），如有疑问可以再次反映。"
    # REOPENED
    return f"{prefix}已重新交办给{unit}" + (f"，办理时限为{when}。" if when else "。")
