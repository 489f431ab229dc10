"""Filing and reading cases (工单): the service the bot's actions and the admin API call.

A filed case starts in status ``reported``, routed by the responsibility list (:mod:`workflow.routing`) and with a
deadline computed as if accepted at filing time (:mod:`workflow.deadlines`; the closed loop recomputes it at
acceptance). Filing writes the case and its ``filed`` audit event in one transaction. What happens to a case after
filing (accept, assign, resolve, rate, …) is :mod:`workflow.lifecycle`; the views it returns are
:mod:`workflow.case_views` (``CaseView`` is re-exported here).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from workflow.case_ids import allocate_case_id
from workflow.case_views import CaseView, case_query, case_views, normalize_case_id
from workflow.deadlines import DEFAULT_POLICY, DeadlinePolicy, MatterType, compute_deadline
from workflow.exceptions import CaseNotFound, InvalidReport, NotCaseOwner, UnknownCategory, UnknownTownship
from workflow.gazetteer import Gazetteer
from workflow.gazetteer import Township as Place
from workflow.geo import COORDINATE_BOUNDS, check_coordinate
from workflow.models import ATTACHMENT_KINDS, CASE_KINDS, Case, CaseAttachment, CaseEvent, Category, Grid
from workflow.phones import normalize_phone
from workflow.routing import Routing, UnitRef, dispatch_routing, route
from workflow.status import CaseStatus
from workflow.workcalendar import WorkingCalendar

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]

#: Upper bound of ``limit`` in :meth:`CaseService.list_cases`.
MAX_LIST_LIMIT = 200
# Column widths (models.py); longer values would be cut or rejected by PostgreSQL.
_MAX_REPORTER_ID = 128
_MAX_CHANNEL = 32
_MAX_VILLAGE = 128
_MAX_LOCATION_LABEL = 256
_MAX_CALL_ID = 64
_MAX_MEDIA_ID = 256
_MAX_URL = 1024
_MAX_BENEFICIARY = 200
_MAX_GRID_CODE = 64
#: How a report's first message can come (``NewReport.input_mode``).
INPUT_MODES = ("text", "voice")
#: At most this many attachments per report (WeChat residents send a handful of photos, not albums).
MAX_ATTACHMENTS = 9


def utc_now() -> dt.datetime:
    """The current time as an aware UTC datetime (the default clock)."""
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True, kw_only=True)
class NewReport:
    """A resident's report as the bot collected it.

    Attributes:
        description: What the resident said, whole (never truncated).
        category_code: One of the 28 category codes (Open311 service_code); None when ``needs_review``.
        suggested_category_code: The NLU's best category, kept for the dispatcher even when not used.
        category_confidence: NLU confidence of the suggestion, 0–1.
        category_ranking: NLU ranking, ``[{"name": <category code>, "confidence": <0–1>}, …]``.
        matter_type: A :class:`MatterType` or its code; decides the deadline.
        township: Township code, name or alias as the resident gave it (王虎寨, 王虎寨镇, wanghuzhai_zhen); may be
            None when ``village`` names a village unambiguously.
        village: Village as the resident gave it (free text), optional.
        reporter_id: The channel's sender id.
        reporter_phone: Phone for call-backs, optional; mainland mobile or landline.
        channel: Channel name (``rest``, ``wechat``, ``hotline``, ``socketio``, …).
        needs_review: The resident asked a dispatcher to choose the category.
        attachments: Evidence sent with the report, ``[{"kind": "image", "source": "wechat", "media_id": …,
            "url": …}, …]`` (kind one of ``image``, ``voice``, ``video``; at least one of media_id/url).
        latitude: Where the resident said they were (a shared location), WGS-84 degrees, with ``longitude``.
        longitude: See ``latitude``.
        location_label: The platform's label of the shared location (an address line).
        call_id: The hotline call the report was taken from (``hotline_calls.call_id``).
        input_mode: How the first message came: ``text``, or ``voice`` (a WeChat voice message's recognised
            text); kept in the ``filed`` audit row so staff know the words may be misrecognised.
        kind: ``report`` (a resident's report, the default), ``patrol`` (a grid worker's 巡查上报) or ``proxy``
            (帮我办: ``description`` is the matter, ``reporter_id`` the requester's sender id; a proxy case may come
            without a category). Issue 6; rules in :mod:`workflow.grid_cases`. ``expert``: a grower's question
            for an expert (issue 7; ``description`` is the question; rules in :mod:`workflow.expert_cases`).
        beneficiary: Whom a 帮我办 request is for, as the requester said it (``家里老人``, ``我父亲王某``), at most
            200 characters; None when not said.
        grid_code: The case's grid when the reporter names it (a patrol report: the worker's grid); None lets
            :func:`workflow.grids.grid_for_case` decide. The grid's village is the case's village.
    """

    description: str
    category_code: str | None
    matter_type: MatterType | str
    township: str | None
    reporter_id: str
    channel: str = "rest"
    suggested_category_code: str | None = None
    category_confidence: float | None = None
    category_ranking: Sequence[Mapping[str, Any]] = ()
    village: str | None = None
    reporter_phone: str | None = None
    needs_review: bool = False
    attachments: Sequence[Mapping[str, Any]] = ()
    latitude: float | None = None
    longitude: float | None = None
    location_label: str | None = None
    call_id: str | None = None
    input_mode: str = "text"
    kind: str = "report"
    beneficiary: str | None = None
    grid_code: str | None = None


@dataclass(frozen=True)
class ReportPreview:
    """What the bot states before the resident confirms a report.

    ``deadline`` is aware UTC, computed as if the case were accepted now. ``category_code``/``category_name`` are
    None for a report left to a dispatcher (lead unit: the county dispatch centre).
    """

    category_code: str | None
    category_name: str | None
    lead_unit: UnitRef
    cooperating_units: list[UnitRef]
    deadline: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; ``deadline`` as ISO 8601 with offset."""
        return {
            "category": self.category_code,
            "category_name": self.category_name,
            "lead_unit": self.lead_unit.to_dict(),
            "cooperating_units": [u.to_dict() for u in self.cooperating_units],
            "deadline": self.deadline.isoformat(),
        }


class CaseService:
    """Files and reads cases.

    Args:
        session_factory: From :func:`workflow.db.make_session_factory`, over a migrated database with reference
            data loaded.
        calendar: Working-day calendar for deadlines.
        clock: Returns the current time as an aware datetime; default :func:`utc_now`. Read once per operation.
    """

    def __init__(self, session_factory: sessionmaker, calendar: WorkingCalendar, clock: Clock | None = None,
                 policy: DeadlinePolicy = DEFAULT_POLICY) -> None:
        self._session_factory = session_factory
        self._calendar = calendar
        self._clock = clock or utc_now
        self._policy = policy

    def now(self) -> dt.datetime:
        """The service's current time, aware UTC (its clock: frozen in tests)."""
        return self._now()

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"clock returned naive datetime {now.isoformat()}")
        return now.astimezone(dt.timezone.utc)

    # ------------------------------------------------------------------ filing
    def preview(
        self, category_code: str | None, matter_type: MatterType | str, township: str | None
    ) -> ReportPreview:
        """Say where a report would go and by when, before the resident confirms.

        Args:
            category_code: A category code, or None for a report a dispatcher will classify.
            matter_type: A :class:`MatterType` or its code.
            township: Township code, name or alias.

        Raises:
            UnknownCategory: ``category_code`` is not one of the 28.
            UnknownTownship: ``township`` names no township.
            InvalidReport: ``matter_type`` is not a known code.
        """
        matter = _matter_type(matter_type)
        now = self._now()
        with self._session_factory() as session:
            place = _resolve_place(Gazetteer.from_session(session), township, None)
            category = _category(session, category_code) if category_code else None
            routing = route(session, category.code, place.code) if category else dispatch_routing(session)
        return ReportPreview(
            category_code=category.code if category else None,
            category_name=category.name if category else None,
            lead_unit=routing.lead,
            cooperating_units=list(routing.cooperating),
            deadline=compute_deadline(matter, now, self._calendar, self._policy),
        )

    def file_report(self, report: NewReport) -> CaseView:
        """File a resident's report as a new case in status ``reported``.

        In one transaction: allocates the case id (``JL<YYYYMMDD>-<nnnn>``, Asia/Shanghai filing date), routes the
        case (responsibility list; a report with ``needs_review`` and no category goes to the county dispatch
        centre, whose dispatcher classifies it), computes the deadline as if accepted now, settles the case's grid,
        writes the case and a ``filed`` event (actor: the reporter, role ``resident``), and tells the grid's worker.
        A 帮我办 (``proxy``) case is assigned to its grid worker and accepted at once (status ``assigned``), or, when
        no worker can be found, left ``reported`` with ``needs_review`` (:mod:`workflow.grid_cases`).

        Raises:
            InvalidReport: Empty description, unknown matter type, missing reporter id or channel, a phone that is
                not a mainland mobile/landline, a confidence outside 0–1, a malformed ranking, no category
                without ``needs_review`` (a proxy case may have none), an unknown kind, an over-long beneficiary,
                or a ``grid_code`` that names no grid or a grid outside the given village.
                ``context["field"]`` names the field.
            UnknownCategory: ``category_code`` is not one of the 28.
            UnknownTownship: The township (or, without one, the village) names no township.
        """
        now = self._now()
        with self._session_factory.begin() as session:
            case = self.add_case(session, report, now)
            view = case_views(session, [case])[0]
        logger.info("filed case %s (%s, lead %s)", view.case_id, view.category or "needs review", view.lead_unit.code)
        return view

    def add_case(self, session: Session, report: NewReport, now: dt.datetime) -> Case:
        """Add one filed case and its ``filed`` event to ``session`` (flushed, not committed).

        For callers that file several reports in one transaction (a hotline call's matters): what
        :meth:`file_report` does inside its transaction. ``now`` is aware UTC, the filing time.

        Raises:
            The errors of :meth:`file_report`.
        """
        from workflow import expert_cases, grid_cases  # import workflow.notifications, which imports this module

        fields = _validated_fields(report)
        gazetteer = Gazetteer.from_session(session)
        given_grid = _given_grid(session, fields["grid_code"])
        township = report.township
        if given_grid is not None and not (township or "").strip():
            township = given_grid.village.township_code
        place = _resolve_place(gazetteer, township, report.village)
        village = gazetteer.resolve_village(report.village, place.code) if report.village else None
        if given_grid is not None:
            if village is not None and village.code != given_grid.village_code:
                raise InvalidReport(f"grid {given_grid.code!r} is not in village {report.village!r}",
                                    field="grid_code", value=given_grid.code)
            if given_grid.village.township_code != place.code:
                raise InvalidReport(f"grid {given_grid.code!r} is not in township {place.code!r}",
                                    field="grid_code", value=given_grid.code)
        category = _category(session, report.category_code) if report.category_code else None
        suggested = _suggested_category(session, report.suggested_category_code)
        routing: Routing = route(session, category.code, place.code) if category else dispatch_routing(session)
        deadline = compute_deadline(fields["matter_type"], now, self._calendar, self._policy)
        case = Case(
            case_id=allocate_case_id(session, now),
            status=CaseStatus.REPORTED.value,
            category_code=category.code if category else None,
            suggested_category_code=suggested,
            category_confidence=fields["category_confidence"],
            category_ranking=fields["category_ranking"],
            matter_type=fields["matter_type"].value,
            suggested_matter_type=fields["matter_type"].value,
            needs_review=report.needs_review,
            township_code=place.code,
            village_code=village.code if village else (given_grid.village_code if given_grid else None),
            village_name=fields["village"] or (given_grid.village.name if given_grid else None),
            description=fields["description"],
            reporter_id=fields["reporter_id"],
            reporter_phone=fields["reporter_phone"],
            channel=fields["channel"],
            lead_unit_code=routing.lead.code,
            cooperating_unit_codes=[u.code for u in routing.cooperating],
            created_at=now,
            deadline=deadline,
            updated_at=now,
            latitude=fields["latitude"],
            longitude=fields["longitude"],
            location_label=fields["location_label"],
            call_id=fields["call_id"],
            kind=fields["kind"],
            beneficiary=fields["beneficiary"],
        )
        grid = grid_cases.settle_grid(session, case, given_grid)
        case.grid_code = grid.code if grid is not None else None
        case.events.append(
            CaseEvent(
                at=now,
                actor=fields["reporter_id"],
                actor_role="resident",
                event="filed",
                from_status=None,
                to_status=CaseStatus.REPORTED.value,
                note="",
                data={
                    "channel": fields["channel"],
                    "category": case.category_code,
                    "suggested_category": suggested,
                    "category_confidence": fields["category_confidence"],
                    "matter_type": case.matter_type,
                    "township": place.code,
                    "village": case.village_code,
                    "lead_unit": routing.lead.code,
                    "cooperating_units": case.cooperating_unit_codes,
                    "deadline": deadline.isoformat(),
                    "needs_review": report.needs_review,
                    "attachments": len(fields["attachments"]),
                    "input_mode": report.input_mode if report.input_mode in INPUT_MODES else "text",
                    **({"call_id": fields["call_id"]} if fields["call_id"] else {}),
                    "kind": case.kind,
                    "grid": case.grid_code,
                    **({"beneficiary": case.beneficiary} if case.beneficiary else {}),
                },
            )
        )
        if case.kind == "proxy":
            reason = grid_cases.start_proxy(session, case, grid, now, calendar=self._calendar, policy=self._policy)
            if reason is not None:
                case.events[0].note = reason
                case.events[0].data = {**case.events[0].data, "needs_review": True, "review_reason": reason}
        elif case.kind == expert_cases.EXPERT_KIND:
            reason = expert_cases.start_expert(session, case, expert_cases.least_loaded_expert(session), now,
                                               calendar=self._calendar, policy=self._policy)
            if reason is not None:
                case.events[0].note = reason
                case.events[0].data = {**case.events[0].data, "needs_review": True, "review_reason": reason}
        for attachment in fields["attachments"]:
            case.attachments.append(CaseAttachment(added_at=now, **attachment))
        session.add(case)
        session.flush()
        view = case_views(session, [case])[0]
        if case.kind == expert_cases.EXPERT_KIND:  # a question for an expert is no grid matter: no grid notice
            expert_cases.notify_grower(session, case, view, now, resident_told=fields["call_id"] is None)
            return case
        grid_cases.notify_worker(session, case, view, now)
        if case.kind == "proxy":
            grid_cases.notify_requester(session, case, view, now, resident_told=fields["call_id"] is None)
        return case

    def add_attachment(self, case_id: str, reporter_id: str, attachment: Mapping[str, Any]) -> CaseView:
        """Attach evidence a resident sent after filing (a photo right after the case number) to their open case.

        Args:
            case_id: The case.
            reporter_id: The resident; must be the case's reporter.
            attachment: ``{"kind": "image", "source": "wechat", "media_id": …, "url": …}`` as in
                :class:`NewReport`.

        Raises:
            CaseNotFound: No such case.
            NotCaseOwner: Somebody else's case.
            InvalidReport: The attachment is malformed, the case already has :data:`MAX_ATTACHMENTS`, or it is
                closed or rejected (``field`` = ``attachments``).
        """
        cleaned = _attachments([attachment])[0]
        wanted = normalize_case_id(case_id)
        now = self._now()
        with self._session_factory.begin() as session:
            case = session.execute(case_query().where(Case.case_id == wanted)).scalar_one_or_none()
            if case is None:
                raise CaseNotFound(f"no case {wanted!r}", case_id=wanted)
            if case.reporter_id != reporter_id:
                raise NotCaseOwner(f"case {wanted!r} was reported by somebody else", case_id=wanted)
            if CaseStatus(case.status) in (CaseStatus.CLOSED, CaseStatus.REJECTED):
                raise InvalidReport(f"case {wanted!r} is {case.status}; evidence can no longer be added",
                                    field="attachments", case_id=wanted)
            if len(case.attachments) >= MAX_ATTACHMENTS:
                raise InvalidReport(f"at most {MAX_ATTACHMENTS} attachments per report", field="attachments",
                                    case_id=wanted)
            case.attachments.append(CaseAttachment(added_at=now, **cleaned))
            session.flush()
            view = case_views(session, [case])[0]
        logger.info("evidence added to case %s (%s)", wanted, cleaned["kind"])
        return view

    # ------------------------------------------------------------------ reading
    def get_case(self, case_id: str, *, reporter_id: str | None = None) -> CaseView:
        """Return one case by its case id (case, full-width and spaces are forgiven: ``jl20261129-0007``).

        Args:
            case_id: ``JL<YYYYMMDD>-<nnnn>``.
            reporter_id: When given (a resident asking), the case must be theirs.

        Raises:
            CaseNotFound: No case has ``case_id``.
            NotCaseOwner: ``reporter_id`` is given and is not the case's reporter.
        """
        wanted = normalize_case_id(case_id)
        with self._session_factory() as session:
            case = session.execute(case_query().where(Case.case_id == wanted)).scalar_one_or_none()
            if case is None:
                raise CaseNotFound(f"no case {wanted!r}", case_id=wanted)
            if reporter_id is not None and case.reporter_id != reporter_id:
                raise NotCaseOwner(f"case {wanted!r} was reported by somebody else", case_id=wanted)
            return case_views(session, [case])[0]

    def list_cases(
        self,
        *,
        reporter: str | None = None,
        status: CaseStatus | str | None = None,
        category: str | None = None,
        township: str | None = None,
        overdue: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[CaseView]:
        """Cases matching all given filters, newest first (by filing time, then id).

        Args:
            reporter: Reporter id (channel sender id).
            status: A :class:`CaseStatus` or its code.
            category: Category code.
            township: Township code.
            overdue: True: only cases the deadline jobs marked overdue in their current round; False: only the
                others; None: both.
            limit: 1 to :data:`MAX_LIST_LIMIT`.
            offset: Rows to skip, >= 0.

        Raises:
            ValueError: Unknown status, or ``limit``/``offset`` out of range.
        """
        check_page(limit, offset)
        query = case_query()
        if reporter is not None:
            query = query.where(Case.reporter_id == reporter)
        if status is not None:
            query = query.where(Case.status == CaseStatus(status).value)
        if category is not None:
            query = query.where(Case.category_code == category)
        if township is not None:
            query = query.where(Case.township_code == township)
        if overdue is not None:
            query = query.where(Case.overdue_at.isnot(None) if overdue else Case.overdue_at.is_(None))
        query = query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit).offset(offset)
        with self._session_factory() as session:
            return case_views(session, list(session.execute(query).scalars()))

    def cases_of_reporter(self, reporter_id: str, limit: int = 5) -> list[CaseView]:
        """A resident's latest cases, newest first (for 「查一下我反映的问题」)."""
        return self.list_cases(reporter=reporter_id, limit=limit)


# ---------------------------------------------------------------------- helpers
def check_page(limit: int, offset: int) -> None:
    """Check a listing's page: ``limit`` 1 to :data:`MAX_LIST_LIMIT` rows, ``offset`` ≥ 0 rows.

    Raises:
        ValueError: Either is out of range.
    """
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")


def _matter_type(value: MatterType | str) -> MatterType:
    try:
        return MatterType(value)
    except ValueError:
        raise InvalidReport(f"unknown matter type {value!r}", field="matter_type", value=str(value)) from None


def _validated_fields(report: NewReport) -> dict[str, Any]:
    """Check what needs no database; return the cleaned values."""
    description = (report.description or "").strip()
    if not description:
        raise InvalidReport("the description is empty", field="description")
    reporter_id = (report.reporter_id or "").strip()
    if not reporter_id or len(reporter_id) > _MAX_REPORTER_ID:
        raise InvalidReport(f"reporter id must be 1–{_MAX_REPORTER_ID} characters", field="reporter_id")
    channel = (report.channel or "").strip()
    if not channel or len(channel) > _MAX_CHANNEL:
        raise InvalidReport(f"channel must be 1–{_MAX_CHANNEL} characters", field="channel")
    kind = report.kind if isinstance(report.kind, str) else ""
    if kind not in CASE_KINDS:
        raise InvalidReport(f"kind must be one of {CASE_KINDS}", field="kind", value=str(report.kind))
    if report.category_code is None and not report.needs_review and kind != "proxy":
        raise InvalidReport("a category is required unless a dispatcher is to choose it", field="category_code")
    phone = None
    if report.reporter_phone is not None and report.reporter_phone.strip():
        try:
            phone = normalize_phone(report.reporter_phone)
        except ValueError:
            raise InvalidReport(
                "the phone number is not a mainland mobile or landline number", field="reporter_phone"
            ) from None
    village = (report.village or "").strip() or None
    if village is not None and len(village) > _MAX_VILLAGE:
        raise InvalidReport(f"village must be at most {_MAX_VILLAGE} characters", field="village")
    return {
        "description": description,
        "reporter_id": reporter_id,
        "channel": channel,
        "matter_type": _matter_type(report.matter_type),
        "reporter_phone": phone,
        "village": village,
        "category_confidence": _confidence(report.category_confidence, "category_confidence"),
        "category_ranking": _ranking(report.category_ranking),
        "attachments": _attachments(report.attachments),
        **_location(report),
        "call_id": _bounded(report.call_id, _MAX_CALL_ID, "call_id"),
        "kind": kind,
        "beneficiary": _bounded(report.beneficiary, _MAX_BENEFICIARY, "beneficiary"),
        "grid_code": _bounded(report.grid_code, _MAX_GRID_CODE, "grid_code"),
    }


def _given_grid(session: Session, code: str | None) -> Grid | None:
    if code is None:
        return None
    grid = session.get(Grid, code)
    if grid is None:
        raise InvalidReport(f"no grid {code!r}", field="grid_code", value=code)
    return grid


def _bounded(value: str | None, limit: int, field_name: str) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > limit:
        raise InvalidReport(f"{field_name} must be at most {limit} characters", field=field_name)
    return value


def _location(report: NewReport) -> dict[str, Any]:
    """Latitude/longitude both or neither, each a finite number in range; the label bounded."""
    lat, lon = report.latitude, report.longitude
    if (lat is None) != (lon is None):
        raise InvalidReport("latitude and longitude come together", field="latitude")
    if lat is not None:
        for (name, _), value in zip(COORDINATE_BOUNDS, (lat, lon)):
            try:
                check_coordinate(name, value)
            except ValueError as error:
                raise InvalidReport(str(error), field=name) from None
    return {
        "latitude": float(lat) if lat is not None else None,
        "longitude": float(lon) if lon is not None else None,
        "location_label": _bounded(report.location_label, _MAX_LOCATION_LABEL, "location_label"),
    }


def _attachments(items: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    cleaned = []
    for item in items or ():
        if not isinstance(item, Mapping) or item.get("kind") not in ATTACHMENT_KINDS:
            raise InvalidReport(f"each attachment needs a kind among {ATTACHMENT_KINDS}", field="attachments")
        media_id = _bounded(item.get("media_id"), _MAX_MEDIA_ID, "attachments")
        url = _bounded(item.get("url"), _MAX_URL, "attachments")
        if media_id is None and url is None:
            raise InvalidReport("an attachment needs a media id or a URL", field="attachments")
        source = _bounded(item.get("source"), _MAX_CHANNEL, "attachments") or "unknown"
        cleaned.append({"kind": item["kind"], "source": source, "media_id": media_id, "url": url})
    if len(cleaned) > MAX_ATTACHMENTS:
        raise InvalidReport(f"at most {MAX_ATTACHMENTS} attachments per report", field="attachments")
    return cleaned


def _confidence(value: Any, field_name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidReport(f"{field_name} must be a number", field=field_name)
    if not 0.0 <= value <= 1.0:
        raise InvalidReport(f"{field_name} must be between 0 and 1", field=field_name, value=value)
    return float(value)


def _ranking(ranking: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    cleaned = []
    for item in ranking or ():
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            raise InvalidReport("each category ranking entry needs a name", field="category_ranking")
        cleaned.append({"name": name, "confidence": _confidence(item.get("confidence"), "category_ranking")})
    return cleaned


def _category(session: Session, code: str) -> Category:
    category = session.get(Category, code)
    if category is None:
        raise UnknownCategory(f"unknown category {code!r}", category=code)
    return category


def _suggested_category(session: Session, code: str | None) -> str | None:
    """The NLU's suggestion is advice for the dispatcher: an unknown code is dropped (logged), not fatal."""
    if not code:
        return None
    if session.get(Category, code) is None:
        logger.warning("dropping unknown suggested category %r", code)
        return None
    return code


def _resolve_place(gazetteer: Gazetteer, township: str | None, village: str | None) -> Place:
    if township is not None and township.strip():
        place = gazetteer.resolve_township(township)
        if place is None:
            raise UnknownTownship(f"no township called {township!r}", township=township)
        return place
    if village:
        found = gazetteer.resolve_village(village)
        if found is not None:
            return gazetteer.township(found.township_code)
        raise UnknownTownship(f"no township given and village {village!r} names none", township=None, village=village)
    raise UnknownTownship("no township given", township=None)
