"""A responsible unit's cases (承办单位的工单): the work list and the read rule of unit staff.

A unit's cases are those dispatched to it that it still leads: ``lead_unit_code`` is the unit and the case has been
assigned (``assigned_at`` set). A filed or accepted case already carries the lead unit the responsibility list
suggests, but until a dispatcher assigns it the unit has nothing to do with it and does not see it. A case the unit
returned stays on its list as ``returned`` until the dispatcher assigns it elsewhere. Cooperating units (配合责任)
are not given the case by this rule: :mod:`workflow.lifecycle` lets only the lead unit act.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import sessionmaker

from workflow.case_views import CaseView, case_query, case_views
from workflow.cases import check_page
from workflow.models import Case
from workflow.status import CaseStatus


def is_unit_case(view: CaseView, unit_code: str) -> bool:
    """True when unit ``unit_code`` may see ``view``: it leads the case and the case was assigned."""
    return view.lead_unit.code == unit_code and view.assigned_at is not None


def list_unit_cases(
    session_factory: sessionmaker,
    unit_code: str,
    *,
    statuses: Collection[CaseStatus | str] = (),
    limit: int = 50,
    offset: int = 0,
) -> list[CaseView]:
    """The unit's cases, most urgent first (earliest deadline, then filing order).

    Args:
        session_factory: Over the case database.
        unit_code: The unit, e.g. ``county_ecology``.
        statuses: Keep only cases in one of these statuses; empty keeps all.
        limit: 1 to :data:`workflow.cases.MAX_LIST_LIMIT` (:func:`workflow.cases.check_page`).
        offset: Rows to skip, >= 0.

    Raises:
        ValueError: Unknown status, or ``limit``/``offset`` out of range.
    """
    check_page(limit, offset)
    query = case_query().where(Case.lead_unit_code == unit_code, Case.assigned_at.is_not(None))
    if statuses:
        query = query.where(Case.status.in_([CaseStatus(status).value for status in statuses]))
    query = query.order_by(Case.deadline, Case.id).limit(limit).offset(offset)
    with session_factory() as session:
        return case_views(session, list(session.execute(query).scalars()))
