"""The console's 积分 pages (issue 6) on SQLite and PostgreSQL: a grid worker registers a volunteer activity and, as its
organiser, confirms attendees from the sign-in sheet's phone numbers (a resident's bound chat, a case's reporter
phone, a number that finds nobody); each is credited once. The mall's hand-out (7th–14th only, not twice, not once
returned) and restocking (administrators only)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from admin_support import report
from workflow.grids import bind_channel
from workflow.jobs import run_due
from workflow.mall import Mall, load_catalogue
from workflow.models import Grid, Household, Resident
from workflow.points import PointsLedger
from workflow.points_models import MallItem, PointsEntry

DATA_DIR = Path(__file__).resolve().parents[3] / "data"
UTC = dt.timezone.utc
VILLAGE = "wanghuzhai_xiaohanzhai"
BOUND_PHONE, BOUND_SENDER = "13912345678", "wx-bound-wang"  # a resident of the household list, bound to a chat
REPORTER_PHONE, REPORTER_SENDER = "13700137000", "wx-reporter-li"  # left a number when reporting a problem
NOBODY_PHONE = "13600136000"


def shanghai(year, month, day, hour=10, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC) - dt.timedelta(hours=8)


@pytest.fixture
def residents(session_factory, case_service, accounts):
    """A resident with a phone bound to a WeChat chat (household list), and a case reported with another phone."""
    with session_factory.begin() as session:
        session.add(Grid(code="XHZ-1", name="第一网格", village_code=VILLAGE, kind="rural", is_sample=False,
                         worker_account_id=accounts.grid_worker.id))
        session.flush()
        household = Household(code="H-XHZ-1", grid_code="XHZ-1", address="小韩寨村1号", head_name="王大爷",
                              member_count=1, has_elderly=False, has_disabled=False, has_members_away=False,
                              is_sample=False)
        household.residents = [Resident(name="王大爷", role="head", phone=BOUND_PHONE, is_sample=False)]
        session.add(household)
        session.flush()
        bind_channel(session, household.residents[0].id, "wechat", BOUND_SENDER)
    case_service.file_report(report(reporter_id=REPORTER_SENDER, reporter_phone="137-0013-7000"))


def activity_credits(session_factory, holder: str) -> list[int]:
    with session_factory() as session:
        return list(session.execute(select(PointsEntry.amount).where(PointsEntry.holder_id == holder,
                                                                     PointsEntry.kind == "activity")).scalars())


def textarea(page_text: str) -> str:
    return re.search(r'<textarea name="phones"[^>]*>(.*?)</textarea>', page_text, re.S).group(1)


async def test_a_grid_worker_registers_an_activity_and_confirms_attendees_by_phone(
        browser, clock, session_factory, residents):
    liu = await browser("grid-liu")  # 网格员刘洋, organiser
    page = await liu.get("/console/activities")
    assert page.status == 200 and "登记活动" in page.text and "每人积分（1–100）" in page.text
    done = await liu.post("/console/activities", {"title": "清理村内垃圾", "held_on": "2026-12-02", "points": "20",
                                                   "place": "小韩寨村村委会"}, follow=False)
    assert done.status == 303 and done.headers["Location"].endswith("?done=registered")
    activity_path = done.headers["Location"].split("?")[0]
    page = await liu.get(done.headers["Location"])
    assert "活动已登记" in page.text and "网格员刘洋" in page.text and "2026年12月2日" in page.text
    assert "活动在2026年12月2日举行，当天及以后才能确认参加人员。" in page.text  # Monday 30 November: not yet
    early = await liu.post(activity_path + "/attendees", {"phones": BOUND_PHONE})
    assert early.status == 409 and "当天及以后才能确认参加人员" in early.text
    assert activity_credits(session_factory, BOUND_SENDER) == []

    listed = await liu.get("/console/activities")
    assert "清理村内垃圾" in listed.text and activity_path in listed.text

    clock.now = shanghai(2026, 12, 2, 16)  # the day held (sessions end after 2 idle hours: log in again)
    liu, dispatcher = await browser("grid-liu"), await browser("wangfang")
    refused = await dispatcher.post(activity_path + "/attendees", {"phones": BOUND_PHONE})
    assert refused.status == 403 and "只有活动的组织人（网格员刘洋）可以确认参加人员。" in refused.text
    assert activity_credits(session_factory, BOUND_SENDER) == []

    sheet = f"{BOUND_PHONE}\n137 0013 7000\n{NOBODY_PHONE}\n\n"
    answer = await liu.post(activity_path + "/attendees", {"phones": sheet})
    assert answer.status == 200
    assert "本次新确认 2 人，每人 20 积分" in answer.text
    assert f"{NOBODY_PHONE}：未找到（请先让其在巨好办发一条消息或绑定）" in answer.text
    assert textarea(answer.text).strip() == NOBODY_PHONE  # only what is left: nothing typed is lost
    assert "139****5678" in answer.text and "137****7000" in answer.text  # the confirmed, masked
    assert BOUND_PHONE not in answer.text and REPORTER_PHONE not in answer.text
    assert activity_credits(session_factory, BOUND_SENDER) == [20]
    assert activity_credits(session_factory, REPORTER_SENDER) == [20]

    again = await liu.post(activity_path + "/attendees", {"phones": f"{BOUND_PHONE}\n{REPORTER_PHONE}"},
                           follow=False)
    assert again.status == 303 and again.headers["Location"].endswith("?done=confirmed")
    assert activity_credits(session_factory, BOUND_SENDER) == [20]  # confirmed before: credited nothing
    assert activity_credits(session_factory, REPORTER_SENDER) == [20]
    page = await liu.get(again.headers["Location"])
    assert "参加人员已确认，积分已发放" in page.text and "已确认的参加人员（2）" in page.text

    none_found = await liu.post(activity_path + "/attendees", {"phones": f"{NOBODY_PHONE}\n12345"})
    assert none_found.status == 422 and "没有确认任何人员" in none_found.text
    assert "12345：不是有效的手机或固定电话号码" in none_found.text
    assert PointsLedger(session_factory).balance(NOBODY_PHONE) == 0


async def test_registering_refuses_points_beyond_the_policy(browser, accounts):
    liu = await browser("grid-liu")
    page = await liu.post("/console/activities", {"title": "植树", "held_on": "2026-12-02", "points": "101"})
    assert page.status == 422 and "每人积分须为 1 到 100 之间的整数。" in page.text and 'value="植树"' in page.text
    assert "还没有登记的活动" in page.text


@pytest.fixture
def redeemed(session_factory, clock, residents):
    """On the exchange day, 5 December 2026: the bound resident redeems 2 towels (30 points each)."""
    clock.now = shanghai(2026, 12, 5)
    ledger = PointsLedger(session_factory, clock=clock)
    with session_factory.begin() as session:
        load_catalogue(session, DATA_DIR, clock.now)
        ledger.credit(session, BOUND_SENDER, 200, kind="activity", source="test:seed", reason="志愿服务")
    mall = Mall(session_factory, clock=clock, ledger=ledger)
    return mall, mall.redeem(BOUND_SENDER, "毛巾", 2)


async def test_goods_are_handed_out_from_the_7th_to_the_14th_once(browser, clock, redeemed, lifecycle):
    mall, towels = redeemed
    clock.now = shanghai(2026, 12, 6, 17)
    liu = await browser("grid-liu")
    page = await liu.get("/console/mall", {"code": towels.pickup_code.lower()})
    assert page.status == 200 and "毛巾 × 2" in page.text and "待领取" in page.text and "139****5678" in page.text
    assert "12月7日至12月14日" in page.text and towels.pickup_code in page.text
    early = await liu.post("/console/mall/collect", {"pickup_code": towels.pickup_code})
    assert early.status == 409 and "现在不在领取时间内，不能发放" in early.text
    assert mall.redemption(towels.pickup_code).status == "reserved"

    clock.now = shanghai(2026, 12, 8, 9)
    liu = await browser("grid-liu")
    listed = await liu.get("/console/mall")
    assert "本月待领取（1）" in listed.text and f"****{towels.pickup_code[-2:]}" in listed.text
    done = await liu.post("/console/mall/collect", {"pickup_code": towels.pickup_code}, follow=False)
    assert done.status == 303 and "done=collected" in done.headers["Location"]
    page = await liu.get(done.headers["Location"])
    assert "已发放，兑换已标记为已领取。" in page.text and "已发放（2026-12-08 09:00，网格员刘洋）" in page.text
    assert "本月待领取（0）" in page.text
    collected = mall.redemption(towels.pickup_code)
    assert (collected.status, collected.collected_by) == ("collected", "网格员刘洋")
    twice = await liu.post("/console/mall/collect", {"pickup_code": towels.pickup_code})
    assert twice.status == 409 and "该兑换已经发放过，不能重复发放。" in twice.text

    unknown = await liu.post("/console/mall/collect", {"pickup_code": "XXXXXX"})
    assert unknown.status == 404 and "没有找到这个取货码" in unknown.text


async def test_after_the_14th_goods_are_not_handed_out_and_the_sweep_returns_them(
        browser, clock, redeemed, lifecycle, session_factory):
    mall, towels = redeemed
    clock.now = shanghai(2026, 12, 15, 0, 0)
    dispatcher = await browser("wangfang")
    late = await dispatcher.post("/console/mall/collect", {"pickup_code": towels.pickup_code})
    assert late.status == 409 and "现在不在领取时间内" in late.text
    assert run_due(lifecycle).returned == [towels.pickup_code]
    returned = await dispatcher.post("/console/mall/collect", {"pickup_code": towels.pickup_code})
    assert returned.status == 409 and "该兑换已因逾期未领取退回库存，积分已返还，不能发放。" in returned.text
    page = await dispatcher.get("/console/mall", {"code": towels.pickup_code})
    assert "逾期未领，已退回" in page.text and 'action="/console/mall/collect"' not in page.text
    assert PointsLedger(session_factory).balance(BOUND_SENDER) == 200


async def test_only_administrators_restock(browser, redeemed, session_factory):
    def towel_stock() -> int:
        with session_factory() as session:
            return session.get(MallItem, "towel").stock

    before = towel_stock()
    liu, dispatcher, admin = await browser("grid-liu"), await browser("wangfang"), await browser("admin1")
    page = await liu.get("/console/mall")
    assert "库存" in page.text and "毛巾" in page.text and 'action="/console/mall/restock"' not in page.text
    for client in (liu, dispatcher):
        refused = await client.post("/console/mall/restock", {"item": "towel", "quantity": "10"})
        assert refused.status == 403 and "无权" in refused.text
    assert towel_stock() == before
    page = await admin.get("/console/mall")
    assert 'action="/console/mall/restock"' in page.text
    done = await admin.post("/console/mall/restock", {"item": "towel", "quantity": "10"}, follow=False)
    assert done.status == 303 and done.headers["Location"].endswith("?done=restocked")
    assert towel_stock() == before + 10
    page = await admin.get(done.headers["Location"])
    assert "已补货，库存已更新。" in page.text
    bad = await admin.post("/console/mall/restock", {"item": "towel", "quantity": "0"})
    assert bad.status == 422 and "补货数量须为 1 到 10000 之间的整数" in bad.text
    assert towel_stock() == before + 10


async def test_the_navigation_shows_the_points_pages_to_their_roles(browser, accounts):
    for username, shown in (("grid-liu", True), ("wangfang", True), ("admin1", True), ("eco-zhang", False)):
        page = await (await browser(username)).get("/console/cases")
        assert ('href="/console/activities"' in page.text, 'href="/console/mall"' in page.text) == (shown, shown)
