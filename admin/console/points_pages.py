"""积分 pages (issue 6), part one: volunteer activities (志愿活动, 新时代文明实践) over
:class:`workflow.volunteering.Volunteering`. The mall's hand-out and stock: :mod:`admin.console.points_mall_pages`.

Who: dispatchers, administrators and grid workers (:data:`POINTS_STAFF`). A grid worker organises the activities
of their village and runs its points supermarket (issue 6: "an organiser registers an activity … and confirms
attendees"); dispatchers and administrators run the county's. The list is the county's (an activity holds no
personal data); confirming is the organiser's alone, whatever the role.

Routes:

- ``GET /console/activities``: the activities, newest first (:meth:`Volunteering.recent`), and the form to register
  one. ``POST /console/activities`` (form ``title``, ``held_on`` ``YYYY-MM-DD``, ``points`` 1–``max_activity_points``
  of ``data/points/policy.yml``, optional ``place``) registers it with the logged-in account's display name as
  organiser and answers 303 to its page (``?done=registered``); bad input: the form again, 422, the message by the
  field and what was typed.
- ``GET /console/activities/<id>``: the activity, its confirmed attendees (phones masked,
  :func:`workflow.phones.mask_phone`) and, for its organiser from the day it is held, the sign-in form.
- ``POST /console/activities/<id>/attendees`` (form ``phones``: one number a line, as on the sign-in sheet): each
  number is resolved to the holder it is credited on (:meth:`Volunteering.holders_by_phone`: a chat bound to a
  resident with that number, else the reporter of a case filed with it), those are confirmed in one transaction
  (:meth:`Volunteering.confirm_attendees`: each credited once; a holder confirmed before gets nothing). When every
  line was found: 303 to the page, ``?done=confirmed``. Otherwise the page is answered directly (200 when some were
  credited, 422 when none could be) listing the lines not found — "未找到（请先让其在巨好办发一条消息或绑定）" — or not a
  number, with exactly those lines left in the form to send again later: nothing typed is lost. (A refresh that
  posts it again credits nothing twice.) Not the organiser: 403 with the organiser's name; before the day held:
  409; no such activity: 404.

Flash messages come from :data:`FLASH_MESSAGES` by the ``?done=`` key, never from the URL's text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Mapping

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from admin.console.session import PREFIX, page, session_of
from admin.console.templating import SHANGHAI, render_page
from workflow.accounts import AccountRole
from workflow.points import InvalidPointsAction, PointsLedger, PointsPolicy, load_points_policy
from workflow.volunteering import (
    ActivityNotFound,
    ActivityNotHeld,
    ActivityView,
    NotOrganiser,
    PhoneMatch,
    Volunteering,
)

#: Roles of the 积分 pages (module docstring).
POINTS_STAFF = (AccountRole.DISPATCHER, AccountRole.ADMIN, AccountRole.GRID_WORKER)
ACTIVITIES_PATH = PREFIX + "/activities"
NOT_FOUND_TEXT = "未找到（请先让其在巨好办发一条消息或绑定）"
INVALID_TEXT = "不是有效的手机或固定电话号码"
_MAX_PHONES_TEXT = 20000  # characters of the sign-in form (500 numbers with room to spare)

FLASH_MESSAGES: Mapping[str, str] = {
    "registered": "活动已登记。活动当天及以后，由组织人在本页确认参加人员，积分随即发放。",
    "confirmed": "参加人员已确认，积分已发放；此前已确认的人员不会重复加分。",
}
FIELD_MESSAGES: Mapping[str, str] = {
    "title": "请填写活动名称（1–128 个字）。",
    "held_on": "请填写活动日期（如 2026-12-06）。",
    "points": "每人积分须为 1 到 {max} 之间的整数。",
    "place": "活动地点最多 128 个字。",
    "phones": "请每行填写一个参加人员的手机号（最多 500 行）。",
}


def register(blueprint: Blueprint) -> None:
    """Add the activity routes."""
    blueprint.add_route(activity_list, "/activities", methods=["GET"])
    blueprint.add_route(register_activity, "/activities", methods=["POST"])
    blueprint.add_route(activity_page, "/activities/<activity_id:int>", methods=["GET"])
    blueprint.add_route(confirm_attendees, "/activities/<activity_id:int>/attendees", methods=["POST"])


# --------------------------------------------------------------------------------------------- services
def points_policy(request: Request) -> PointsPolicy:
    """The points policy of the app's data directory (``data/points/policy.yml``), read once per app."""
    policy = getattr(request.app.ctx, "points_policy", None)
    if policy is None:
        policy = load_points_policy(request.app.ctx.settings.data_dir)
        request.app.ctx.points_policy = policy
    return policy


def points_ledger(request: Request) -> PointsLedger:
    """The ledger over the console's database, with the lifecycle's clock and the app's policy."""
    return PointsLedger(request.app.ctx.session_factory, clock=request.app.ctx.lifecycle.now,
                        policy=points_policy(request))


def volunteering(request: Request) -> Volunteering:
    lifecycle = request.app.ctx.lifecycle
    return Volunteering(request.app.ctx.session_factory, clock=lifecycle.now, ledger=points_ledger(request))


def today(request: Request) -> dt.date:
    """Today in Asia/Shanghai by the lifecycle's clock."""
    return request.app.ctx.lifecycle.now().astimezone(SHANGHAI).date()


def error_page(request: Request, status: int, title: str, message: str) -> HTTPResponse:
    """A Chinese error page with ``status`` (the console's layout; the 404 and 409 answers of these pages)."""
    return render_page(request, "error.html", status=status, title=title, message=message, status_code=status,
                       at=request.app.ctx.lifecycle.now().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
                       logged_in=True)


def _form(request: Request) -> Any:
    return request.form or {}


# --------------------------------------------------------------------------------------------- the list
async def _list(request: Request, *, status: int = 200, errors: Mapping[str, str] | None = None,
                typed: Mapping[str, str] | None = None) -> HTTPResponse:
    activities = await asyncio.to_thread(volunteering(request).recent, 100)
    return render_page(request, "activities.html", status=status, activities=activities,
                       max_points=points_policy(request).max_activity_points, errors=errors or {},
                       typed=typed or {"title": "", "held_on": today(request).isoformat(), "points": "", "place": ""},
                       flash=FLASH_MESSAGES.get(request.args.get("done") or "") if status == 200 else None)


@page(*POINTS_STAFF)
async def activity_list(request: Request) -> HTTPResponse:
    """The activities, newest first, and the register form."""
    return await _list(request)


@page(*POINTS_STAFF)
async def register_activity(request: Request) -> HTTPResponse:
    """Register an activity organised by the logged-in account."""
    form = _form(request)
    typed = {name: (form.get(name) or "").strip()[:200] for name in ("title", "held_on", "points", "place")}
    limit = points_policy(request).max_activity_points
    errors: dict[str, str] = {}
    try:
        held_on = dt.date.fromisoformat(typed["held_on"])
    except ValueError:
        held_on, errors["held_on"] = None, FIELD_MESSAGES["held_on"]
    points = int(typed["points"]) if typed["points"].isdigit() else 0
    if not 1 <= points <= limit:
        errors["points"] = FIELD_MESSAGES["points"].format(max=limit)
    if not errors:
        try:
            view = await asyncio.to_thread(
                volunteering(request).register, title=typed["title"], held_on=held_on, points=points,
                organiser=session_of(request).account.display_name, place=typed["place"] or None)
        except InvalidPointsAction as error:
            field = error.context.get("field") or "title"
            errors[field] = FIELD_MESSAGES.get(field, FIELD_MESSAGES["title"]).format(max=limit)
        else:
            return redirect(f"{ACTIVITIES_PATH}/{view.id}?done=registered", status=303)
    return await _list(request, status=422, errors=errors, typed=typed)


# --------------------------------------------------------------------------------------------- one activity
async def _activity(request: Request, activity_id: int, *, status: int = 200, result: dict | None = None,
                    phones_text: str = "", error: str | None = None) -> HTTPResponse:
    service = volunteering(request)
    try:
        activity = await asyncio.to_thread(service.activity, activity_id)
        attendees = await asyncio.to_thread(service.attendees, activity_id)
    except ActivityNotFound:
        return error_page(request, 404, "没有找到", "没有找到这个志愿活动。")
    me = session_of(request).account
    return render_page(request, "activity.html", status=status, activity=activity, attendees=attendees,
                       is_organiser=activity.organiser == me.display_name,
                       held=today(request) >= activity.held_on, result=result, phones_text=phones_text,
                       error=error, flash=FLASH_MESSAGES.get(request.args.get("done") or "") if not result else None,
                       held_on_text=_day(activity.held_on), not_found_text=NOT_FOUND_TEXT, invalid_text=INVALID_TEXT)


@page(*POINTS_STAFF)
async def activity_page(request: Request, activity_id: int) -> HTTPResponse:
    """An activity, its attendees and (for its organiser) the sign-in form."""
    return await _activity(request, activity_id)


@page(*POINTS_STAFF)
async def confirm_attendees(request: Request, activity_id: int) -> HTTPResponse:
    """Confirm the attendees on the sign-in sheet (module docstring)."""
    text = str(_form(request).get("phones") or "")[:_MAX_PHONES_TEXT]
    service = volunteering(request)
    me = session_of(request).account
    try:
        activity = await asyncio.to_thread(service.activity, activity_id)
    except ActivityNotFound:
        return error_page(request, 404, "没有找到", "没有找到这个志愿活动。")
    refusal = _refusal(activity, me.display_name, today(request))
    if refusal is not None:
        return await _activity(request, activity_id, status=refusal[0], error=refusal[1], phones_text=text)
    try:
        matches = await asyncio.to_thread(service.holders_by_phone, text.splitlines())
    except InvalidPointsAction:
        return await _activity(request, activity_id, status=422, error=FIELD_MESSAGES["phones"], phones_text=text)
    if not matches:
        return await _activity(request, activity_id, status=422, error=FIELD_MESSAGES["phones"])
    found = [match for match in matches if match.status == "found"]
    left = [match for match in matches if match.status in ("not_found", "invalid")]
    confirmations = []
    if found:
        try:
            confirmations = await asyncio.to_thread(service.confirm_attendees, activity_id,
                                                    [m.holder_id for m in found], by=me.display_name)
        except (NotOrganiser, ActivityNotHeld) as error:  # changed meanwhile (cannot, today): same answers
            status, message = _refusal(activity, me.display_name, today(request)) or (409, str(error))
            return await _activity(request, activity_id, status=status, error=message, phones_text=text)
    if not left:
        return redirect(f"{ACTIVITIES_PATH}/{activity_id}?done=confirmed", status=303)
    result = _result(activity, found, left, confirmations)
    return await _activity(request, activity_id, status=200 if found else 422, result=result,
                           phones_text="\n".join(match.line for match in left))


def _refusal(activity: ActivityView, who: str, day: dt.date) -> tuple[int, str] | None:
    """(status, Chinese message) when ``who`` may not confirm attendees of ``activity`` on ``day``."""
    if activity.organiser != who:
        return 403, f"只有活动的组织人（{activity.organiser}）可以确认参加人员。"
    if day < activity.held_on:
        return 409, f"活动在{_day(activity.held_on)}举行，当天及以后才能确认参加人员。"
    return None


def _result(activity: ActivityView, found: list[PhoneMatch], left: list[PhoneMatch], confirmations) -> dict:
    credited = sum(1 for c in confirmations if c.credited)
    return {"credited": credited, "already": len(confirmations) - credited, "points": activity.points,
            "left": [(match.line, NOT_FOUND_TEXT if match.status == "not_found" else INVALID_TEXT) for match in left],
            "found": len(found)}


def _day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
