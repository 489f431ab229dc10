"""The closed loop (闭环) of a case after filing: the service the admin API, the bot's actions and the jobs call.

Source: ../shared/DESIGN.md "The five-step loop and case states" and "Matter types and deadlines"; the state
machine itself (who may move a case from which status to which) is the table in :mod:`workflow.transitions`, and the
dispatcher's decisions (acceptance, assignment, duplicates, auto-accept eligibility) are :mod:`workflow.dispatch`.

Every action runs in one transaction: load the case, check the actor's role, the actor's right to this case (a unit
only on cases it leads, a resident only on their own), the status, then the input; change the case and write one
``case_events`` audit row (actor, actor_role, at, from_status, to_status, note, data). The ``version`` column makes
the UPDATE conditional: when two actions race on one case exactly one wins and the other raises
:class:`~workflow.exceptions.ConcurrentUpdate` with nothing written.

Decisions (county practice as we understand it; change them here, once):

- Acceptance fixes the deadline from the acceptance time (:func:`workflow.deadlines.compute_deadline`); the filing
  time only gave a preview. Re-assigning a case a unit returned keeps that deadline (the resident was promised it).
- A resident's first "unsatisfied" reopens the case to the same lead unit with a new deadline counted from the
  rating (a new round of work, 重新交办). The second (and any later) one sends it back to the dispatcher for review:
  status ``returned`` with ``needs_review`` set. The dispatcher then either assigns it again (a new round, new
  deadline) or closes it after review, giving a reason (``closed_after_review``).
- Auto-accept (:meth:`CaseLifecycle.auto_accept`): by ``system`` when the NLU's category confidence is above the
  threshold (``Settings.auto_accept_threshold``, default 0.85), the resident confirmed the NLU's own top category, the
  resident did not ask for a dispatcher, and the matter is not an emergency (a person confirms every emergency).
  Importance level :data:`AUTO_ACCEPT_IMPORTANCE_LEVEL`.
- A resolved case nobody rated is closed by the auto-close job with rating ``no_rating``, not before
  ``rating_window`` (3 days, DESIGN.md) after it was resolved.
- A *round* of work starts whenever a deadline is fixed for it: at acceptance, at a first "unsatisfied" (reopened)
  and at re-assignment after review. Its start sets ``warn_at`` (the lead unit's warning at ``warning_fraction``,
  80% of the wall-clock span from now to the deadline, :func:`workflow.deadlines.deadline_warning_at`) and clears
  ``warned_at``/``overdue_at``, so the deadline jobs (:mod:`workflow.jobs`) may warn and mark it again. Re-assigning
  a returned case keeps the round (and its deadline).
- Points (:mod:`workflow.points`): accepting a report awards its reporter 10/20/30 points by importance level in the
  acceptance's transaction (auto-accept and emergencies too); rejecting it after acceptance reverses that award in
  the reject's transaction. Both are idempotent on their ledger source; the points sentence is appended to the
  step's own message to the resident (one message per step and resident).
- Every action enqueues its notifications (:func:`workflow.case_messages.notify_transition`) in its own
  transaction: a message exists exactly when the change was committed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from workflow.case_views import CaseEventView, CaseView, case_query, case_views, event_view, normalize_case_id
from workflow.cases import Clock, utc_now
from workflow.deadlines import DEFAULT_POLICY, DeadlinePolicy, MatterType, compute_deadline, deadline_warning_at
from workflow.dispatch import accept_case, assign_case, auto_accept_refusal, original_case_id
from workflow.exceptions import (
    CaseNotFound,
    ConcurrentUpdate,
    IllegalTransition,
    InvalidCaseAction,
    NotCaseAssignee,
    NotCaseOwner,
    NotCaseUnit,
)
from workflow.models import Case, CaseEvent
from workflow.case_messages import notify_transition
from workflow.points import PointsLedger
from workflow.settings import DEFAULT_AUTO_ACCEPT_THRESHOLD
from workflow.status import CaseStatus
from workflow.transitions import (
    RESIDENT_RATINGS,
    Actor,
    ActorRole,
    CaseEventType,
    Rating,
    RejectReason,
    check_role,
    check_transition,
)
from workflow.workcalendar import WorkingCalendar

logger = logging.getLogger(__name__)

#: Importance level (1–3) given to an auto-accepted report: ordinary; a dispatcher sets 2 or 3 by hand.
AUTO_ACCEPT_IMPORTANCE_LEVEL = 1
#: The resident's n-th "unsatisfied" from which the case goes to dispatcher review instead of back to the unit.
REVIEW_AT_UNSATISFIED = 2
#: How long a resident may rate a resolved case before the auto-close job may close it (DESIGN.md: 3 days).
DEFAULT_RATING_WINDOW = dt.timedelta(days=3)
#: Share of a round's wall-clock span after which the lead unit is warned (DESIGN.md: "warn the unit at 80%").
DEFAULT_WARNING_FRACTION = 0.8
_MAX_PHOTO = 512  # cases.result_photo

E = CaseEventType


@dataclass
class _Outcome:
    """What an action wrote, for its audit row."""

    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class _NotEligible(Exception):
    """Auto-accept declined a case (not an error: the case waits for a dispatcher)."""


class CaseLifecycle:
    """Moves cases through the closed loop; every method returns the case as it is afterwards.

    Args:
        session_factory: From :func:`workflow.db.make_session_factory`, over a migrated database with reference data.
        calendar: Working-day calendar for deadlines.
        clock: Returns the current time as an aware datetime; default :func:`workflow.cases.utc_now`. Read once per
            action.
        policy: Deadline durations and office hours (default: the county's practice).
        auto_accept_threshold: See :meth:`auto_accept`; 0–1.
        rating_window: See :meth:`close_unrated`.
        warning_fraction: Share (0–1) of a round's span after which the deadline job warns the lead unit.
        points: The points ledger acceptance awards on and rejection reverses on; default one with
            ``data/points/policy.yml``.

    Raises:
        ValueError: ``auto_accept_threshold`` or ``warning_fraction`` is outside 0–1.

    Common errors of every action:
        CaseNotFound: No case has ``case_id``.
        ActorNotAllowed: The actor's role may not take this action.
        NotCaseUnit: A unit acts on a case it does not lead.
        NotCaseOwner: A resident acts on somebody else's case.
        IllegalTransition: The case's status does not allow the action.
        InvalidCaseAction: Missing or invalid input (``context["field"]`` names it).
        ConcurrentUpdate: Somebody else changed the case meanwhile; nothing was written.
    """

    def __init__(
        self,
        session_factory: sessionmaker,
        calendar: WorkingCalendar,
        *,
        clock: Clock | None = None,
        policy: DeadlinePolicy = DEFAULT_POLICY,
        auto_accept_threshold: float = DEFAULT_AUTO_ACCEPT_THRESHOLD,
        rating_window: dt.timedelta = DEFAULT_RATING_WINDOW,
        warning_fraction: float = DEFAULT_WARNING_FRACTION,
        points: PointsLedger | None = None,
    ) -> None:
        if not 0.0 <= auto_accept_threshold <= 1.0:
            raise ValueError(f"auto_accept_threshold must be between 0 and 1, got {auto_accept_threshold!r}")
        if not 0.0 <= warning_fraction <= 1.0:
            raise ValueError(f"warning_fraction must be between 0 and 1, got {warning_fraction!r}")
        self._session_factory = session_factory
        self._calendar = calendar
        self._clock = clock or utc_now
        self._policy = policy
        self._threshold = auto_accept_threshold
        self._rating_window = rating_window
        self._warning_fraction = warning_fraction
        self._points = points or PointsLedger(session_factory, clock=self._clock)

    @property
    def session_factory(self) -> sessionmaker:
        """The session factory the lifecycle works with (the deadline jobs use the same database)."""
        return self._session_factory

    @property
    def calendar(self) -> WorkingCalendar:
        """The working-day calendar of the lifecycle's deadlines."""
        return self._calendar

    @property
    def policy(self) -> DeadlinePolicy:
        """The deadline policy (``data/calendar/deadline_policy.yml``)."""
        return self._policy

    @property
    def rating_window(self) -> dt.timedelta:
        """How long a resident may rate a resolved case before :meth:`close_unrated` may close it."""
        return self._rating_window

    @property
    def warning_fraction(self) -> float:
        """Share of a round's span after which the lead unit is warned (0.8)."""
        return self._warning_fraction

    def now(self) -> dt.datetime:
        """The lifecycle's clock, read once, as aware UTC (the jobs take their ``now`` from here).

        Raises:
            ValueError: The clock returned a naive datetime.
        """
        return self._now()

    # ------------------------------------------------------------------ dispatcher
    def accept(
        self,
        case_id: str,
        actor: Actor,
        *,
        importance_level: int,
        category_code: str | None = None,
        matter_type: MatterType | str | None = None,
        note: str = "",
    ) -> CaseView:
        """Accept a report (受理): reported → accepted. The dispatcher confirms or changes the category and matter type
        and sets the importance level; the bot's suggestions stay on the case beside them.

        The deadline is fixed now, from the acceptance time, by the matter type's rule, and the case is routed
        again by the (possibly new) category, so ``lead_unit`` shows where :meth:`assign` will send it.

        Args:
            case_id: ``JL<YYYYMMDD>-<nnnn>`` (sloppy typing forgiven).
            actor: A dispatcher (or ``system``/``bot``).
            importance_level: 1, 2 or 3 (10/20/30 points, DESIGN.md "Points").
            category_code: The category; None keeps the filed one (required when the report had none).
            matter_type: The matter type; None keeps the filed one.
            note: Optional remark for the audit row.

        Raises:
            UnknownCategory: ``category_code`` is not one of the 28.
            InvalidCaseAction: Bad importance level or matter type, or no category at all.
        """
        level = _importance_level(importance_level)
        matter = _enum(MatterType, matter_type, "matter_type") if matter_type is not None else None

        def change(session: Session, case: Case, now: dt.datetime) -> _Outcome:
            data = accept_case(session, case, now, importance_level=level, category_code=category_code,
                               matter_type=matter, calendar=self._calendar, policy=self._policy)
            return _Outcome((note or "").strip(), {"auto": False, **data})

        return self._act(case_id, actor, E.ACCEPTED, change)

    def auto_accept(self, case_id: str, *, resident_present: bool = True) -> CaseView:
        """Accept a just-filed report without a dispatcher when the NLU is sure enough; call it right after
        :meth:`workflow.cases.CaseService.file_report`.

        Accepted (actor ``system``, role ``system``, importance level :data:`AUTO_ACCEPT_IMPORTANCE_LEVEL`) only
        when all hold: status ``reported``; the resident did not ask for a dispatcher (``needs_review``); the
        category is the NLU's own top suggestion and its confidence is strictly above the threshold; the matter is
        not an emergency (a person confirms emergencies). Otherwise, and when somebody else acted first, the case
        is returned unchanged: this method never fails because a case is not eligible.

        ``resident_present``: True when the resident is still in the conversation that filed the case (the bot says
        the acceptance there, so the notification is recorded but not pushed); False when they are gone (a
        finished hotline call): the acceptance, with the case number and deadline, is pushed to them.

        Raises:
            CaseNotFound: No case has ``case_id``.
        """

        def change(session: Session, case: Case, now: dt.datetime) -> _Outcome:
            refusal = auto_accept_refusal(case, self._threshold)
            if refusal is not None:
                raise _NotEligible(refusal)
            data = accept_case(session, case, now, importance_level=AUTO_ACCEPT_IMPORTANCE_LEVEL, category_code=None,
                               matter_type=None, calendar=self._calendar, policy=self._policy)
            return _Outcome("auto-accepted", {"auto": True, "threshold": self._threshold, **data})

        try:
            return self._act(case_id, Actor.system(), E.ACCEPTED, change, resident_present=resident_present)
        except (_NotEligible, IllegalTransition, ConcurrentUpdate) as declined:
            logger.info("case %s not auto-accepted: %s", case_id, declined)
            return self.get(case_id)

    def reject(
        self,
        case_id: str,
        actor: Actor,
        *,
        reason: RejectReason | str,
        note: str,
        duplicate_of: str | None = None,
    ) -> CaseView:
        """Reject a report (不予受理): reported/accepted/returned → rejected (not while under review).

        Args:
            reason: ``invalid``, ``out_of_scope`` or ``duplicate``.
            note: Why, in words (required; the resident is told).
            duplicate_of: For ``duplicate`` (required then, refused otherwise): the original's case id. When the
                original is itself a rejected duplicate, the link goes to its original.

        Raises:
            InvalidCaseAction: Unknown reason, empty note, missing/unexpected ``duplicate_of``, or a duplicate of
                itself.
            CaseNotFound: ``duplicate_of`` names no case.
        """
        why = _enum(RejectReason, reason, "reason")
        text = _required_text(note, "note")
        original = normalize_case_id(duplicate_of) if duplicate_of else None
        if (why is RejectReason.DUPLICATE) != (original is not None):
            raise InvalidCaseAction("duplicate_of is required for a duplicate and only then", field="duplicate_of")

        def change(session: Session, case: Case, now: dt.datetime) -> _Outcome:
            case.rejection_reason = why.value
            case.needs_review = False
            if original is not None:
                case.duplicate_of = original_case_id(session, case, original)
            return _Outcome(text, {"reason": why.value, "duplicate_of": case.duplicate_of})

        return self._act(case_id, actor, E.REJECTED, change)

    def assign(
        self,
        case_id: str,
        actor: Actor,
        *,
        lead_unit: str | None = None,
        cooperating_units: Sequence[str] | None = None,
        category_code: str | None = None,
        reason: str = "",
    ) -> CaseView:
        """Assign (派单) the case to a lead unit and cooperating units: accepted/returned → assigned.

        Without units the responsibility list decides (:func:`workflow.routing.route`, 属地 placeholders resolved
        in the case's township). Explicit units override it: what is not given is taken from the list, and when the
        result differs from the list a ``reason`` is required and recorded (audit ``note``; ``data.override``).
        A case coming back from review (``needs_review``) starts a new round: new deadline from now.

        Args:
            lead_unit: Unit code of the lead unit (主体责任), overriding the list.
            cooperating_units: Unit codes (配合责任), overriding the list; the lead is dropped from them.
            category_code: Re-classify before routing (e.g. after a unit returned the case as not theirs).
            reason: Why the list is overridden; required then.

        Raises:
            UnknownCategory: ``category_code`` is not one of the 28.
            UnknownUnit: A unit code names no active unit.
            InvalidCaseAction: Override without reason, or the dispatch centre as lead unit.
        """

        def change(session: Session, case: Case, now: dt.datetime) -> _Outcome:
            data = assign_case(session, case, now, lead_unit=lead_unit, cooperating_units=cooperating_units,
                               category_code=category_code, reason=reason, calendar=self._calendar,
                               policy=self._policy)
            return _Outcome((reason or "").strip(), data)

        return self._act(case_id, actor, E.ASSIGNED, change)

    def close_after_review(self, case_id: str, actor: Actor, *, reason: str) -> CaseView:
        """Close a case under review (a resident unsatisfied twice) as answered: returned → closed.

        Raises:
            InvalidCaseAction: Empty ``reason``.
            IllegalTransition: The case is not under review.
        """
        text = _required_text(reason, "reason")

        def change(session: Session, case: Case, now: dt.datetime) -> _Outcome:
            case.closed_at = now
            case.needs_review = False
            return _Outcome(text, {"rating": case.rating, "unsatisfied_count": case.unsatisfied_count})

        return self._act(case_id, actor, E.CLOSED_AFTER_REVIEW, change)

    # ------------------------------------------------------------------ unit
    def acknowledge(self, case_id: str, actor: Actor, *, note: str = "") -> CaseView:
        """The lead unit takes the case on (签收): assigned/reopened → in_progress.

        For a 帮我办 case the assigned grid worker does it too; their first acknowledgement or note is the first
        response (``first_response_at``; due within 2 working days of filing), and the requester is told.
        """
        text = (note or "").strip()
        return self._act(case_id, actor, E.ACKNOWLEDGED, lambda session, case, now: _first_response(case, actor,
                                                                                                     now, text))

    def add_note(self, case_id: str, actor: Actor, note: str) -> CaseView:
        """The lead unit (or, on a 帮我办 case, its grid worker) records progress (an audit row; the status does not
        change). A grid worker's first note is the first response, as in :meth:`acknowledge`.

        Raises:
            InvalidCaseAction: Empty ``note``.
        """
        text = _required_text(note, "note")
        return self._act(case_id, actor, E.PROGRESS_NOTED, lambda session, case, now: _first_response(case, actor,
                                                                                                       now, text))

    def return_case(self, case_id: str, actor: Actor, *, reason: str) -> CaseView:
        """The lead unit says the case is not theirs (退回): assigned/reopened/in_progress → returned, to the
        dispatcher, who re-assigns it.

        Raises:
            InvalidCaseAction: Empty ``reason``.
        """
        text = _required_text(reason, "reason")
        return self._act(case_id, actor, E.RETURNED, lambda session, case, now: _Outcome(text))

    def resolve(self, case_id: str, actor: Actor, *, result: str, photo: str | None = None) -> CaseView:
        """The lead unit reports the result (办结): in_progress → resolved; the resident is asked to rate it.

        Args:
            result: What was done, for the resident (required; stored on the case).
            photo: Optional reference to a photo of the result (URL or storage key, at most 512 characters).

        Raises:
            InvalidCaseAction: Empty ``result`` or an over-long ``photo``.
        """
        text = _required_text(result, "result")
        picture = (photo or "").strip() or None
        if picture is not None and len(picture) > _MAX_PHOTO:
            raise InvalidCaseAction(f"photo reference must be at most {_MAX_PHOTO} characters", field="photo")

        def change(session: Session, case: Case, now: dt.datetime) -> _Outcome:
            case.result, case.result_photo, case.resolved_at = text, picture, now
            return _Outcome(text, {"photo": picture})

        return self._act(case_id, actor, E.RESOLVED, change)

    # ------------------------------------------------------------------ resident
    def rate(self, case_id: str, actor: Actor, rating: Rating | str, *, comment: str | None = None) -> CaseView:
        """The reporter rates a resolved case (满意 / 基本满意 / 不满意).

        ``satisfied`` and ``basically_satisfied`` close it. ``unsatisfied`` the first time reopens it to the same
        lead unit with a new deadline from now; from the :data:`REVIEW_AT_UNSATISFIED`-th time on it goes to the
        dispatcher for review (``returned`` with ``needs_review``).

        Raises:
            InvalidCaseAction: ``rating`` is not one of the three.
        """
        chosen = _enum(Rating, rating, "rating")
        if chosen not in RESIDENT_RATINGS:
            raise InvalidCaseAction(f"a resident cannot rate {chosen.value!r}", field="rating", value=chosen.value)
        text = (comment or "").strip() or None

        def event(case: Case) -> CaseEventType:
            if chosen is not Rating.UNSATISFIED:
                return E.RATED
            return E.REVIEW_REQUESTED if case.unsatisfied_count + 1 >= REVIEW_AT_UNSATISFIED else E.REOPENED

        def change(session: Session, case: Case, now: dt.datetime) -> _Outcome:
            case.rating, case.rating_comment = chosen.value, text
            data: dict[str, Any] = {"rating": chosen.value}
            if chosen is not Rating.UNSATISFIED:
                case.closed_at = now
            else:
                case.unsatisfied_count += 1
                data["unsatisfied_count"] = case.unsatisfied_count
                if case.unsatisfied_count < REVIEW_AT_UNSATISFIED:
                    case.deadline = compute_deadline(case.matter_type, now, self._calendar, self._policy)
                    case.assigned_at = now
                    data["deadline"] = case.deadline.isoformat()
                else:
                    case.needs_review = True
            return _Outcome(text or "", data)

        return self._act(case_id, actor, event, change)

    # ------------------------------------------------------------------ jobs
    def close_unrated(self, case_id: str, actor: Actor | None = None) -> CaseView:
        """Close a resolved case the resident did not rate (rating ``no_rating``): resolved → closed.

        For the auto-close job (actor ``system``). Not before ``rating_window`` has passed since the case was
        resolved: earlier it raises ``IllegalTransition`` with a ``reason``.
        """
        who = actor or Actor.system()

        def change(session: Session, case: Case, now: dt.datetime) -> _Outcome:
            if case.resolved_at is not None and now < case.resolved_at + self._rating_window:
                opens_until = case.resolved_at + self._rating_window
                raise IllegalTransition(
                    f"case {case.case_id}: the resident may rate it until {opens_until.isoformat()}",
                    case_id=case.case_id,
                    event=E.CLOSED_UNRATED.value,
                    from_status=case.status,
                    to_status=CaseStatus.CLOSED.value,
                    reason=f"rating window open until {opens_until.isoformat()}",
                )
            case.rating, case.closed_at = Rating.NO_RATING.value, now
            return _Outcome("", {"rating": Rating.NO_RATING.value})

        return self._act(case_id, who, E.CLOSED_UNRATED, change)

    # ------------------------------------------------------------------ reading
    def get(self, case_id: str) -> CaseView:
        """The case as it is now.

        Raises:
            CaseNotFound: No case has ``case_id``.
        """
        with self._session_factory() as session:
            return case_views(session, [_load_case(session, normalize_case_id(case_id))])[0]

    def history(self, case_id: str) -> list[CaseEventView]:
        """The case's audit trail, oldest first (``filed`` first).

        Raises:
            CaseNotFound: No case has ``case_id``.
        """
        with self._session_factory() as session:
            case = _load_case(session, normalize_case_id(case_id))
            events = session.execute(select(CaseEvent).where(CaseEvent.case_pk == case.id).order_by(CaseEvent.id))
            return [event_view(event) for event in events.scalars()]

    # ------------------------------------------------------------------ machinery
    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"clock returned naive datetime {now.isoformat()}")
        return now.astimezone(dt.timezone.utc)

    def _act(
        self,
        case_id: str,
        actor: Actor,
        event: CaseEventType | Callable[[Case], CaseEventType],
        change: Callable[[Session, Case, dt.datetime], _Outcome],
        *,
        resident_present: bool = True,
    ) -> CaseView:
        """Run one action in one transaction and write its audit row (see the module docstring).

        ``resident_present``: the resident is in the conversation where a system acceptance happens (the bot), so
        it is told there and not pushed; False for a channel the resident already left (a finished hotline call).
        """
        wanted = normalize_case_id(case_id)
        now = self._now()
        chosen = event if isinstance(event, CaseEventType) else None
        try:
            with self._session_factory.begin() as session:
                case = _load_case(session, wanted)
                chosen = event if isinstance(event, CaseEventType) else event(case)
                check_role(chosen, actor.role, case_id=wanted)
                _authorise(case, actor)
                from_status = CaseStatus(case.status)
                under_review = from_status is CaseStatus.RETURNED and case.needs_review
                to_status = check_transition(chosen, from_status, case_id=wanted, under_review=under_review)
                outcome = change(session, case, now)
                case.status = to_status.value
                if chosen in _ROUND_STARTS or outcome.data.get("new_round"):
                    _start_round(case, now, self._warning_fraction)
                case.updated_at = now
                # Always an UPDATE (with the version check), even for a progress note at an unchanged instant:
                # a note racing with a return must not record a status the case no longer has.
                flag_modified(case, "updated_at")
                data = dict(outcome.data)
                if actor.unit_code is not None:
                    data["unit"] = actor.unit_code
                if actor.account_id is not None:
                    data["account_id"] = actor.account_id
                session.add(
                    CaseEvent(
                        case_pk=case.id,
                        at=now,
                        actor=actor.id,
                        actor_role=actor.role.value,
                        event=chosen.value,
                        from_status=from_status.value,
                        to_status=to_status.value,
                        note=outcome.note,
                        data=data,
                    )
                )
                session.flush()
                session.expire(case, ["category", "lead_unit"])  # their codes may have changed
                view = case_views(session, [case])[0]
                # The resident rating in the bot, or the bot auto-accepting while the resident files, is told in
                # that same conversation turn; the outbox keeps the record without pushing it again.
                resident_told = actor.role is ActorRole.RESIDENT or (
                    resident_present and chosen is E.ACCEPTED and actor.role in (ActorRole.SYSTEM, ActorRole.BOT))
                told = notify_transition(session, case.id, view, chosen, outcome.note, now,
                                         resident_told=resident_told)
                if chosen is E.ACCEPTED:
                    self._points.award_for_case(session, case, now, step_messages=told)
                elif chosen is E.REJECTED:
                    self._points.reverse_for_case(session, case, now, step_messages=told)
        except StaleDataError:
            raise ConcurrentUpdate(
                f"case {wanted} was changed by somebody else meanwhile; nothing was written",
                case_id=wanted,
                event=chosen.value if chosen else None,
            ) from None
        logger.info("case %s: %s by %s %s (%s → %s)", wanted, chosen.value, actor.role.value, actor.id,
                    from_status.value, to_status.value)
        return view


# ---------------------------------------------------------------------- helpers
#: Transitions that fix a new deadline and so start a new round (re-assignment after review says so in its data).
_ROUND_STARTS = (E.ACCEPTED, E.REOPENED)


def _start_round(case: Case, now: dt.datetime, fraction: float) -> None:
    """A new round of work from ``now`` to ``case.deadline``: the warning is due afresh, no mark stands."""
    case.warn_at = deadline_warning_at(now, max(case.deadline, now), fraction)
    case.warned_at = None
    case.overdue_at = None


def _first_response(case: Case, actor: Actor, now: dt.datetime, text: str) -> _Outcome:
    """A grid worker's first action on their 帮我办 case (an expert's on their consultation, issue 7) is its first
    response (``first_response_at``, once)."""
    data: dict[str, Any] = {}
    if actor.role in (ActorRole.GRID_WORKER, ActorRole.EXPERT) and case.first_response_at is None:
        case.first_response_at = now
        data = {"first_response": True,
                "on_time": case.first_response_due is None or now <= case.first_response_due}
    return _Outcome(text, data)


def _load_case(session: Session, case_id: str) -> Case:
    case = session.execute(case_query().where(Case.case_id == case_id)).scalar_one_or_none()
    if case is None:
        raise CaseNotFound(f"no case {case_id!r}", case_id=case_id)
    return case


def _authorise(case: Case, actor: Actor) -> None:
    """A unit acts only on cases it leads; a resident only on their own; a grid worker only on a 帮我办 case assigned
    to them (issue 6); an expert only on an expert consultation assigned to them (issue 7)."""
    if actor.role is ActorRole.EXPERT and not (
            case.kind == "expert" and case.assignee_account_id is not None
            and case.assignee_account_id == actor.account_id):
        raise NotCaseAssignee(f"case {case.case_id} is not an expert consultation assigned to account "
                              f"{actor.account_id}", case_id=case.case_id, account_id=actor.account_id)
    if actor.role is ActorRole.GRID_WORKER and not (
            case.kind == "proxy" and case.assignee_account_id is not None
            and case.assignee_account_id == actor.account_id):
        raise NotCaseAssignee(f"case {case.case_id} is not a 帮我办 case assigned to account {actor.account_id}",
                              case_id=case.case_id, account_id=actor.account_id)
    if actor.role is ActorRole.UNIT and actor.unit_code != case.lead_unit_code:
        raise NotCaseUnit(
            f"unit {actor.unit_code!r} is not the lead unit of case {case.case_id}",
            case_id=case.case_id,
            unit=actor.unit_code,
        )
    if actor.role is ActorRole.RESIDENT and actor.id != case.reporter_id:
        raise NotCaseOwner(f"case {case.case_id!r} was reported by somebody else", case_id=case.case_id)


def _required_text(value: str | None, field_name: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidCaseAction(f"{field_name} is required", field=field_name)
    return text


def _enum(kind: type, value: Any, field_name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise InvalidCaseAction(f"unknown {field_name} {value!r}", field=field_name, value=str(value)) from None


def _importance_level(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3:
        raise InvalidCaseAction("importance level must be 1, 2 or 3", field="importance_level", value=repr(value))
    return value
