"""What the console's 积分 pages read, on SQLite and PostgreSQL: sign-in sheet numbers resolved to points holders (a
bound resident's chat first, else the latest case's reporter; one holder per number), holders' phones for showing
them masked, activities newest first with their attendees, and this month's reserved redemptions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from workflow.grids import bind_channel
from workflow.mall import Mall, load_catalogue
from workflow.models import Grid, Household, Resident
from workflow.points import PointsLedger
from workflow.volunteering import Volunteering, holder_phones
from workflow_support import report

UTC = dt.timezone.utc
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
VILLAGE = "wanghuzhai_xiaohanzhai"


def shanghai(year, month, day, hour=10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC) - dt.timedelta(hours=8)


@pytest.fixture
def people(session_factory, case_service, clock):
    """王大爷 (13912345678) bound to two chats, the later one wx-wang-new, and who also reported a problem; 李 reported
    twice with 13700137000, from two chats."""
    with session_factory.begin() as session:
        session.add(Grid(code="XHZ-1", name="第一网格", village_code=VILLAGE, kind="rural", is_sample=False))
        session.flush()
        household = Household(code="H-1", grid_code="XHZ-1", address="小韩寨村1号", head_name="王大爷",
                              member_count=1, has_elderly=False, has_disabled=False, has_members_away=False,
                              is_sample=False)
        household.residents = [Resident(name="王大爷", role="head", phone="13912345678", is_sample=False)]
        session.add(household)
        session.flush()
        bind_channel(session, household.residents[0].id, "wechat", "wx-wang-old", now=clock.now)
        bind_channel(session, household.residents[0].id, "socketio", "wx-wang-new",
                     now=clock.now + dt.timedelta(minutes=1))
    case_service.file_report(report(reporter_id="hotline-wang", channel="hotline", reporter_phone="13912345678"))
    case_service.file_report(report(reporter_id="wx-li-old", reporter_phone="13700137000"))
    clock.advance(dt.timedelta(minutes=5))
    case_service.file_report(report(reporter_id="wx-li-new", reporter_phone="137 0013 7000"))


def test_a_sign_in_sheet_resolves_each_number_to_one_holder(session_factory, clock, people):
    matches = Volunteering(session_factory, clock=clock).holders_by_phone(
        ["139-1234-5678", "  ", "13700137000", "13600136000", "12345", "+86 137 0013 7000"])
    assert [(m.line, m.phone, m.holder_id, m.status) for m in matches] == [
        ("139-1234-5678", "13912345678", "wx-wang-new", "found"),  # the bound chat (latest) before the case
        ("13700137000", "13700137000", "wx-li-new", "found"),  # the latest case's reporter
        ("13600136000", "13600136000", None, "not_found"),
        ("12345", None, None, "invalid"),
        ("+86 137 0013 7000", "13700137000", None, "repeated"),
    ]


def test_holders_phones_come_from_the_bound_resident_else_their_latest_case(session_factory, people):
    with session_factory() as session:
        assert holder_phones(session, ["wx-wang-old", "hotline-wang", "wx-li-old", "wx-nobody"]) == {
            "wx-wang-old": "13912345678", "hotline-wang": "13912345678", "wx-li-old": "13700137000"}
        assert holder_phones(session, []) == {}


def test_activities_newest_first_and_their_attendees_with_phones(session_factory, clock, people):
    volunteering = Volunteering(session_factory, clock=clock)
    older = volunteering.register(title="植树", held_on=dt.date(2026, 11, 1), points=10, organiser="刘洋")
    newer = volunteering.register(title="清扫", held_on=dt.date(2026, 11, 20), points=5, organiser="刘洋")
    assert [a.id for a in volunteering.recent()] == [newer.id, older.id]
    volunteering.confirm_attendees(newer.id, ["wx-li-new", "wx-nobody"], by="刘洋")
    attendees = volunteering.attendees(newer.id)
    assert [(a.holder_id, a.phone, a.confirmed_by) for a in attendees] == [
        ("wx-li-new", "13700137000", "刘洋"), ("wx-nobody", None, "刘洋")]
    assert volunteering.recent(1)[0].attendees == 2


def test_the_hand_out_list_is_this_months_reserved_redemptions(session_factory, clock):
    clock.now = shanghai(2026, 11, 5)
    ledger = PointsLedger(session_factory, clock=clock)
    with session_factory.begin() as session:
        load_catalogue(session, DATA_DIR, clock.now)
        for holder in ("wx-a", "wx-b", "wx-c"):
            ledger.credit(session, holder, 100, kind="activity", source=f"seed:{holder}", reason="志愿服务")
    mall = Mall(session_factory, clock=clock, ledger=ledger)
    november = mall.redeem("wx-a", 4)
    clock.now = shanghai(2026, 12, 5)
    first, second = mall.redeem("wx-b", 4), mall.redeem("wx-c", 4)
    clock.now = shanghai(2026, 12, 8)
    mall.collect(second.pickup_code, by="刘洋")
    assert [r.pickup_code for r in mall.reserved_this_month()] == [first.pickup_code]
    assert [r.pickup_code for r in mall.reserved_this_month(shanghai(2026, 11, 10))] == [november.pickup_code]
