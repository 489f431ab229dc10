"""积分 pages (issue 6), part two: the points mall's hand-out (积分兑换) and stock, over :class:`workflow.mall.Mall`.
Activities: :mod:`admin.console.points_pages` (which also says who may use these pages and why).

Routes (dispatchers, administrators, grid workers; restocking administrators only):

- ``GET /console/mall`` (optional ``?code=`` a pickup code, normalised: case, blanks, dashes): the hand-out form;
  with a code, that redemption — item, quantity, points, status, collection window, the holder's phone masked (or
  the masked sender id when none is known) — and its 发放 button while it is ``reserved``; below, this month's
  redemptions still reserved (pickup codes shown as ``****QX``: the list is for preparing goods, the resident's
  code is what hands them out) and the stock (补货 form for administrators). An unknown code: the page, 404, with
  the message.
- ``POST /console/mall/collect`` (form ``pickup_code``): :meth:`Mall.collect` with the logged-in account's display
  name as ``by``; 303 to ``/console/mall?code=…&done=collected``. Refused: the page with the redemption and the
  message — unknown code 404, already collected or returned 409, outside the 7th–14th window 409.
- ``POST /console/mall/restock`` (form ``item`` code, ``quantity`` 1–10000): :meth:`Mall.restock`; 303 to
  ``/console/mall?done=restocked``; bad input 422.

Every day is an Asia/Shanghai day by the lifecycle's clock; the window is the redemption's own (fixed when it was
redeemed: 00:00 of the 7th to 23:59:59 of the 14th).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Mapping

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from admin.console.points_pages import POINTS_STAFF, points_ledger
from admin.console.session import PREFIX, page, session_of
from admin.console.templating import SHANGHAI, render_page
from workflow.accounts import AccountRole
from workflow.mall import (
    CollectionClosed,
    Mall,
    RedemptionNotReserved,
    RedemptionView,
    UnknownItem,
    UnknownPickupCode,
    normalize_pickup_code,
)
from workflow.points import InvalidPointsAction
from workflow.volunteering import holder_phones

MALL_PATH = PREFIX + "/mall"
MAX_RESTOCK = 10000
STATUS_LABELS = {"reserved": "待领取", "collected": "已发放", "returned": "逾期未领，已退回"}
FLASH_MESSAGES: Mapping[str, str] = {
    "collected": "已发放，兑换已标记为已领取。",
    "restocked": "已补货，库存已更新。",
}


def register(blueprint: Blueprint) -> None:
    """Add the mall routes."""
    blueprint.add_route(mall_page, "/mall", methods=["GET"])
    blueprint.add_route(collect, "/mall/collect", methods=["POST"])
    blueprint.add_route(restock, "/mall/restock", methods=["POST"])


def mall(request: Request) -> Mall:
    lifecycle = request.app.ctx.lifecycle
    return Mall(request.app.ctx.session_factory, clock=lifecycle.now, ledger=points_ledger(request))


def _day(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def refusal_text(error: Exception, view: RedemptionView | None) -> tuple[int, str]:
    """(status, Chinese message) for a hand-out the mall refused."""
    if isinstance(error, UnknownPickupCode):
        return 404, "没有找到这个取货码，请核对后重新输入。"
    if isinstance(error, RedemptionNotReserved):
        if view is not None and view.status == "collected":
            return 409, "该兑换已经发放过，不能重复发放。"
        return 409, "该兑换已因逾期未领取退回库存，积分已返还，不能发放。"
    if isinstance(error, CollectionClosed) and view is not None:
        return 409, f"该兑换的领取时间是{_day(view.first_day)}至{_day(view.last_day)}，现在不在领取时间内，不能发放。"
    return 422, "填写的内容不符合要求，请检查后重试。"


async def _holder_texts(request: Request, holders: list[str]) -> dict[str, str]:
    def read() -> dict[str, str]:
        with request.app.ctx.session_factory() as session:
            return holder_phones(session, holders)
    return await asyncio.to_thread(read)


async def _render(request: Request, *, code: str = "", status: int = 200, error: str | None = None,
                  restock_error: str | None = None) -> HTTPResponse:
    service = mall(request)
    view = None
    if code:
        try:
            view = await asyncio.to_thread(service.redemption, code)
        except UnknownPickupCode as refused:
            status, error = refusal_text(refused, None)
    reserved = await asyncio.to_thread(service.reserved_this_month)
    items = await asyncio.to_thread(service.catalogue)
    phones = await _holder_texts(request, [r.holder_id for r in reserved] + ([view.holder_id] if view else []))
    now = request.app.ctx.lifecycle.now()
    in_window = view is not None and view.first_day <= now.astimezone(SHANGHAI).date() <= view.last_day
    me = session_of(request).account
    return render_page(
        request, "mall.html", status=status, code=code, view=view, error=error, restock_error=restock_error,
        reserved=reserved, items=items, phones=phones, status_labels=STATUS_LABELS, in_window=in_window,
        may_restock=me.role is AccountRole.ADMIN, max_restock=MAX_RESTOCK, day=_day,
        flash=FLASH_MESSAGES.get(request.args.get("done") or "") if status == 200 and not error else None)


@page(*POINTS_STAFF)
async def mall_page(request: Request) -> HTTPResponse:
    """The hand-out form, a looked-up redemption, this month's reserved ones and the stock."""
    return await _render(request, code=normalize_pickup_code(request.args.get("code") or "")[:16])


@page(*POINTS_STAFF)
async def collect(request: Request) -> HTTPResponse:
    """Hand out a redemption (发放)."""
    code = normalize_pickup_code((request.form or {}).get("pickup_code") or "")[:16]
    service = mall(request)
    try:
        await asyncio.to_thread(service.collect, code, by=session_of(request).account.display_name)
    except (UnknownPickupCode, RedemptionNotReserved, CollectionClosed) as refused:
        try:
            view = await asyncio.to_thread(service.redemption, code) if code else None
        except UnknownPickupCode:
            view = None
        status, message = refusal_text(refused, view)
        return await _render(request, code=code if view else "", status=status, error=message)
    return redirect(f"{MALL_PATH}?code={code}&done=collected", status=303)


@page(AccountRole.ADMIN)
async def restock(request: Request) -> HTTPResponse:
    """Add pieces to an item's stock (补货)."""
    form: Any = request.form or {}
    item = (form.get("item") or "").strip()[:64]
    quantity_text = (form.get("quantity") or "").strip()
    quantity = int(quantity_text) if quantity_text.isdigit() and len(quantity_text) <= 6 else 0
    if not item or not 1 <= quantity <= MAX_RESTOCK:
        return await _render(request, status=422, restock_error=f"补货数量须为 1 到 {MAX_RESTOCK} 之间的整数，并选择商品。")
    try:
        await asyncio.to_thread(mall(request).restock, item, quantity)
    except (UnknownItem, InvalidPointsAction):
        return await _render(request, status=422, restock_error="没有找到这个商品，请刷新后重试。")
    return redirect(f"{MALL_PATH}?done=restocked", status=303)
