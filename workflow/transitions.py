"""The case state machine as data: who may move a case from which status to which (no database here).

Source: ../shared/DESIGN.md "The five-step loop and case states": reported → accepted → assigned → in_progress →
resolved → closed, with the side paths returned (a unit says "not ours"; the dispatcher re-assigns), rejected
(invalid, out of scope, or a duplicate linked to its original) and reopened (resident unsatisfied → assigned again).

Every action is a :class:`CaseEventType`; its value is what ``case_events.event`` stores. :data:`RULES` gives, per
action, the statuses it may start from, the status it leads to and the roles that may take it:

==================== ============================================= ============== =======================
event                from                                          to             roles
==================== ============================================= ============== =======================
accepted             reported                                      accepted       dispatcher, system, bot
rejected             reported, accepted, returned (not in review)  rejected       dispatcher
assigned             accepted, returned                            assigned       dispatcher
acknowledged         assigned, reopened                            in_progress    unit, grid_worker, expert
progress_noted       assigned, reopened, in_progress               (unchanged)    unit, grid_worker, expert
returned             assigned, reopened, in_progress               returned       unit
resolved             in_progress                                   resolved       unit, grid_worker, expert
rated                resolved                                      closed         resident
reopened             resolved                                      reopened       resident
review_requested     resolved                                      returned       resident
closed_unrated       resolved                                      closed         system
closed_after_review  returned (in review only)                     closed         dispatcher
==================== ============================================= ============== =======================

A case is *in review* when a resident was unsatisfied a second time: it goes back to the dispatcher as ``returned``
with ``needs_review`` set (see :mod:`workflow.lifecycle`). Units act only on cases they lead and residents only on
their own; that needs the case's data and is checked by :mod:`workflow.lifecycle`. A grid worker (issue 6) acts
only on a 帮我办 (``proxy``) case assigned to them (``cases.assignee_account_id``): they act for the resident, so
they take it on (the first response), note progress and report the result; returning it is the unit's.

A 帮我办 case whose grid has a worker is filed straight into ``assigned`` (``filed``, then ``accepted`` and
``assigned`` by ``system`` in the filing transaction, :mod:`workflow.grid_cases`): nobody needs to confirm a
request for help, and the worker can take it on at once. Those two rows are written by filing, not through this
table (no person acts).

An expert (issue 7) acts likewise only on an expert consultation (``expert``) assigned to them: takes it on, notes
(asks the grower something) and answers (``resolved``, the answer as the result). :mod:`workflow.expert_cases` files
it straight into ``assigned`` the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from workflow.exceptions import ActorNotAllowed, IllegalTransition, InvalidCaseAction
from workflow.status import CaseStatus

_MAX_ACTOR_ID = 128  # case_events.actor


class ActorRole(str, Enum):
    """Who acts on a case; the value is what ``case_events.actor_role`` stores."""

    RESIDENT = "resident"
    BOT = "bot"
    DISPATCHER = "dispatcher"
    UNIT = "unit"
    SYSTEM = "system"
    GRID_WORKER = "grid_worker"
    EXPERT = "expert"


#: Roles that are one console account (``Actor.account_id``): they act only on cases assigned to that account.
ACCOUNT_ROLES = (ActorRole.GRID_WORKER, ActorRole.EXPERT)


@dataclass(frozen=True)
class Actor:
    """Somebody (or something) acting on a case, as written into the audit row.

    Units are data (``units`` table) and have no staff accounts yet: a unit actor is the unit's code plus, when
    known, a free-text staff identifier for the audit row.

    Attributes:
        role: The actor's role.
        id: Audit identity: a reporter id for residents, a staff id or name for dispatchers and units, ``system``
            for jobs. 1–128 characters.
        unit_code: The unit a ``unit`` actor acts for; None for every other role.
        account_id: The console account (``accounts.id``) a ``grid_worker`` or ``expert`` actor is; None for every
            other role.

    Raises:
        InvalidCaseAction: Empty or over-long ``id``; a unit actor without ``unit_code``, or another role with one;
            a grid worker or expert without ``account_id``, or another role with one.
    """

    role: ActorRole
    id: str
    unit_code: str | None = None
    account_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", ActorRole(self.role))
        if not isinstance(self.id, str) or not self.id.strip() or len(self.id.strip()) > _MAX_ACTOR_ID:
            raise InvalidCaseAction(f"actor id must be 1–{_MAX_ACTOR_ID} characters", field="actor")
        object.__setattr__(self, "id", self.id.strip())
        if (self.role is ActorRole.UNIT) != bool(self.unit_code):
            raise InvalidCaseAction("a unit actor needs unit_code; other actors have none", field="unit_code")
        if (self.role in ACCOUNT_ROLES) != (self.account_id is not None):
            raise InvalidCaseAction("a grid worker or expert actor needs account_id; other actors have none",
                                    field="account_id")

    @classmethod
    def resident(cls, reporter_id: str) -> Actor:
        """The resident with channel sender id ``reporter_id``."""
        return cls(ActorRole.RESIDENT, reporter_id)

    @classmethod
    def dispatcher(cls, staff_id: str) -> Actor:
        """A dispatcher (调度员) of the county centre."""
        return cls(ActorRole.DISPATCHER, staff_id)

    @classmethod
    def unit(cls, unit_code: str, staff_id: str | None = None) -> Actor:
        """Staff of unit ``unit_code``; the audit row names ``staff_id``, or the unit code when none is given."""
        return cls(ActorRole.UNIT, staff_id or unit_code, unit_code)

    @classmethod
    def grid_worker(cls, account_id: int, name: str) -> Actor:
        """The grid worker (网格员) with console account ``account_id``; the audit row names ``name``."""
        return cls(ActorRole.GRID_WORKER, name, None, account_id)

    @classmethod
    def expert(cls, account_id: int, name: str) -> Actor:
        """The expert (农技专家, issue 7) with console account ``account_id``; the audit row names ``name``."""
        return cls(ActorRole.EXPERT, name, None, account_id)

    @classmethod
    def system(cls) -> Actor:
        """The platform itself (auto-accept, the auto-close job)."""
        return cls(ActorRole.SYSTEM, "system")


class CaseEventType(str, Enum):
    """What happened to a case; the value is what ``case_events.event`` stores (``filed`` is written by filing)."""

    FILED = "filed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    PROGRESS_NOTED = "progress_noted"
    RETURNED = "returned"
    RESOLVED = "resolved"
    RATED = "rated"
    REOPENED = "reopened"
    REVIEW_REQUESTED = "review_requested"
    CLOSED_UNRATED = "closed_unrated"
    CLOSED_AFTER_REVIEW = "closed_after_review"


class Rating(str, Enum):
    """A resident's rating of a resolved case; ``no_rating`` is written when the auto-close job closes it."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"
    NO_RATING = "no_rating"

    @property
    def label(self) -> str:
        """The Chinese word residents choose, e.g. ``基本满意``."""
        return _RATING_LABELS[self]


_RATING_LABELS = {
    Rating.SATISFIED: "满意",
    Rating.BASICALLY_SATISFIED: "基本满意",
    Rating.UNSATISFIED: "不满意",
    Rating.NO_RATING: "未评价",
}

#: What a resident may choose (``no_rating`` is the job's, not the resident's).
RESIDENT_RATINGS = (Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.UNSATISFIED)


class RejectReason(str, Enum):
    """Why a dispatcher rejects a report (不予受理); stored in ``cases.rejection_reason``."""

    INVALID = "invalid"
    OUT_OF_SCOPE = "out_of_scope"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Rule:
    """One action of the state machine.

    Attributes:
        sources: Statuses the action may start from.
        target: Status the action leads to; None keeps the status (a progress note).
        roles: Roles that may take the action.
        under_review: True: only while the case is under dispatcher review; False: never then; None: either.
    """

    sources: frozenset[CaseStatus]
    target: CaseStatus | None
    roles: frozenset[ActorRole]
    under_review: bool | None = None


def _rule(sources, target, roles, under_review=None) -> Rule:
    return Rule(frozenset(sources), target, frozenset(roles), under_review)


S = CaseStatus
R = ActorRole
E = CaseEventType
_UNIT_HOLDS = (S.ASSIGNED, S.REOPENED, S.IN_PROGRESS)

#: The state machine (see the module docstring for the table).
RULES: dict[CaseEventType, Rule] = {
    E.ACCEPTED: _rule([S.REPORTED], S.ACCEPTED, [R.DISPATCHER, R.SYSTEM, R.BOT]),
    E.REJECTED: _rule([S.REPORTED, S.ACCEPTED, S.RETURNED], S.REJECTED, [R.DISPATCHER], under_review=False),
    E.ASSIGNED: _rule([S.ACCEPTED, S.RETURNED], S.ASSIGNED, [R.DISPATCHER]),
    E.ACKNOWLEDGED: _rule([S.ASSIGNED, S.REOPENED], S.IN_PROGRESS, [R.UNIT, R.GRID_WORKER, R.EXPERT]),
    E.PROGRESS_NOTED: _rule(_UNIT_HOLDS, None, [R.UNIT, R.GRID_WORKER, R.EXPERT]),
    E.RETURNED: _rule(_UNIT_HOLDS, S.RETURNED, [R.UNIT]),
    E.RESOLVED: _rule([S.IN_PROGRESS], S.RESOLVED, [R.UNIT, R.GRID_WORKER, R.EXPERT]),
    E.RATED: _rule([S.RESOLVED], S.CLOSED, [R.RESIDENT]),
    E.REOPENED: _rule([S.RESOLVED], S.REOPENED, [R.RESIDENT]),
    E.REVIEW_REQUESTED: _rule([S.RESOLVED], S.RETURNED, [R.RESIDENT]),
    E.CLOSED_UNRATED: _rule([S.RESOLVED], S.CLOSED, [R.SYSTEM]),
    E.CLOSED_AFTER_REVIEW: _rule([S.RETURNED], S.CLOSED, [R.DISPATCHER], under_review=True),
}
del S, R, E


def check_role(event: CaseEventType, role: ActorRole, *, case_id: str) -> None:
    """Check that ``role`` may take ``event`` at all.

    Raises:
        ActorNotAllowed: It may not (e.g. a unit accepting a report).
    """
    if role not in RULES[event].roles:
        raise ActorNotAllowed(
            f"a {role.value} may not do {event.value!r} on case {case_id}",
            case_id=case_id,
            event=event.value,
            actor_role=role.value,
        )


def check_transition(
    event: CaseEventType, status: CaseStatus | str, *, case_id: str, under_review: bool = False
) -> CaseStatus:
    """Return the status ``event`` leads to from ``status``, or say why it may not happen.

    Args:
        event: The action.
        status: The case's status now.
        case_id: For the error message and context.
        under_review: The case is ``returned`` with ``needs_review`` (a resident was unsatisfied twice).

    Raises:
        IllegalTransition: ``status`` (or the review flag) does not allow ``event``; the context names the case,
            the event, ``from_status`` and ``to_status``.
    """
    status = CaseStatus(status)
    rule = RULES[event]
    target = rule.target or status
    reason = None
    if status not in rule.sources:
        reason = f"allowed only from {', '.join(sorted(s.value for s in rule.sources))}"
    elif rule.under_review is True and not under_review:
        reason = "the case is not under dispatcher review"
    elif rule.under_review is False and under_review:
        reason = "the case is under dispatcher review"
    if reason is not None:
        raise IllegalTransition(
            f"case {case_id}: {event.value!r} cannot move it from {status.value!r} to {target.value!r} ({reason})",
            case_id=case_id,
            event=event.value,
            from_status=status.value,
            to_status=target.value,
            reason=reason,
        )
    return target


def allowed_events(status: CaseStatus | str, role: ActorRole, *, under_review: bool = False) -> list[CaseEventType]:
    """The actions ``role`` may take on a case in ``status`` (for consoles and the bot to offer), in table order."""
    status = CaseStatus(status)
    return [
        event
        for event, rule in RULES.items()
        if role in rule.roles
        and status in rule.sources
        and (rule.under_review is None or rule.under_review == under_review)
    ]
