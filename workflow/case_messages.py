"""What each step of the closed loop tells residents and staff, in plain Chinese, written into the outbox.

:mod:`workflow.lifecycle` calls :func:`notify_transition` inside a step's transaction, the deadline jobs
:func:`notify_deadline_warning` and :func:`notify_overdue`; the rows go through :func:`workflow.notifications.enqueue`
(the outbox and its delivery are :mod:`workflow.notifications`). Deadlines are shown in Asia/Shanghai time.

Who is told what (DESIGN.md "The five-step loop"; texts below, in plain Chinese, deadlines in Asia/Shanghai):

=================== =================================================== ==========================================
step / job          resident (on the case's channel)                    staff
=================== =================================================== ==========================================
accepted            受理: case number, lead unit, deadline              —
rejected            不予受理, with the reason (duplicate: the original)   —
assigned            —                                                   the lead unit: a new case, its deadline
returned            —                                                   the dispatchers: returned, the reason
resolved            the result and a request to rate 满意/基本满意/不满意   —
reopened            reopened to the unit, the new deadline              the lead unit: back again, new deadline
review_requested    —                                                   the dispatchers: review it
closed_after_review closed after review, the dispatcher's reason        —
deadline_warning    —                                                   the lead unit: 80% of the time is gone
overdue             —                                                   the dispatchers: past the deadline
=================== =================================================== ==========================================

Dispatchers are one recipient, :data:`DISPATCH`; a unit is its unit code. Auto-closing an unrated case tells nobody.

帮我办 (``proxy`` cases, issue 6) speak of the request and whom it is for: the grid worker's acknowledgement and each
note (``proxy_response``: 网格员刘某某已联系…) and the result (``resolved``, with the same request to rate) go to the
requester. What filing tells the requester and the grid worker is :mod:`workflow.grid_cases`.

Expert consultations (``expert`` cases, issue 7) speak of the grower's question and the expert by name: the answer
(``resolved``: 农技专家李明答复您的问题：…, with the same request to rate), an expert's note (``expert_response``),
and a first "unsatisfied" (``reopened``: back to the same expert; the lead unit is not told, the expert sees it on
their list). What filing tells the grower is :mod:`workflow.expert_cases`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from workflow.case_views import CaseView
from workflow.deadlines import format_deadline_zh
from workflow.models import Notification
from workflow.notifications import DISPATCH, NotificationKind, Recipient, enqueue
from workflow.transitions import CaseEventType, RejectReason

#: A resident's description is quoted in staff messages up to this many characters.
_MAX_DESCRIPTION_IN_TEXT = 200


def notify_transition(
    session: Session,
    case_pk: int,
    view: CaseView,
    event: CaseEventType,
    note: str,
    now: dt.datetime,
    *,
    resident_told: bool = False,
) -> list[Notification]:
    """Enqueue what a transition tells residents and staff (the table in the module docstring).

    Called by :mod:`workflow.lifecycle` inside the transition's transaction, after the case was changed.

    Args:
        case_pk: ``cases.id``.
        view: The case as it is after the transition.
        event: The transition.
        note: The audit row's note (the reason, the result, the resident's comment).
        now: The transition's time.
        resident_told: The resident caused the step in their own conversation (a rating, auto-acceptance while
            filing) and the bot has just told them: the resident's message is recorded (REST clients still
            read it) but marked delivered, so it is not pushed a second time.

    Returns:
        The rows added (none for steps nobody is told about).
    """
    event = CaseEventType(event)
    special = _PROXY_MESSAGES if view.is_proxy else _EXPERT_MESSAGES if view.kind == "expert" else {}
    builders = special.get(event, _TRANSITION_MESSAGES.get(event, ()))
    rows = [_enqueue_message(session, case_pk, view, build(view, note), now) for build in builders]
    if resident_told:
        for row in rows:
            if row.recipient_role == Recipient.RESIDENT.value:
                row.delivered_at, row.next_attempt_at = now, None
    return rows


def notify_deadline_warning(
    session: Session, case_pk: int, view: CaseView, now: dt.datetime, fraction: float
) -> Notification:
    """Enqueue the lead unit's warning that ``fraction`` (0.8) of the time to the deadline has gone."""
    remaining = view.deadline - now
    text = (
        f"【临期提醒】工单{view.case_id}的办理时限为{format_deadline_zh(view.deadline)}，"
        f"已用去{round(fraction * 100)}%的办理时间（还剩{_duration_zh(remaining)}），请抓紧办理。"
    )
    message = _Message(NotificationKind.DEADLINE_WARNING, Recipient.UNIT, text, {"fraction": fraction})
    return _enqueue_message(session, case_pk, view, message, now)


def notify_overdue(session: Session, case_pk: int, view: CaseView, now: dt.datetime) -> Notification:
    """Enqueue the dispatchers' alert that an open case has passed its deadline."""
    text = (
        f"【超期】工单{view.case_id}的办理时限为{format_deadline_zh(view.deadline)}，现已超期未办结。"
        f"承办单位：{view.lead_unit.name}；当前状态：{view.status_label}。请督办。"
    )
    return _enqueue_message(session, case_pk, view, _Message(NotificationKind.OVERDUE, Recipient.DISPATCHER, text), now)


# ---------------------------------------------------------------------- what each step says
@dataclass(frozen=True)
class _Message:
    kind: NotificationKind
    recipient: Recipient
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)


def _enqueue_message(
    session: Session, case_pk: int, view: CaseView, message: _Message, now: dt.datetime
) -> Notification:
    recipient_id = {
        Recipient.RESIDENT: view.reporter,
        Recipient.UNIT: view.lead_unit.code,
        Recipient.DISPATCHER: DISPATCH,
    }[message.recipient]
    data = {
        "case_id": view.case_id,
        "status": view.status.value,
        "deadline": view.deadline.isoformat(),
        "unit": view.lead_unit.code,
        **message.data,
    }
    return enqueue(
        session,
        now=now,
        kind=message.kind,
        recipient_role=message.recipient,
        recipient_id=recipient_id,
        text=message.text,
        channel=view.channel,
        case_pk=case_pk,
        data=data,
    )


def _sentence(text: str) -> str:
    """``text`` with one full stop at the end (the staff's words may or may not end with one)."""
    return text.strip().rstrip("。.!！;；，,") + "。"


def _duration_zh(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"约{minutes}分钟"
    return f"约{round(minutes / 60)}小时"


def _deadline(view: CaseView) -> str:
    return format_deadline_zh(view.deadline)


def _accepted(view: CaseView, note: str) -> _Message:
    text = f"您反映的问题已受理，工单号{view.case_id}，由{view.lead_unit.name}办理，办理时限为{_deadline(view)}。"
    return _Message(NotificationKind.ACCEPTED, Recipient.RESIDENT, text)


_REJECT_LABELS = {
    RejectReason.INVALID: "反映内容无法受理",
    RejectReason.OUT_OF_SCOPE: "不属于本平台受理范围",
}


def _rejected(view: CaseView, note: str) -> _Message:
    reason = view.rejection_reason or RejectReason.INVALID
    if reason is RejectReason.DUPLICATE:
        text = (
            f"您的工单{view.case_id}与工单{view.duplicate_of}反映的是同一问题，将在工单{view.duplicate_of}中"
            f"一并办理，不再单独立案。说明：{_sentence(note)}"
        )
    else:
        text = (
            f"很抱歉，您的工单{view.case_id}未予受理（{_REJECT_LABELS[reason]}）。说明：{_sentence(note)}"
            "如有疑问或新的情况，欢迎再次反映。"
        )
    data = {"reason": reason.value, "duplicate_of": view.duplicate_of}
    return _Message(NotificationKind.REJECTED, Recipient.RESIDENT, text, data)


def _assigned(view: CaseView, note: str) -> _Message:
    place = view.township_name + (view.village or "")
    description = view.description.strip()
    if len(description) > _MAX_DESCRIPTION_IN_TEXT:
        description = description[:_MAX_DESCRIPTION_IN_TEXT] + "…"
    cooperating = "、".join(unit.name for unit in view.cooperating_units)
    text = (
        f"【新工单】工单{view.case_id}（{view.category_name or '未分类'}，{place}）已派给你单位办理，"
        f"办理时限为{_deadline(view)}。"
        + (f"配合单位：{cooperating}。" if cooperating else "")
        + f"反映内容：{description}"
    )
    data = {"cooperating_units": [unit.code for unit in view.cooperating_units]}
    return _Message(NotificationKind.ASSIGNED, Recipient.UNIT, text, data)


def _returned(view: CaseView, note: str) -> _Message:
    text = f"【退回】工单{view.case_id}被{view.lead_unit.name}退回，理由：{_sentence(note)}请重新派单。"
    return _Message(NotificationKind.RETURNED, Recipient.DISPATCHER, text, {"reason": note})


def _resolved(view: CaseView, note: str) -> _Message:
    text = (
        f"您的工单{view.case_id}已由{view.lead_unit.name}办结。办理结果：{_sentence(view.result or note)}"
        "请您对办理结果进行评价，回复“满意”“基本满意”或“不满意”。"
    )
    return _Message(NotificationKind.RESOLVED, Recipient.RESIDENT, text, {"result": view.result})


def _reopened_to_resident(view: CaseView, note: str) -> _Message:
    text = f"您的工单{view.case_id}已重新交办给{view.lead_unit.name}，办理时限为{_deadline(view)}。"
    return _Message(NotificationKind.REOPENED, Recipient.RESIDENT, text)


def _reopened_to_unit(view: CaseView, note: str) -> _Message:
    comment = f"（评价意见：{note.strip()}）" if note.strip() else ""
    text = (
        f"【重新交办】工单{view.case_id}的反映人对办理结果不满意{comment}，已重新交办你单位，"
        f"办理时限为{_deadline(view)}。"
    )
    return _Message(NotificationKind.REOPENED, Recipient.UNIT, text, {"comment": note})


def _review_requested(view: CaseView, note: str) -> _Message:
    comment = f"，评价意见：{note.strip()}" if note.strip() else ""
    text = (
        f"【待复核】工单{view.case_id}的反映人第{view.unsatisfied_count}次对办理结果不满意{comment}。"
        "请复核：重新派单，或说明理由后办结归档。"
    )
    data = {"comment": note, "unsatisfied_count": view.unsatisfied_count}
    return _Message(NotificationKind.REVIEW_REQUESTED, Recipient.DISPATCHER, text, data)


def _closed_after_review(view: CaseView, note: str) -> _Message:
    text = f"您的工单{view.case_id}经调度人员复核，已办结归档。说明：{_sentence(note)}感谢您的反映。"
    return _Message(NotificationKind.CLOSED_AFTER_REVIEW, Recipient.RESIDENT, text, {"reason": note})


def _proxy_who(view: CaseView) -> str:
    return f"网格员{view.assignee_name}" if view.assignee_name else view.lead_unit.name


def _proxy_subject(view: CaseView) -> str:
    return f"您为{view.beneficiary or '您的家人'}申请的帮我办（工单{view.case_id}）"


def _proxy_acknowledged(view: CaseView, note: str) -> _Message:
    said = f"：{_sentence(note)}" if note.strip() else "，正在为您办理。"
    text = f"{_proxy_subject(view)}，{_proxy_who(view)}已接手{said}"
    return _Message(NotificationKind.PROXY_RESPONSE, Recipient.RESIDENT, text, {"note": note})


def _proxy_progress(view: CaseView, note: str) -> _Message:
    text = f"{_proxy_subject(view)}有新进展，{_proxy_who(view)}：{_sentence(note)}"
    return _Message(NotificationKind.PROXY_RESPONSE, Recipient.RESIDENT, text, {"note": note})


def _proxy_resolved(view: CaseView, note: str) -> _Message:
    text = (
        f"{_proxy_subject(view)}已由{_proxy_who(view)}办结。办理结果：{_sentence(view.result or note)}"
        "请您对办理结果进行评价，回复“满意”“基本满意”或“不满意”。"
    )
    return _Message(NotificationKind.RESOLVED, Recipient.RESIDENT, text, {"result": view.result})


def _expert_who(view: CaseView) -> str:
    return view.assignee_name or view.lead_unit.name


def _expert_answered(view: CaseView, note: str) -> _Message:
    text = (
        f"{_expert_who(view)}答复您的问题：{_sentence(view.result or note)}（咨询单号{view.case_id}）"
        "请您对答复进行评价，回复“满意”“基本满意”或“不满意”。"
    )
    return _Message(NotificationKind.RESOLVED, Recipient.RESIDENT, text,
                    {"result": view.result, "expert": view.assignee_name})


def _expert_progress(view: CaseView, note: str) -> _Message:
    text = f"关于您咨询的问题（咨询单号{view.case_id}），{_expert_who(view)}：{_sentence(note)}"
    return _Message(NotificationKind.EXPERT_RESPONSE, Recipient.RESIDENT, text,
                    {"note": note, "expert": view.assignee_name})


def _expert_reopened(view: CaseView, note: str) -> _Message:
    text = f"您的咨询（咨询单号{view.case_id}）已重新交给{_expert_who(view)}，请稍候答复。"
    return _Message(NotificationKind.REOPENED, Recipient.RESIDENT, text)


E = CaseEventType
#: What an expert consultation's steps say instead (an acknowledgement says nothing: the answer follows it).
_EXPERT_MESSAGES: dict[CaseEventType, tuple[Callable[[CaseView, str], _Message], ...]] = {
    E.ACKNOWLEDGED: (),
    E.PROGRESS_NOTED: (_expert_progress,),
    E.RESOLVED: (_expert_answered,),
    E.REOPENED: (_expert_reopened,),
}
#: What a 帮我办 case's steps say instead (the others say what they say for every case).
_PROXY_MESSAGES: dict[CaseEventType, tuple[Callable[[CaseView, str], _Message], ...]] = {
    E.ACKNOWLEDGED: (_proxy_acknowledged,),
    E.PROGRESS_NOTED: (_proxy_progress,),
    E.RESOLVED: (_proxy_resolved,),
}
_TRANSITION_MESSAGES: dict[CaseEventType, tuple[Callable[[CaseView, str], _Message], ...]] = {
    E.ACCEPTED: (_accepted,),
    E.REJECTED: (_rejected,),
    E.ASSIGNED: (_assigned,),
    E.RETURNED: (_returned,),
    E.RESOLVED: (_resolved,),
    E.REOPENED: (_reopened_to_resident, _reopened_to_unit),
    E.REVIEW_REQUESTED: (_review_requested,),
    E.CLOSED_AFTER_REVIEW: (_closed_after_review,),
}
del E


# ---------------------------------------------------------------------- delivering and reading
