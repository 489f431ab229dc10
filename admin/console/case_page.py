"""The case page: ``GET /console/cases/<case_id>`` and its actions ``POST /console/cases/<case_id>/<action>``.

The page shows the facts (description, place, photos, the resident's phone masked), the whole audit trail, the
conversation the case came from, and a form for each action the account may take now
(:func:`admin.console.access.available_actions`). Who may open it: :func:`admin.console.access.check_may_read`
(another unit's case or another village's: the 403 page).

Actions call the same :class:`workflow.lifecycle.CaseLifecycle` methods as the API (one transaction each: a case
change is whole or not at all), in a worker thread, then redirect (303) to the case page: ``?done=<action>`` shows
a fixed Chinese message; a domain error the person can fix or should know about (the status no longer allows it, a
field missing, an unknown unit, somebody else was quicker) redirects with ``?error=<code>`` (and ``field``) shown
from a fixed dictionary, never the input. A role or scope that may not act gets the 403 page; nothing was written.

``POST /console/cases/<case_id>/phone`` shows the full phone number, for roles that need it
(:func:`admin.console.access.may_see_full_phone`): the number is read and the view audited in one transaction
(:func:`workflow.personal_data.record_view`), and the page is rendered with it (never put in a URL). Phone numbers
inside the description, the transcript, the audit notes, the result and the rating comment are masked too until
then; a grid worker never sees them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import urllib.parse
from typing import Any, Awaitable, Callable, Mapping

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from admin.actions import path_case_id
from admin.console.access import (
    DISPATCHING,
    available_actions,
    check_may_read,
    dispatcher_actor,
    may_see_full_phone,
    unit_actor,
    worker_grids,
    worker_or_unit_actor,
)
from admin.console.queue import SOON_SECONDS, STATUS_LABELS, deadline_of, filter_choices, status_text
from admin.console.session import ConsoleForbidden, page, session_of
from admin.console.templating import render_page
from workflow.accounts import AccountView
from workflow.case_views import CaseView
from workflow.deadlines import MatterType
from workflow.exceptions import (
    CaseNotFound,
    ConcurrentUpdate,
    IllegalTransition,
    InvalidCaseAction,
    UnknownCategory,
    UnknownUnit,
)
from workflow.grid_work import GridWork
from workflow.grids import UnknownGrid
from workflow.lifecycle import CaseLifecycle
from workflow.personal_data import record_view, views_of
from workflow.phones import mask_phones_in
from workflow.status import CaseStatus
from workflow.transitions import CaseEventType, RejectReason

logger = logging.getLogger(__name__)

#: How long before filing the transcript starts (the resident's report is usually the minutes before it).
TRANSCRIPT_HOURS_BEFORE = 3
#: At most this many messages of the transcript (the latest ones).
TRANSCRIPT_LIMIT = 500

#: Flash message after each action (a fixed text: never the input).
DONE_MESSAGES = {
    "accept": "已受理。",
    "assign": "已派单。",
    "reject": "已作不予受理处理。",
    "duplicate": "已作为重复工单合并。",
    "reopen": "已重新交办。",
    "close": "已复核结案。",
    "acknowledge": "已签收。",
    "note": "已记录办理进展。",
    "return": "已退回调度中心。",
    "resolve": "已办结，等待群众评价。",
    "set_grid": "已设置网格。",
}
ACTION_LABELS = {
    "accept": "受理",
    "assign": "派单",
    "reject": "不予受理",
    "duplicate": "合并为重复工单",
    "reopen": "重新交办",
    "close": "复核结案",
    "acknowledge": "签收",
    "note": "记录进展",
    "return": "退回",
    "resolve": "办结",
    "set_grid": "设置网格",
}
#: Domain errors shown on the case page after an action, by code (fixed texts).
ERROR_MESSAGES = {
    IllegalTransition.code: "该工单当前的状态不允许这个操作，可能已有其他人处理。请查看最新状态。",
    "not_under_review": "该工单不在复核中，不能重新交办；被退回的工单请用“派单”。",
    InvalidCaseAction.code: "填写的内容不完整或不符合要求，操作未执行。",
    UnknownUnit.code: "所选单位不存在或已停用，操作未执行。",
    UnknownCategory.code: "所选类别不存在，操作未执行。",
    ConcurrentUpdate.code: "其他人刚刚修改了这个工单，操作未执行。请查看最新状态后重试。",
    CaseNotFound.code: "没有找到所填的原工单号，操作未执行。",
    UnknownGrid.code: "所选网格不存在，操作未执行。",
}
#: Names of the fields the lifecycle reports as wrong (``context["field"]``).
FIELD_LABELS = {
    "importance_level": "重要程度",
    "category_code": "类别",
    "matter_type": "事项类型",
    "reason": "原因",
    "note": "说明",
    "result": "办理结果",
    "photo": "照片地址",
    "duplicate_of": "原工单号",
    "lead_unit": "主办单位",
    "cooperating_units": "配合单位",
    "grid_code": "网格",
}
#: Errors the person can act on: redirected to the page with a message. Others (role, scope) are error pages.
_SHOWN_ERRORS = (IllegalTransition, InvalidCaseAction, UnknownUnit, UnknownCategory, ConcurrentUpdate, CaseNotFound,
                 UnknownGrid)

EVENT_LABELS = {
    "filed": "登记", "accepted": "受理", "rejected": "不予受理", "assigned": "派单", "acknowledged": "签收",
    "progress_noted": "办理进展", "returned": "退回", "resolved": "办结", "rated": "群众评价",
    "reopened": "重新交办", "review_requested": "转调度复核", "closed_unrated": "逾期未评价自动归档",
    "closed_after_review": "复核结案", "grid_set": "设置网格",
}
ROLE_LABELS = {"resident": "群众", "bot": "机器人", "dispatcher": "调度员", "unit": "承办单位", "system": "系统",
               "grid_worker": "网格员"}
KIND_LABELS = {"report": "群众反映", "patrol": "网格员巡查上报", "proxy": "帮我办"}
IMPORTANCE_LEVELS = [(1, "一般（10分）"), (2, "较重要（20分）"), (3, "重要（30分）")]
REJECT_REASONS = [(RejectReason.INVALID.value, "无效反映"), (RejectReason.OUT_OF_SCOPE.value, "不属于受理范围")]
REJECTION_LABELS = {**dict(REJECT_REASONS), RejectReason.DUPLICATE.value: "重复反映"}
CHANNEL_LABELS = {"wechat": "微信公众号", "socketio": "网页聊天", "rest": "网页接口", "hotline": "热线电话"}
RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意",
                 "no_rating": "未评价"}


def register(blueprint: Blueprint) -> None:
    """Add the case page, the phone view and one route per action (``ACTIONS``)."""
    blueprint.add_route(case_page, "/cases/<case_id:str>", methods=["GET"])
    blueprint.add_route(show_phone, "/cases/<case_id:str>/phone", methods=["POST"])
    for name in ACTIONS:
        blueprint.add_route(_action_view(name), f"/cases/<case_id:str>/{name}", methods=["POST"],
                            name=f"case_action_{name}")


# ---------------------------------------------------------------------- reading
async def _load(request: Request, case_id: str) -> tuple[AccountView, CaseView]:
    account = session_of(request).account
    view = await asyncio.to_thread(request.app.ctx.lifecycle.get, path_case_id(case_id))
    grids = await asyncio.to_thread(worker_grids, request.app.ctx.session_factory, account)
    check_may_read(account, view, grids)
    return account, view


def _tracker(request: Request) -> Any:
    tracker = getattr(request.app.ctx, "tracker", None)
    if tracker is None:
        tracker = getattr(request.app.ctx, "case_page_tracker", None)
        if tracker is None:
            from admin.conversations import TrackerConversations

            tracker = request.app.ctx.case_page_tracker = TrackerConversations(request.app.ctx.engine)
    return tracker


async def _transcript(request: Request, view: CaseView) -> tuple[list[Any], bool]:
    """The conversation from :data:`TRANSCRIPT_HOURS_BEFORE` hours before filing to now, and whether it could be
    read (a failure shows a note, never breaks the page)."""
    since = view.created_at - dt.timedelta(hours=TRANSCRIPT_HOURS_BEFORE)
    try:
        tracker = _tracker(request)
        messages = await asyncio.to_thread(tracker.transcript, view.reporter, since=since, limit=TRANSCRIPT_LIMIT)
    except Exception:  # the tracker store is Rasa's table: its trouble must not hide the case
        logger.exception("The transcript of case %s could not be read", view.case_id)
        return [], False
    return list(messages), True


def _web_url(value: Any) -> bool:
    """Only http(s) addresses become images and links (a resident's or unit's text is never a ``javascript:``)."""
    return isinstance(value, str) and value.lower().startswith(("https://", "http://"))


async def _render(request: Request, account: AccountView, view: CaseView, *, full_phone: str | None = None,
                  status: int = 200) -> HTTPResponse:
    lifecycle: CaseLifecycle = request.app.ctx.lifecycle
    reference = request.app.ctx.reference
    history = await asyncio.to_thread(lifecycle.history, view.case_id)
    messages, transcript_ok = await _transcript(request, view)
    revealed = full_phone is not None
    unmask = (lambda text: text) if revealed else mask_phones_in
    data_views = (await asyncio.to_thread(views_of, request.app.ctx.session_factory, view.case_id)
                  if account.role in DISPATCHING else [])
    done = request.args.get("done") or ""
    error = request.args.get("error") or ""
    field = request.args.get("field") or ""
    suggested = view.suggested_category
    return render_page(
        request, "case.html", status=status,
        view=view, status_text=status_text(view), deadline=deadline_of(view, lifecycle.now()),
        soon_seconds=SOON_SECONDS,
        suggestion=(reference.categories[suggested].name if suggested in reference.categories else suggested)
        if suggested and suggested != view.category else None,
        confidence=round(view.category_confidence * 100) if view.category_confidence is not None else None,
        matter_label=view.matter_type.label,
        suggested_matter_label=view.suggested_matter_type.label
        if view.suggested_matter_type and view.suggested_matter_type is not view.matter_type else None,
        description=unmask(view.description),
        photos=[a for a in view.attachments if a.get("kind") == "image" and _web_url(a.get("url"))],
        other_attachments=[a for a in view.attachments
                           if not (a.get("kind") == "image" and _web_url(a.get("url")))],
        result_photo_url=view.result_photo if _web_url(view.result_photo) else None,
        full_phone=full_phone, may_unmask=may_see_full_phone(account, view) and view.reporter_phone is not None,
        history=[(event, unmask(event.note)) for event in history], event_labels=EVENT_LABELS, role_labels=ROLE_LABELS,
        status_labels={status.value: label for status, label in STATUS_LABELS.items()},
        rejection_label=REJECTION_LABELS.get(view.rejection_reason.value) if view.rejection_reason else None,
        messages=[(m, unmask(m.text)) for m in messages], transcript_ok=transcript_ok,
        transcript_hours=TRANSCRIPT_HOURS_BEFORE,
        data_views=data_views,
        actions=available_actions(account, view), action_labels=ACTION_LABELS,
        flash=DONE_MESSAGES.get(done), error=ERROR_MESSAGES.get(error),
        error_field=FIELD_LABELS.get(field) if error else None,
        choices=filter_choices(reference), importance_levels=IMPORTANCE_LEVELS, reject_reasons=REJECT_REASONS,
        matter_types=[(m.value, m.label) for m in MatterType],
        rating_label=RATING_LABELS.get(view.rating.value) if view.rating else None,
        rating_comment=unmask(view.rating_comment) if view.rating_comment else None,
        result=unmask(view.result) if view.result else None,
        channel_label=CHANNEL_LABELS.get(view.channel, view.channel),
        preselected_category=view.category or view.suggested_category or "",
        kind_label=KIND_LABELS.get(view.kind, view.kind),
        grid_choices=(await asyncio.to_thread(_grid_work(lifecycle).grids_for_case, view)
                      if "set_grid" in available_actions(account, view) else []),
    )


@page()
async def case_page(request: Request, case_id: str) -> HTTPResponse:
    """The case page (see the module docstring)."""
    account, view = await _load(request, case_id)
    return await _render(request, account, view)


@page()
async def show_phone(request: Request, case_id: str) -> HTTPResponse:
    """The case page with the full phone number, the view audited (roles of :func:`may_see_full_phone` only).

    Raises:
        ConsoleForbidden: The account may not see the number (→ 403 page; nothing recorded).
    """
    account, view = await _load(request, case_id)
    if not may_see_full_phone(account, view):
        raise ConsoleForbidden(f"{account.username} may not see the phone number of {view.case_id}",
                               role=account.role.value, action="phone", case_id=view.case_id)
    phone = await asyncio.to_thread(
        record_view, request.app.ctx.session_factory, view.case_id, actor=account.display_name,
        account_id=account.id, client_ip=request.remote_addr or request.ip or None, now=request.app.ctx.lifecycle.now(),
    )
    return await _render(request, account, view, full_phone=phone or "")


# ---------------------------------------------------------------------- actions
def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name) if form else None
    return value.strip() if isinstance(value, str) else ""


def _optional(form: Mapping[str, Any], name: str) -> str | None:
    return _text(form, name) or None


def _units(form: Any, name: str) -> list[str] | None:
    values = [v.strip() for v in (form.getlist(name) if form else None) or [] if isinstance(v, str) and v.strip()]
    return values or None


def _level(form: Mapping[str, Any]) -> int | None:
    value = _text(form, "importance_level")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 3 else None


def _assign_arguments(form: Any) -> dict[str, Any]:
    return {"lead_unit": _optional(form, "lead_unit"), "cooperating_units": _units(form, "cooperating_units"),
            "category_code": _optional(form, "category"), "reason": _text(form, "reason")}


def _not_under_review(view: CaseView) -> None:
    if not (view.status is CaseStatus.RETURNED and view.needs_review):
        raise IllegalTransition(
            f"case {view.case_id} is not under dispatcher review: nothing to reopen", case_id=view.case_id,
            event=CaseEventType.ASSIGNED.value, from_status=view.status.value,
            to_status=CaseStatus.ASSIGNED.value, reason="not_under_review",
        )


Runner = Callable[[CaseLifecycle, AccountView, CaseView, Any], CaseView]


def _accept(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    return lc.accept(view.case_id, dispatcher_actor(account, "accept"), importance_level=_level(form),
                     category_code=_optional(form, "category"), matter_type=_optional(form, "matter_type"),
                     note=_text(form, "note"))


def _assign(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    return lc.assign(view.case_id, dispatcher_actor(account, "assign"), **_assign_arguments(form))


def _reject(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    reason = _text(form, "reason")
    if reason == RejectReason.DUPLICATE.value:  # the duplicate form is for that (with the original's number)
        raise InvalidCaseAction("use the duplicate action", field="reason")
    return lc.reject(view.case_id, dispatcher_actor(account, "reject"), reason=reason, note=_text(form, "note"))


def _duplicate(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    original = _optional(form, "duplicate_of")
    if original is None:
        raise InvalidCaseAction("the original case id is required", field="duplicate_of")
    return lc.reject(view.case_id, dispatcher_actor(account, "duplicate"), reason=RejectReason.DUPLICATE,
                     note=_text(form, "note"), duplicate_of=original)


def _reopen(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    actor = dispatcher_actor(account, "reopen")
    _not_under_review(lc.get(view.case_id))
    return lc.assign(view.case_id, actor, **_assign_arguments(form))


def _close(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    return lc.close_after_review(view.case_id, dispatcher_actor(account, "close"), reason=_text(form, "reason"))


def _acknowledge(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    return lc.acknowledge(view.case_id, worker_or_unit_actor(account, view, "acknowledge"), note=_text(form, "note"))


def _note(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    return lc.add_note(view.case_id, worker_or_unit_actor(account, view, "note"), _text(form, "note"))


def _return(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    return lc.return_case(view.case_id, unit_actor(account, view, "return"), reason=_text(form, "reason"))


def _resolve(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    return lc.resolve(view.case_id, worker_or_unit_actor(account, view, "resolve"), result=_text(form, "result"),
                      photo=_optional(form, "photo"))


def _set_grid(lc: CaseLifecycle, account: AccountView, view: CaseView, form: Any) -> CaseView:
    actor = dispatcher_actor(account, "set_grid")
    grid = _optional(form, "grid_code")
    if grid is None:
        raise InvalidCaseAction("choose a grid", field="grid_code")
    return _grid_work(lc).set_grid(view.case_id, actor, grid, note=_text(form, "note"))


def _grid_work(lc: CaseLifecycle) -> GridWork:
    """The grid-work service over the lifecycle's database and clock (calendar and policy as the lifecycle's)."""
    return GridWork(lc.session_factory, lc.calendar, clock=lc.now, policy=lc.policy)


#: Every action of the page: its name (the URL's last segment) → the lifecycle call.
ACTIONS: dict[str, Runner] = {
    "accept": _accept,
    "assign": _assign,
    "reject": _reject,
    "duplicate": _duplicate,
    "reopen": _reopen,
    "close": _close,
    "acknowledge": _acknowledge,
    "note": _note,
    "return": _return,
    "resolve": _resolve,
    "set_grid": _set_grid,
}


def _case_url(case_id: str, **query: str) -> str:
    return f"/console/cases/{urllib.parse.quote(case_id)}" + (f"?{urllib.parse.urlencode(query)}" if query else "")


def _action_view(name: str) -> Callable[..., Awaitable[HTTPResponse]]:
    runner = ACTIONS[name]

    async def case_action(request: Request, case_id: str) -> HTTPResponse:
        account, view = await _load(request, case_id)
        form = request.form
        try:
            await asyncio.to_thread(runner, request.app.ctx.lifecycle, account, view, form)
        except _SHOWN_ERRORS as error:
            query = {"error": error.code}
            if isinstance(error, IllegalTransition) and error.context.get("reason") == "not_under_review":
                query["error"] = "not_under_review"
            field = error.context.get("field")
            if isinstance(field, str) and field in FIELD_LABELS:
                query["field"] = field
            logger.info("console %s on %s by %s refused: %s", name, view.case_id, account.username, error.code)
            return redirect(_case_url(view.case_id, **query), status=303)
        return redirect(_case_url(view.case_id, done=name), status=303)

    case_action.__name__ = case_action.__qualname__ = f"case_{name}"
    case_action.__doc__ = f"POST /console/cases/<case_id>/{name}: {ACTION_LABELS[name]} (see the module docstring)."
    return page()(case_action)

