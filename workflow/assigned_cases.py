"""Accepting and assigning a case to a person's account in one step: the shared part of 帮我办 (a grid worker,
:mod:`workflow.grid_cases`) and expert consultations (an expert, :mod:`workflow.expert_cases`).

Both are accepted at filing (or when a dispatcher settles who acts) and handed at once to the account that acts for
the resident, with the matter type's usual deadline from now and a first-response deadline in working days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from workflow.deadlines import DeadlinePolicy, compute_deadline, deadline_warning_at, first_response_due
from workflow.models import Case, CaseEvent
from workflow.status import CaseStatus
from workflow.workcalendar import WorkingCalendar

#: Share of the time allowed after which the deadline jobs warn (as :mod:`workflow.lifecycle`'s default).
WARNING_FRACTION = 0.8
_SHORT = 60


def accept_and_assign(case: Case, now: dt.datetime, *, calendar: WorkingCalendar, policy: DeadlinePolicy,
                      first_response_workdays: int | None, actor: str, actor_role: str, note: str,
                      data: Mapping[str, Any]) -> None:
    """Set the case's deadlines and move it to ``assigned``, appending the audit rows to ``case.events``.

    The caller has set the assignee, ``needs_review``, the importance level and ``accepted_at``. Deadlines: the
    matter type's from ``now`` (:func:`workflow.deadlines.compute_deadline`), the first response after
    ``first_response_workdays`` working days (None: the policy's 帮我办 count), the warning at
    :data:`WARNING_FRACTION` of the time. Rows: ``accepted`` (only when the case was still ``reported``: a case a
    dispatcher accepted is only assigned), then ``assigned`` with ``note``; both carry ``data`` plus the deadlines
    and the lead unit (ISO 8601).
    """
    case.assigned_at = now
    case.deadline = compute_deadline(case.matter_type, now, calendar, policy)
    case.first_response_due = first_response_due(now, calendar, policy, workdays=first_response_workdays)
    case.warn_at = deadline_warning_at(now, max(case.deadline, now), WARNING_FRACTION)
    case.warned_at = case.overdue_at = None
    rows = {**data, "assignee_account_id": case.assignee_account_id,
            "first_response_due": case.first_response_due.isoformat(), "deadline": case.deadline.isoformat(),
            "lead_unit": case.lead_unit_code}
    from_status = case.status
    for event, to_status in (("accepted", CaseStatus.ACCEPTED), ("assigned", CaseStatus.ASSIGNED)):
        if event == "accepted" and from_status != CaseStatus.REPORTED.value:
            continue
        case.events.append(CaseEvent(at=now, actor=actor, actor_role=actor_role, event=event,
                                     from_status=from_status, to_status=to_status.value,
                                     note=note if event == "assigned" else "", data=rows))
        from_status = to_status.value
    case.status = CaseStatus.ASSIGNED.value


def short_text(text: str) -> str:
    """``text`` on one line, cut to 60 characters with "…" (for messages quoting a case's description)."""
    text = " ".join((text or "").split())
    return text if len(text) <= _SHORT else text[:_SHORT] + "…"
