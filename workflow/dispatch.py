"""The dispatcher's decisions on one case (调度): acceptance, assignment, duplicate links, and when the system may
accept instead. Applied to an ORM ``Case`` in the caller's transaction; :mod:`workflow.lifecycle` checks who may do
it and in which status, and writes the audit row with the data these functions return.

Sources: ../shared/DESIGN.md "The five-step loop and case states" (accepted: category/type/level confirmed, by a
dispatcher or by high NLU confidence; assigned: lead + cooperating units, deadline fixed), "Matter types and
deadlines", and the county's responsibility list (:mod:`workflow.routing`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.deadlines import DeadlinePolicy, MatterType, compute_deadline
from workflow.exceptions import CaseNotFound, InvalidCaseAction, UnknownCategory, UnknownUnit
from workflow.models import Case, Category, Unit
from workflow.reference import DISPATCH_CENTER_CODE
from workflow.routing import route
from workflow.status import CaseStatus
from workflow.transitions import RejectReason
from workflow.workcalendar import WorkingCalendar

_MAX_DUPLICATE_CHAIN = 50


def accept_case(
    session: Session,
    case: Case,
    now: dt.datetime,
    *,
    importance_level: int,
    category_code: str | None,
    matter_type: MatterType | None,
    calendar: WorkingCalendar,
    policy: DeadlinePolicy,
) -> dict[str, Any]:
    """Confirm (or change) the category and matter type, set the importance level and fix the deadline.

    The deadline counts from ``now``, the acceptance time (DESIGN.md; the filing preview is replaced). The case is
    routed again by its category, so ``lead_unit_code`` shows where an assignment by the list will send it. The
    NLU's suggestions (``suggested_*``) are left as they are.

    Args:
        importance_level: 1–3, validated by the caller.
        category_code: The confirmed category; None keeps the case's.
        matter_type: The confirmed matter type; None keeps the case's.

    Returns:
        The audit data: final and suggested values, the deadline (ISO 8601) and the routing.

    Raises:
        InvalidCaseAction: Neither the case nor ``category_code`` has a category (field ``category_code``).
        UnknownCategory: ``category_code`` is not one of the 28.
    """
    code = category_code or case.category_code
    if not code:
        raise InvalidCaseAction("the report has no category: choose one to accept it", field="category_code")
    category = category_by_code(session, code)
    matter = matter_type or MatterType(case.matter_type)
    routing = route(session, category.code, case.township_code)
    case.category_code = category.code
    case.matter_type = matter.value
    case.importance_level = importance_level
    case.needs_review = False
    case.accepted_at = now
    case.deadline = compute_deadline(matter, now, calendar, policy)
    case.lead_unit_code = routing.lead.code
    case.cooperating_unit_codes = [unit.code for unit in routing.cooperating]
    return {
        "category": category.code,
        "suggested_category": case.suggested_category_code,
        "category_confidence": case.category_confidence,
        "matter_type": matter.value,
        "suggested_matter_type": case.suggested_matter_type,
        "importance_level": importance_level,
        "deadline": case.deadline.isoformat(),
        "lead_unit": routing.lead.code,
        "cooperating_units": list(case.cooperating_unit_codes),
    }


def auto_accept_refusal(case: Case, threshold: float) -> str | None:
    """Why the system may not accept ``case`` by itself, or None when it may.

    It may when: the resident did not leave the category to a dispatcher (``needs_review``); the matter is not an
    emergency (a person confirms every emergency); the category is the NLU's own top suggestion (a category the
    resident picked from the ranking carries no confidence); and that confidence is strictly above ``threshold``.

    Args:
        case: A case in status ``reported``.
        threshold: 0–1 (``Settings.auto_accept_threshold``).
    """
    if case.needs_review:
        return "the resident asked a dispatcher to choose the category"
    if MatterType(case.matter_type) is MatterType.EMERGENCY:
        return "emergencies are accepted by a dispatcher"
    if not case.category_code or case.category_code != case.suggested_category_code:
        return "the category is not the NLU's top suggestion"
    if case.category_confidence is None or not case.category_confidence > threshold:
        return f"category confidence {case.category_confidence} is not above {threshold}"
    return None


def assign_case(
    session: Session,
    case: Case,
    now: dt.datetime,
    *,
    lead_unit: str | None,
    cooperating_units: Sequence[str] | None,
    category_code: str | None,
    reason: str,
    calendar: WorkingCalendar,
    policy: DeadlinePolicy,
) -> dict[str, Any]:
    """Set the lead and cooperating units, from the responsibility list or a dispatcher's override.

    What the dispatcher does not name comes from the list (placeholders resolved in the case's township). The result
    is an *override* when it differs from the list (lead, or the set of cooperating units); then ``reason`` is
    required. The lead is never among the cooperating units. The deadline fixed at acceptance stays, except for a
    case back from review (``returned`` with ``needs_review``): a new round of work, deadline from ``now``.

    Args:
        lead_unit: Unit code, or None for the list's.
        cooperating_units: Unit codes, or None for the list's.
        category_code: Re-classify first (e.g. a unit returned the case as not theirs); None keeps the category.
        reason: Why the list is overridden.

    Returns:
        The audit data: units, ``override``, what the list said (``routing``), the deadline, and ``category``
        (``{"from", "to"}``) and ``new_round`` when they apply.

    Raises:
        UnknownCategory: ``category_code`` is not one of the 28.
        UnknownUnit: A code names no active unit.
        InvalidCaseAction: An override without reason, the dispatch centre as lead, or no category to route by.
    """
    data: dict[str, Any] = {}
    if category_code and category_code != case.category_code:
        data["category"] = {"from": case.category_code, "to": category_by_code(session, category_code).code}
        case.category_code = category_code
    if not case.category_code:
        raise InvalidCaseAction("the case has no category to route by", field="category_code")
    routing = route(session, case.category_code, case.township_code)
    listed = [unit.code for unit in routing.cooperating]
    lead = (lead_unit or "").strip() or routing.lead.code
    wanted = listed if cooperating_units is None else [str(code).strip() for code in cooperating_units]
    others = list(dict.fromkeys(code for code in wanted if code and code != lead))
    if lead == DISPATCH_CENTER_CODE:
        raise InvalidCaseAction("the dispatch centre cannot lead a case", field="lead_unit", value=lead)
    require_active_units(session, [lead, *others])
    override = lead != routing.lead.code or set(others) != set(listed)
    if override and not (reason or "").strip():
        raise InvalidCaseAction("a reason is required to override the responsibility list", field="reason")
    if case.status == CaseStatus.RETURNED.value and case.needs_review:
        case.deadline = compute_deadline(case.matter_type, now, calendar, policy)
        data["new_round"] = True
    case.lead_unit_code, case.cooperating_unit_codes = lead, others
    case.assigned_at, case.needs_review = now, False
    data.update(
        lead_unit=lead,
        cooperating_units=others,
        override=override,
        routing={"lead_unit": routing.lead.code, "cooperating_units": listed},
        deadline=case.deadline.isoformat(),
    )
    return data


def original_case_id(session: Session, case: Case, original: str) -> str:
    """The case id a duplicate links to: ``original``, or, when that is itself a rejected duplicate, its original.

    Raises:
        CaseNotFound: ``original`` (or a case along the chain) does not exist.
        InvalidCaseAction: The chain leads back to ``case`` (a duplicate of itself) or is implausibly long.
    """
    seen = {case.case_id}
    current = original
    for _ in range(_MAX_DUPLICATE_CHAIN):
        if current in seen:
            raise InvalidCaseAction("a case cannot be a duplicate of itself", field="duplicate_of", value=original)
        seen.add(current)
        row = session.execute(
            select(Case.rejection_reason, Case.duplicate_of).where(Case.case_id == current)
        ).one_or_none()
        if row is None:
            raise CaseNotFound(f"no case {current!r} to be a duplicate of", case_id=current)
        if row.rejection_reason != RejectReason.DUPLICATE.value or not row.duplicate_of:
            return current
        current = row.duplicate_of
    raise InvalidCaseAction("duplicate chain too long", field="duplicate_of", value=original)


def category_by_code(session: Session, code: str) -> Category:
    """The category row of ``code``.

    Raises:
        UnknownCategory: No such category.
    """
    category = session.get(Category, code)
    if category is None:
        raise UnknownCategory(f"unknown category {code!r}", category=code)
    return category


def require_active_units(session: Session, codes: Sequence[str]) -> None:
    """Check that every code names an active unit (units removed from the list are kept inactive for old cases).

    Raises:
        UnknownUnit: The first code that does not; context ``unit``.
    """
    active = set(session.execute(select(Unit.code).where(Unit.code.in_(codes), Unit.active.is_(True))).scalars())
    for code in codes:
        if code not in active:
            raise UnknownUnit(f"no active unit {code!r}", unit=code)
