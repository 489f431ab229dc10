"""What a console account may see and do with a case, and as whom it acts.

Scope (issue 5: "unit staff see only their unit's cases, grid workers only their grid's"):

- dispatchers and administrators: every case;
- a unit account: the cases its unit leads once assigned (:func:`workflow.unit_cases.is_unit_case`, the same rule
  as the unit's API token);
- a grid worker (issue 6): the cases whose grid (``cases.grid_code``) is one of theirs
  (:func:`workflow.grids.grids_of_worker`), the 帮我办 cases assigned to them, and the cases of their village whose
  grid the rule could not settle (no grid: several grids and no household, or no grid data yet) — those belong to
  no worker's grid yet, so every worker of the village may see them, as before issue 6. A case in another grid of
  their village is not theirs;
- an expert (issue 7): the consultations assigned to them (:mod:`admin.console.expert_pages`); phones masked.

Actions (the same :class:`workflow.lifecycle.CaseLifecycle` methods as the API): dispatchers and administrators
accept, assign, reject, merge as duplicate, reopen and close after review, and set a case's grid (``set_grid``:
for a 帮我办 case also its grid worker, :meth:`workflow.grid_work.GridWork.set_grid`); the lead unit acknowledges,
adds notes, returns and resolves; an administrator may also act for the lead unit (audit: its own name, ``unit``
role, the unit named in the row). A grid worker acknowledges (the first response), adds notes and resolves the
帮我办 cases assigned to them (role ``grid_worker``); other cases they only read. Full phone numbers: dispatchers, administrators and the lead unit
(they call the resident back); never grid workers, whose lists and pages show masked numbers.
"""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from workflow.accounts import AccountRole, AccountView
from workflow.case_queue import QueueScope
from workflow.case_views import CaseView
from workflow.status import CaseStatus
from workflow.transitions import Actor
from workflow.grids import grids_of_worker
from workflow.unit_cases import is_unit_case

from admin.console.session import ConsoleForbidden

DISPATCHING = (AccountRole.DISPATCHER, AccountRole.ADMIN)

#: Dispatcher actions and the statuses they start from (the lifecycle checks again; this decides which buttons
#: the page shows).
DISPATCHER_ACTIONS: dict[str, frozenset[CaseStatus]] = {
    "accept": frozenset({CaseStatus.REPORTED}),
    "assign": frozenset({CaseStatus.ACCEPTED, CaseStatus.RETURNED}),
    "reject": frozenset({CaseStatus.REPORTED, CaseStatus.ACCEPTED, CaseStatus.RETURNED}),
    "duplicate": frozenset({CaseStatus.REPORTED, CaseStatus.ACCEPTED, CaseStatus.RETURNED}),
    "reopen": frozenset({CaseStatus.RETURNED}),
    "close": frozenset({CaseStatus.RETURNED}),
}
#: Dispatcher actions only for a case under review (a resident unsatisfied twice), and those never then.
REVIEW_ONLY = frozenset({"reopen", "close"})
NOT_UNDER_REVIEW = frozenset({"assign", "reject", "duplicate"})
_UNIT_HOLDS = frozenset({CaseStatus.ASSIGNED, CaseStatus.REOPENED, CaseStatus.IN_PROGRESS})
#: Unit actions and their starting statuses (workflow.transitions.RULES).
UNIT_ACTIONS: dict[str, frozenset[CaseStatus]] = {
    "acknowledge": frozenset({CaseStatus.ASSIGNED, CaseStatus.REOPENED}),
    "note": _UNIT_HOLDS,
    "return": _UNIT_HOLDS,
    "resolve": frozenset({CaseStatus.IN_PROGRESS}),
}


#: Grid worker actions on a 帮我办 case assigned to them, and their starting statuses.
GRID_WORKER_ACTIONS: dict[str, frozenset[CaseStatus]] = {
    "acknowledge": frozenset({CaseStatus.ASSIGNED, CaseStatus.REOPENED}),
    "note": _UNIT_HOLDS,
    "resolve": frozenset({CaseStatus.IN_PROGRESS}),
}
#: Statuses in which a dispatcher may set a case's grid.
SET_GRID_STATUSES = frozenset(status for status in CaseStatus if status.is_open)


def worker_grids(session_factory: sessionmaker, account: AccountView) -> frozenset[str]:
    """The codes of the grids ``account`` serves as grid worker (empty for other roles). Reads the database."""
    if account.role is not AccountRole.GRID_WORKER:
        return frozenset()
    with session_factory() as session:
        return frozenset(grid.code for grid in grids_of_worker(session, account.id))


def is_assignee(account: AccountView, view: CaseView) -> bool:
    """Whether ``account`` is the grid worker a 帮我办 case is assigned to."""
    return (account.role is AccountRole.GRID_WORKER and view.is_proxy
            and view.assignee_account_id is not None and view.assignee_account_id == account.id)


def may_read(account: AccountView, view: CaseView, grids: frozenset[str] = frozenset()) -> bool:
    """Whether ``account`` may open ``view``'s case page; ``grids``: the account's grids (:func:`worker_grids`)."""
    if account.role in DISPATCHING:
        return True
    if account.role is AccountRole.UNIT:
        return is_unit_case(view, account.unit_code or "")
    if account.role is AccountRole.EXPERT:
        return view.kind == "expert" and view.assignee_account_id == account.id
    if account.role is AccountRole.GRID_WORKER:
        if is_assignee(account, view) or (view.grid_code is not None and view.grid_code in grids):
            return True
        return (view.grid_code is None and view.village_code is not None
                and view.village_code == account.village_code)
    return False


def check_may_read(account: AccountView, view: CaseView, grids: frozenset[str] = frozenset()) -> None:
    """Raise :class:`ConsoleForbidden` unless ``account`` may read the case (→ 403 page)."""
    if not may_read(account, view, grids):
        raise ConsoleForbidden(f"{account.username} may not open case {view.case_id}",
                               role=account.role.value, action="read", case_id=view.case_id)


def queue_scope(account: AccountView, grids: frozenset[str] = frozenset()) -> QueueScope:
    """The cases ``account``'s queue lists: the same rule as :func:`may_read`, in SQL
    (:class:`workflow.case_queue.QueueScope`); ``grids`` as for :func:`may_read`."""
    if account.role in DISPATCHING:
        return QueueScope.everything()
    if account.role is AccountRole.UNIT:
        return QueueScope.unit(account.unit_code or "")
    if account.role is AccountRole.GRID_WORKER:
        return QueueScope.grid_worker(account.id, account.village_code, tuple(sorted(grids)))
    if account.role is AccountRole.EXPERT:  # the cases assigned to the account: their consultations
        return QueueScope(grid_codes=(), account_id=account.id)
    return QueueScope(nothing=True)


def may_see_full_phone(account: AccountView, view: CaseView) -> bool:
    """Whether ``account`` may unmask the resident's phone number on the case page (each view is audited)."""
    if account.role in DISPATCHING:
        return True
    return account.role is AccountRole.UNIT and is_unit_case(view, account.unit_code or "")


def dispatcher_actor(account: AccountView, action: str) -> Actor:
    """The dispatcher ``account`` acts as. Raises :class:`ConsoleForbidden` for other roles."""
    if account.role not in DISPATCHING:
        raise ConsoleForbidden(f"a {account.role.value} account may not {action}", role=account.role.value,
                               action=action)
    return Actor.dispatcher(account.display_name)


def worker_or_unit_actor(account: AccountView, view: CaseView, action: str) -> Actor:
    """The grid worker of their own 帮我办 case (role ``grid_worker``), else :func:`unit_actor`."""
    if is_assignee(account, view):
        return Actor.grid_worker(account.id, account.display_name)
    return unit_actor(account, view, action)


def unit_actor(account: AccountView, view: CaseView, action: str) -> Actor:
    """The unit ``account`` acts for on ``view``: its own unit, or for an administrator the case's lead unit.

    Raises:
        ConsoleForbidden: A dispatcher or grid worker, or a unit that is not the case's (the lifecycle would refuse
            it too; refusing here keeps the page's answer the same for every action).
    """
    if account.role is AccountRole.UNIT and is_unit_case(view, account.unit_code or ""):
        return Actor.unit(account.unit_code, account.display_name)
    if account.role is AccountRole.ADMIN:
        return Actor.unit(view.lead_unit.code, account.display_name)
    raise ConsoleForbidden(f"a {account.role.value} account may not {action} this case", role=account.role.value,
                           action=action, case_id=view.case_id)


def available_actions(account: AccountView, view: CaseView) -> list[str]:
    """The actions whose buttons the case page shows ``account`` for the case's current status, in order."""
    actions: list[str] = []
    if account.role in DISPATCHING:
        review = view.status is CaseStatus.RETURNED and view.needs_review
        actions += [name for name, statuses in DISPATCHER_ACTIONS.items() if view.status in statuses
                    and not (name in REVIEW_ONLY and not review) and not (name in NOT_UNDER_REVIEW and review)]
        if view.status in SET_GRID_STATUSES:
            actions.append("set_grid")
    if is_assignee(account, view):
        actions += [name for name, statuses in GRID_WORKER_ACTIONS.items() if view.status in statuses]
    is_unit = account.role is AccountRole.UNIT and is_unit_case(view, account.unit_code or "")
    if is_unit or (account.role is AccountRole.ADMIN and view.assigned_at is not None):
        actions += [name for name, statuses in UNIT_ACTIONS.items() if view.status in statuses]
    return actions
