"""What filing does with grids (issue 6): the case's grid, 帮我办 (proxy) assignment, and the notices it sends.

Called by :meth:`workflow.cases.CaseService.add_case` inside the filing transaction, and by
:meth:`workflow.grid_work.GridWork.set_grid` when a dispatcher chooses the grid later.

Rules:

- **Grid.** A case names its grid when given (a patrol report: the worker's grid); otherwise
  :func:`workflow.grids.grid_for_case` decides: the household of the resident bound to the reporter's chat when it
  lies in the case's village, else the village's only grid, else None (never a guess: the dispatcher chooses).
- **帮我办.** A proxy case is assigned to the worker of its grid (``assignee_account_id``) and accepted at once:
  ``filed`` → ``accepted`` → ``assigned`` by ``system`` in the filing transaction (see
  :mod:`workflow.transitions`), importance level 1, the matter type's usual deadline from now, and a first
  response due within ``proxy_first_response_workdays`` (2) working days (:func:`workflow.deadlines.first_response_due`,
  ``data/calendar/deadline_policy.yml``). The lead unit stays the routed one (responsibility list); it is not sent
  a 新工单 message: the grid worker acts for the resident and takes the matter to it. No points: a request for help
  is not a report of a problem. Without a grid, or a grid without an active worker, the case stays ``reported``
  with ``needs_review`` and the reason in its ``filed`` row: the dispatcher chooses the grid in the console.
- **Notices.** The worker of the case's grid, when bound to a chat (``worker_channels``), is told of every new case
  in the grid (``grid_case``) — except their own patrol report (sent from a chat bound to them) — or, for a proxy
  case assigned to them, of the assignment (``proxy_assigned``). The requester of a proxy case is told it was filed
  and to whom it went (``proxy_filed``); the bot says that in the same turn, so the message is recorded as
  delivered unless the report came from a finished hotline call (``call_id``), when it is pushed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from workflow.assigned_cases import accept_and_assign, short_text
from workflow.case_views import CaseView
from workflow.deadlines import DeadlinePolicy, format_deadline_zh
from workflow.grids import grid_for_case, worker_of_grid
from workflow.models import Case, Grid, Notification
from workflow.notifications import NotificationKind, Recipient, enqueue
from workflow.workcalendar import WorkingCalendar
from workflow.worker_chats import chat_of_worker, worker_account_of_sender

#: Importance level of a 帮我办 case accepted at filing (ordinary).
PROXY_IMPORTANCE_LEVEL = 1
#: Share of a round after which the lead unit is warned (as workflow.lifecycle's default).
#: How much of the matter a notice quotes (characters).
REASON_NO_GRID = "帮我办：未能确定被帮办人所在的网格（村里有多个网格，或村庄未知），请调度员选择网格。"
REASON_NO_WORKER = "帮我办：该网格暂无网格员（或网格员账号已停用），请调度员选择网格或安排网格员。"


def settle_grid(session: Session, case: Case, given: Grid | None) -> Grid | None:
    """The case's grid: ``given`` (a patrol report's), else the rule of :func:`workflow.grids.grid_for_case`."""
    return given if given is not None else grid_for_case(session, case)


def start_proxy(session: Session, case: Case, grid: Grid | None, now: dt.datetime, *,
                calendar: WorkingCalendar, policy: DeadlinePolicy, actor: str = "system",
                actor_role: str = "system") -> str | None:
    """Assign a ``reported`` proxy case to its grid's worker and accept it (see the module docstring).

    Appends the ``accepted`` and ``assigned`` audit rows to ``case.events``. Returns None when assigned, else the
    reason it waits for the dispatcher (``needs_review`` is set then).
    """
    worker = worker_of_grid(session, grid.code) if grid is not None else None
    if worker is None:
        case.needs_review = True
        case.assignee_account_id = None
        return REASON_NO_GRID if grid is None else REASON_NO_WORKER
    case.assignee_account_id = worker.id
    case.needs_review = False
    case.importance_level = case.importance_level or PROXY_IMPORTANCE_LEVEL
    case.accepted_at = now
    accept_and_assign(case, now, calendar=calendar, policy=policy, first_response_workdays=None, actor=actor,
                      actor_role=actor_role, note=f"帮我办：交给网格员{worker.display_name}", data={"proxy": True, "grid": grid.code})
    return None


# ---------------------------------------------------------------------- messages

def _place(view: CaseView) -> str:
    return view.township_name + (view.village or "")


def _beneficiary(view: CaseView) -> str:
    return view.beneficiary or "您的家人"


def proxy_filed_text(view: CaseView) -> str:
    """What the requester of a 帮我办 case is told when it is filed (or, later, given a grid worker): the case
    number, for whom and what, and the grid worker with the first-response time, or that one is being found."""
    opening = f"您为{_beneficiary(view)}申请的帮我办（“{short_text(view.description)}”）已登记，工单号{view.case_id}。"
    if view.assignee_name is None:
        return opening + "我们正在为您安排网格员，安排好后会告诉您。"
    due = format_deadline_zh(view.first_response_due) if view.first_response_due else "两个工作日内"
    return (opening + f"已交给{view.village or view.township_name}网格员{view.assignee_name}，"
            f"两个工作日内（{due}前）会联系您。")


def grid_case_text(view: CaseView) -> str:
    """A grid worker's notice of a new case in their grid."""
    return (f"您的网格新收到一件反映：工单{view.case_id}，{short_text(view.description)}，地点：{_place(view)}，"
            f"办理时限：{format_deadline_zh(view.deadline)}。")


def proxy_assigned_text(view: CaseView) -> str:
    """A grid worker's notice of a 帮我办 case assigned to them."""
    due = format_deadline_zh(view.first_response_due) if view.first_response_due else "两个工作日内"
    return (f"【帮我办】您的网格新收到一件帮我办：工单{view.case_id}，为{_beneficiary(view)}办理："
            f"{short_text(view.description)}，地点：{_place(view)}。请在{due}前联系群众（首次响应），"
            f"办理时限：{format_deadline_zh(view.deadline)}。")


def _data(view: CaseView, **extra: Any) -> dict[str, Any]:
    return {"case_id": view.case_id, "status": view.status.value, "deadline": view.deadline.isoformat(),
            "kind": view.kind, "grid": view.grid_code, **extra}


def notify_worker(session: Session, case: Case, view: CaseView, now: dt.datetime) -> Notification | None:
    """Tell the worker of the case's grid (when bound to a chat) of the new case, or of the proxy case assigned to
    them; nothing for their own patrol report, a vacant grid or a worker without a chat."""
    account_id = case.assignee_account_id if view.is_proxy else None
    if account_id is None and view.grid_code is not None and not view.is_proxy:
        worker = worker_of_grid(session, view.grid_code)
        account_id = worker.id if worker is not None else None
    if account_id is None:
        return None
    author = worker_account_of_sender(session, case.channel, case.reporter_id)
    if author is not None and author.id == account_id:
        return None  # their own patrol report (or request): they know
    chat = chat_of_worker(session, account_id)
    if chat is None:
        return None
    kind, text = ((NotificationKind.PROXY_ASSIGNED, proxy_assigned_text(view)) if view.is_proxy
                  else (NotificationKind.GRID_CASE, grid_case_text(view)))
    return enqueue(session, now=now, kind=kind, recipient_role=Recipient.GRID_WORKER, recipient_id=chat.sender_id,
                   channel=chat.channel, text=text, case_pk=case.id, data=_data(view, account_id=account_id))


def notify_requester(session: Session, case: Case, view: CaseView, now: dt.datetime, *,
                     resident_told: bool) -> Notification:
    """Tell the requester of a proxy case it was filed / given a worker (:func:`proxy_filed_text`).
    ``resident_told``: the bot says it in the same turn, so the row is recorded as delivered."""
    row = enqueue(session, now=now, kind=NotificationKind.PROXY_FILED, recipient_role=Recipient.RESIDENT,
                  recipient_id=view.reporter, channel=view.channel, text=proxy_filed_text(view), case_pk=case.id,
                  data=_data(view, assignee=view.assignee_name, beneficiary=view.beneficiary))
    if resident_told:
        row.delivered_at, row.next_attempt_at = now, None
    return row
