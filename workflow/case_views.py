"""Read-only views of cases and their audit trail, as services return them (no ORM object leaves a session).

:class:`CaseView` is what residents, staff and API clients see of a case; :class:`CaseEventView` is one row of its
audit trail (DESIGN.md: every transition is an audit row: who, when, from, to, note). Both are JSON-ready through
``to_dict``. Datetimes are aware UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.deadlines import MatterType
from workflow.models import Case, CaseEvent, Unit
from workflow.routing import UnitRef
from workflow.status import CaseStatus, describe_status, status_label
from workflow.textnorm import normalize_term
from workflow.transitions import Rating, RejectReason


def normalize_case_id(case_id: str | None) -> str:
    """A case id as typed (``" ｊｌ20261130－0001 "``) in its stored form (``JL20261130-0001``)."""
    return normalize_term(case_id or "").upper()


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class CaseView:
    """A case as shown to residents, staff and API clients (read-only; datetimes aware UTC).

    ``suggested_*`` and ``category_confidence`` are the bot's suggestion, kept beside the confirmed ``category``
    and ``matter_type``. ``result``/``result_photo`` are the unit's latest answer; ``rating`` the resident's latest
    rating (``no_rating`` when the case was closed without one); ``unsatisfied_count`` how often the resident was
    unsatisfied. ``needs_review``: a dispatcher must look at the case (category to choose, or a second
    "unsatisfied"). ``duplicate_of``: for a case rejected as a duplicate, the original's case id. ``warned_at`` /
    ``overdue_at``: when the deadline jobs warned the unit (80% of the time gone) and marked the case overdue in
    its current round (:mod:`workflow.jobs`); None before. ``latitude``/``longitude``/``location_label``: a location
    the resident shared (WGS-84 degrees); ``call_id``: the hotline call the case came from; ``attachments``: the
    evidence sent with the report, ``({"kind", "source", "media_id", "url"}, …)``.

    Grid work (issue 6, migration 0009): ``kind`` is ``report`` (a resident's report), ``patrol`` (a grid worker's
    巡查上报) or ``proxy`` (帮我办, handled by a grid worker for the resident); ``grid_code``/``grid_name`` the case's
    grid (None when the rule of :mod:`workflow.grids` could not settle it); ``assignee_account_id`` /
    ``assignee_name`` the grid worker a proxy case is assigned to (account id, display name); ``beneficiary`` whom
    a proxy request is for, as the requester said it; ``first_response_due`` / ``first_response_at`` when the grid
    worker's first response is due (2 working days) and when it came (aware UTC).
    """

    case_id: str
    status: CaseStatus
    category: str | None
    category_name: str | None
    suggested_category: str | None
    category_confidence: float | None
    matter_type: MatterType
    importance_level: int | None
    township: str
    township_name: str
    village: str | None
    village_code: str | None
    description: str
    reporter: str
    reporter_phone: str | None
    channel: str
    created_at: dt.datetime
    accepted_at: dt.datetime | None
    deadline: dt.datetime
    updated_at: dt.datetime
    lead_unit: UnitRef
    cooperating_units: tuple[UnitRef, ...] = field(default_factory=tuple)
    needs_review: bool = False
    suggested_matter_type: MatterType | None = None
    assigned_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    result: str | None = None
    result_photo: str | None = None
    rating: Rating | None = None
    rating_comment: str | None = None
    unsatisfied_count: int = 0
    rejection_reason: RejectReason | None = None
    duplicate_of: str | None = None
    warned_at: dt.datetime | None = None
    overdue_at: dt.datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    location_label: str | None = None
    call_id: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    kind: str = "report"
    grid_code: str | None = None
    grid_name: str | None = None
    assignee_account_id: int | None = None
    assignee_name: str | None = None
    beneficiary: str | None = None
    first_response_due: dt.datetime | None = None
    first_response_at: dt.datetime | None = None

    @property
    def is_proxy(self) -> bool:
        """A 帮我办 case (``kind == "proxy"``)."""
        return self.kind == "proxy"

    @property
    def status_label(self) -> str:
        """Short resident-facing label, e.g. ``已派单至县生态环境分局``."""
        return status_label(self.status, self.lead_unit.name)

    @property
    def status_description(self) -> str:
        """One resident-facing sentence about the case (:func:`workflow.status.describe_status`)."""
        return describe_status(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: enums as their codes, datetimes as ISO 8601 with offset, units as ``{code, name}``."""
        return {
            "case_id": self.case_id,
            "status": self.status.value,
            "status_label": self.status_label,
            "status_description": self.status_description,
            "category": self.category,
            "category_name": self.category_name,
            "suggested_category": self.suggested_category,
            "category_confidence": self.category_confidence,
            "matter_type": self.matter_type.value,
            "suggested_matter_type": self.suggested_matter_type.value if self.suggested_matter_type else None,
            "importance_level": self.importance_level,
            "township": self.township,
            "township_name": self.township_name,
            "village": self.village,
            "village_code": self.village_code,
            "description": self.description,
            "reporter": self.reporter,
            "reporter_phone": self.reporter_phone,
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
            "accepted_at": _iso(self.accepted_at),
            "assigned_at": _iso(self.assigned_at),
            "resolved_at": _iso(self.resolved_at),
            "closed_at": _iso(self.closed_at),
            "deadline": self.deadline.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "lead_unit": self.lead_unit.to_dict(),
            "cooperating_units": [u.to_dict() for u in self.cooperating_units],
            "needs_review": self.needs_review,
            "result": self.result,
            "result_photo": self.result_photo,
            "rating": self.rating.value if self.rating else None,
            "rating_label": self.rating.label if self.rating else None,
            "rating_comment": self.rating_comment,
            "unsatisfied_count": self.unsatisfied_count,
            "rejection_reason": self.rejection_reason.value if self.rejection_reason else None,
            "duplicate_of": self.duplicate_of,
            "warned_at": _iso(self.warned_at),
            "overdue_at": _iso(self.overdue_at),
            "overdue": self.overdue_at is not None,
            "location": (
                {"latitude": self.latitude, "longitude": self.longitude, "label": self.location_label}
                if self.latitude is not None else None
            ),
            "call_id": self.call_id,
            "attachments": [dict(a) for a in self.attachments],
            "kind": self.kind,
            "grid_code": self.grid_code,
            "grid_name": self.grid_name,
            "assignee_account_id": self.assignee_account_id,
            "assignee_name": self.assignee_name,
            "beneficiary": self.beneficiary,
            "first_response_due": _iso(self.first_response_due),
            "first_response_at": _iso(self.first_response_at),
        }


@dataclass(frozen=True)
class CaseEventView:
    """One audit row of a case.

    Attributes:
        at: When (aware UTC).
        actor: Who: reporter id, staff id, unit code or ``system``.
        actor_role: ``resident``, ``bot``, ``dispatcher``, ``unit`` or ``system``.
        event: What (a :class:`workflow.transitions.CaseEventType` code, e.g. ``assigned``).
        from_status: Status before (None for ``filed``).
        to_status: Status after (equal to ``from_status`` for a progress note).
        note: Free text: the reason, the result, the resident's comment.
        data: JSON details of the event (units, deadline, rating, override, …).
    """

    at: dt.datetime
    actor: str
    actor_role: str
    event: str
    from_status: str | None
    to_status: str
    note: str
    data: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; ``at`` as ISO 8601 with offset."""
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "actor_role": self.actor_role,
            "event": self.event,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "note": self.note,
            "data": dict(self.data),
        }


def case_query():
    """``select(Case)`` with the relationships a :class:`CaseView` needs loaded eagerly."""
    return select(Case).options(
        selectinload(Case.category),
        selectinload(Case.township),
        selectinload(Case.village),
        selectinload(Case.lead_unit),
        selectinload(Case.attachments),
        selectinload(Case.grid),
        selectinload(Case.assignee),
    )


def case_views(session: Session, cases: Sequence[Case]) -> list[CaseView]:
    """Views of ``cases`` (cooperating unit names looked up in one query)."""
    codes = {code for case in cases for code in (case.cooperating_unit_codes or [])}
    names: dict[str, str] = {}
    if codes:
        names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all())
    return [_view(case, names) for case in cases]


def event_view(event: CaseEvent) -> CaseEventView:
    """The view of one audit row."""
    return CaseEventView(
        at=event.at,
        actor=event.actor,
        actor_role=event.actor_role,
        event=event.event,
        from_status=event.from_status,
        to_status=event.to_status,
        note=event.note or "",
        data=dict(event.data or {}),
    )


def _view(case: Case, unit_names: Mapping[str, str]) -> CaseView:
    return CaseView(
        case_id=case.case_id,
        status=CaseStatus(case.status),
        category=case.category_code,
        category_name=case.category.name if case.category else None,
        suggested_category=case.suggested_category_code,
        category_confidence=case.category_confidence,
        matter_type=MatterType(case.matter_type),
        importance_level=case.importance_level,
        township=case.township_code,
        township_name=case.township.name,
        village=case.village.name if case.village else case.village_name,
        village_code=case.village_code,
        description=case.description,
        reporter=case.reporter_id,
        reporter_phone=case.reporter_phone,
        channel=case.channel,
        created_at=case.created_at,
        accepted_at=case.accepted_at,
        deadline=case.deadline,
        updated_at=case.updated_at,
        lead_unit=UnitRef(code=case.lead_unit_code, name=case.lead_unit.name),
        cooperating_units=tuple(
            UnitRef(code=code, name=unit_names.get(code, code)) for code in case.cooperating_unit_codes or []
        ),
        needs_review=case.needs_review,
        suggested_matter_type=MatterType(case.suggested_matter_type) if case.suggested_matter_type else None,
        assigned_at=case.assigned_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        result=case.result,
        result_photo=case.result_photo,
        rating=Rating(case.rating) if case.rating else None,
        rating_comment=case.rating_comment,
        unsatisfied_count=case.unsatisfied_count or 0,
        rejection_reason=RejectReason(case.rejection_reason) if case.rejection_reason else None,
        duplicate_of=case.duplicate_of,
        warned_at=case.warned_at,
        overdue_at=case.overdue_at,
        latitude=case.latitude,
        longitude=case.longitude,
        location_label=case.location_label,
        call_id=case.call_id,
        attachments=tuple(
            {"kind": a.kind, "source": a.source, "media_id": a.media_id, "url": a.url} for a in case.attachments
        ),
        kind=case.kind or "report",
        grid_code=case.grid_code,
        grid_name=case.grid.name if case.grid is not None else None,
        assignee_account_id=case.assignee_account_id,
        assignee_name=case.assignee.display_name if case.assignee is not None else None,
        beneficiary=case.beneficiary,
        first_response_due=case.first_response_due,
        first_response_at=case.first_response_at,
    )
