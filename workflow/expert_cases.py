"""What filing does with an expert consultation (issue 7 part 4): choosing the expert, and telling the grower.

Called by :meth:`workflow.cases.CaseService.add_case` inside the filing transaction (a case of kind ``expert``), and
by :meth:`workflow.experts.ExpertDesk.assign` when a dispatcher gives a waiting consultation to an expert.

Rules (the same shape as 帮我办 in :mod:`workflow.grid_cases`):

- **Which expert.** The active (not disabled) ``expert`` account with the fewest open consultations (kind
  ``expert``, assigned to it, status ``assigned``/``reopened``/``in_progress``); on a tie the lowest account id
  (the longest-serving expert: a stable, checkable order). Two growers asking at the same instant may both go to
  the same expert: it is load balancing, not a quota, so that is harmless and takes no lock.
- **With an expert.** Assigned to the expert (``assignee_account_id``) and accepted at once: ``filed`` →
  ``accepted`` → ``assigned`` by ``system`` in the filing transaction, importance level 1, the matter type's usual
  deadline (a farming consultation is ``public_service``: an answer within 2 working days), and a first response
  due within ``expert_first_response_workdays`` (1) working day (``data/calendar/deadline_policy.yml``). The lead
  unit stays the routed one (农业农村: 县农业农村局, which sees the case as any assigned case) and is not sent a
  新工单 message: the expert answers. No points: a question is not a report of a problem.
- **No expert.** No active expert account: the case stays ``reported`` with ``needs_review`` and the reason in its
  ``filed`` row (:data:`REASON_NO_EXPERT`); a dispatcher gives it to an expert in the console, or handles it as an
  ordinary case (accept and assign to the unit).
- **The grower** is told it was filed and who answers by when (``expert_filed``); the bot says that in the same
  turn, so the row is recorded as delivered unless the question came from a finished hotline call (``call_id``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from workflow.assigned_cases import accept_and_assign, short_text
from workflow.case_views import CaseView
from workflow.deadlines import DeadlinePolicy, format_deadline_zh
from workflow.models import Account, Case, Notification
from workflow.notifications import NotificationKind, Recipient, enqueue
from workflow.status import CaseStatus
from workflow.workcalendar import WorkingCalendar

#: The case kind of an expert consultation.
EXPERT_KIND = "expert"
#: Importance level of a consultation accepted at filing (ordinary).
EXPERT_IMPORTANCE_LEVEL = 1
#: Statuses in which a consultation is on its expert's hands (counted for the load).
HELD_STATUSES = (CaseStatus.ASSIGNED, CaseStatus.REOPENED, CaseStatus.IN_PROGRESS)
REASON_NO_EXPERT = "专家咨询：目前没有在岗的专家账号，请调度员指派专家，或按普通工单派给农业农村部门。"


def least_loaded_expert(session: Session) -> Account | None:
    """The active expert with the fewest open consultations, lowest account id on a tie; None without one."""
    load = (select(func.count(Case.id))
            .where(and_(Case.assignee_account_id == Account.id, Case.kind == EXPERT_KIND,
                        Case.status.in_([s.value for s in HELD_STATUSES])))
            .correlate(Account).scalar_subquery())
    query = (select(Account).where(Account.role == "expert", Account.disabled_at.is_(None))
             .order_by(load, Account.id).limit(1))
    return session.execute(query).scalars().first()


def start_expert(session: Session, case: Case, expert: Account | None, now: dt.datetime, *,
                 calendar: WorkingCalendar, policy: DeadlinePolicy, actor: str = "system",
                 actor_role: str = "system") -> str | None:
    """Assign a ``reported`` (or dispatcher-accepted) consultation to ``expert`` and accept it (module docstring).

    Appends the ``accepted`` (unless already accepted) and ``assigned`` audit rows to ``case.events``. Returns None
    when assigned, else the reason it waits for a dispatcher (``needs_review`` is set then).
    """
    if expert is None:
        case.needs_review = True
        case.assignee_account_id = None
        return REASON_NO_EXPERT
    case.assignee_account_id = expert.id
    case.needs_review = False
    case.importance_level = case.importance_level or EXPERT_IMPORTANCE_LEVEL
    case.accepted_at = case.accepted_at or now
    accept_and_assign(case, now, calendar=calendar, policy=policy, first_response_workdays=policy.expert_first_response_workdays, actor=actor,
                      actor_role=actor_role, note=f"专家咨询：交给{expert.display_name}", data={"expert": True})
    return None



def expert_filed_text(view: CaseView) -> str:
    """What the grower is told when the consultation is filed (or, later, given an expert): the number, the question,
    and the expert with the first-response time, or that one is being found."""
    opening = f"您的问题（“{short_text(view.description)}”）已转给专家，咨询单号{view.case_id}。"
    if view.assignee_name is None:
        return opening + "我们正在为您安排专家，安排好后会告诉您。"
    # format_deadline_zh already ends in 前 ("2026年12月8日(星期二)17:30前").
    due = format_deadline_zh(view.first_response_due) if view.first_response_due else "一个工作日内"
    return opening + f"由{view.assignee_name}为您解答，{due}会答复您。"


def notify_grower(session: Session, case: Case, view: CaseView, now: dt.datetime, *,
                  resident_told: bool) -> Notification:
    """Tell the grower the consultation was filed / given an expert (:func:`expert_filed_text`).
    ``resident_told``: the bot says it in the same turn, so the row is recorded as delivered."""
    row = enqueue(session, now=now, kind=NotificationKind.EXPERT_FILED, recipient_role=Recipient.RESIDENT,
                  recipient_id=view.reporter, channel=view.channel, text=expert_filed_text(view), case_pk=case.id,
                  data={"case_id": view.case_id, "status": view.status.value, "deadline": view.deadline.isoformat(),
                        "kind": view.kind, "expert": view.assignee_name,
                        "first_response_due": view.first_response_due.isoformat() if view.first_response_due
                        else None})
    if resident_told:
        row.delivered_at, row.next_attempt_at = now, None
    return row
