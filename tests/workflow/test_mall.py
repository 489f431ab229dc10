"""The points mall on SQLite and PostgreSQL: the catalogue, redemption only on the 5th (Asia/Shanghai, month and year
boundaries), pickup codes, collection 7th–14th inclusive, the return of uncollected goods with refunds (idempotent),
and concurrency on PostgreSQL: stock never oversold, points never spent twice."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflow.exceptions import ReferenceDataError
from workflow.mall import (
    PICKUP_ALPHABET,
    CollectionClosed,
    Mall,
    MallClosed,
    OutOfStock,
    RedemptionNotReserved,
    UnknownItem,
    UnknownPickupCode,
    load_catalogue,
    mall_calendar,
)
from workflow.points import InsufficientPoints, InvalidPointsAction, PointsLedger, PointsPolicy
from workflow.points_models import MallItem, MallRedemption, PointsEntry

UTC = dt.timezone.utc
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
HOLDER = "wx-openid-1"


def shanghai(year, month, day, hour=10, minute=0, second=0) -> dt.datetime:
    """An Asia/Shanghai wall-clock time as aware UTC (Shanghai is UTC+8 all year)."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC) - dt.timedelta(hours=8)


EXCHANGE_DAY = shanghai(2026, 12, 5)


@pytest.fixture
def ledger(session_factory, clock) -> PointsLedger:
    return PointsLedger(session_factory, clock=clock)


@pytest.fixture
def mall(session_factory, clock, ledger) -> Mall:
    with session_factory.begin() as session:
        load_catalogue(session, DATA_DIR, clock.now)
    return Mall(session_factory, clock=clock, ledger=ledger)


def give(session_factory, ledger, holder: str, points: int, source: str | None = None) -> None:
    with session_factory.begin() as session:
        ledger.credit(session, holder, points, kind="activity", source=source or f"test:{holder}:{points}",
                      reason="志愿服务", now=EXCHANGE_DAY)


def set_stock(session_factory, code: str, stock: int) -> None:
    with session_factory.begin() as session:
        session.get(MallItem, code).stock = stock


def stock(session_factory, code: str) -> int:
    with session_factory() as session:
        return session.get(MallItem, code).stock


def ledger_sum(session_factory, holder: str) -> int:
    with session_factory() as session:
        return int(session.execute(select(func.coalesce(func.sum(PointsEntry.amount), 0))
                                   .where(PointsEntry.holder_id == holder)).scalar_one())


# ---------------------------------------------------------------------- catalogue
def test_the_sample_catalogue_is_loaded_by_number(mall):
    items = mall.catalogue()
    assert [(i.number, i.name) for i in items[:3]] == [(1, "洗衣粉"), (2, "食用油"), (3, "毛巾")]
    assert all(item.is_sample and item.price > 0 and item.stock > 0 for item in items)


def test_reloading_the_catalogue_keeps_the_stock(mall, session_factory):
    set_stock(session_factory, "towel", 3)
    with session_factory.begin() as session:
        assert load_catalogue(session, DATA_DIR) == 6
    assert stock(session_factory, "towel") == 3


def test_a_wrong_catalogue_is_refused(session_factory, tmp_path):
    (tmp_path / "points").mkdir()
    for wrong in ("items: [{code: a, number: 1, name: 甲, price: 0, stock: 1}]",
                  "items: [{code: a, number: 1, name: 甲, price: 5, stock: 1}, {code: b, number: 1, name: 乙, "
                  "price: 5, stock: 1}]", "items: 3"):
        (tmp_path / "points" / "catalogue.yml").write_text(wrong, encoding="utf-8")
        with pytest.raises(ReferenceDataError):
            with session_factory.begin() as session:
                load_catalogue(session, tmp_path)


@pytest.mark.parametrize("wanted,code", [(3, "towel"), ("3", "towel"), ("3号", "towel"), ("第3号", "towel"),
                                         ("毛巾", "towel"), ("大米", "rice_5kg"), ("cooking_oil", "cooking_oil")])
def test_a_resident_names_an_item_by_number_or_name(mall, wanted, code):
    assert mall.find_item(wanted).code == code


@pytest.mark.parametrize("wanted", ["99", "电视机", "洗", ""])
def test_an_unknown_or_ambiguous_item_is_refused(mall, wanted):
    with pytest.raises(UnknownItem) as raised:
        mall.find_item(wanted)
    if wanted == "洗":
        assert sorted(raised.value.context["candidates"]) == ["洗洁精", "洗衣粉"]


# ---------------------------------------------------------------------- redeeming on the 5th
def test_a_redemption_spends_points_and_stock_and_gives_a_pickup_code(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 120)
    before = stock(session_factory, "washing_powder")
    redemption = mall.redeem(HOLDER, "洗衣粉", 2, now=EXCHANGE_DAY)
    assert (redemption.item_name, redemption.quantity, redemption.points, redemption.status) == (
        "洗衣粉", 2, 100, "reserved")
    assert (redemption.first_day, redemption.last_day) == (dt.date(2026, 12, 7), dt.date(2026, 12, 14))
    assert len(redemption.pickup_code) == 6 and set(redemption.pickup_code) <= set(PICKUP_ALPHABET)
    assert stock(session_factory, "washing_powder") == before - 2
    assert ledger.balance(HOLDER) == 20 == ledger_sum(session_factory, HOLDER)
    spend = ledger.entries(HOLDER, limit=1)[0]
    assert (spend.kind, spend.amount, spend.source) == ("redemption", -100, f"redemption:{redemption.id}")
    assert mall.redemptions_of(HOLDER) == [redemption]
    assert mall.redemption(redemption.pickup_code.lower()) == redemption


def test_pickup_codes_are_unique_and_unambiguous(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 20 * 60)
    codes = {mall.redeem(HOLDER, "香皂", 1, now=EXCHANGE_DAY).pickup_code for _ in range(60)}
    assert len(codes) == 60
    assert not set("".join(codes)) & set("0O1IL2Z5S8B")


@pytest.mark.parametrize(
    "now,next_exchange",
    [
        (shanghai(2026, 12, 4, 23, 59, 59), dt.date(2026, 12, 5)),  # a second before the 5th
        (shanghai(2026, 12, 6, 0, 0), dt.date(2027, 1, 5)),  # just after: next month, next year
        (shanghai(2026, 12, 1, 9), dt.date(2026, 12, 5)),
        (shanghai(2027, 1, 31, 12), dt.date(2027, 2, 5)),
    ],
    ids=["23:59:59 on the 4th", "00:00 on the 6th", "the 1st", "31 January"],
)
def test_redemption_is_refused_outside_the_5th_with_the_next_exchange_day(mall, ledger, session_factory, now,
                                                                          next_exchange):
    give(session_factory, ledger, HOLDER, 100)
    with pytest.raises(MallClosed) as raised:
        mall.redeem(HOLDER, 1, now=now)
    assert raised.value.next_exchange == next_exchange
    assert raised.value.context["next_exchange"] == next_exchange.isoformat()
    assert raised.value.text_zh.startswith("积分兑换每月5日开放，下一个兑换日是")
    assert ledger.balance(HOLDER) == 100 and mall.redemptions_of(HOLDER) == []


def test_the_closed_message_names_the_day_in_chinese(mall):
    with pytest.raises(MallClosed) as raised:
        mall.redeem(HOLDER, 1, now=shanghai(2026, 11, 30))
    assert raised.value.text_zh == "积分兑换每月5日开放，下一个兑换日是2026年12月5日（星期六）。"


@pytest.mark.parametrize("now", [shanghai(2026, 12, 5, 0, 0), shanghai(2026, 12, 5, 23, 59, 59)],
                         ids=["00:00", "23:59:59"])
def test_the_whole_shanghai_5th_is_open(mall, ledger, session_factory, now):
    give(session_factory, ledger, HOLDER, 100)
    assert mall.redeem(HOLDER, 1, now=now).status == "reserved"


def test_the_utc_date_does_not_decide(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 100)
    # 16:30 UTC on the 4th is 00:30 on the 5th in Shanghai: open. 16:30 UTC on the 5th is the 6th: closed.
    assert mall.redeem(HOLDER, 1, now=dt.datetime(2026, 12, 4, 16, 30, tzinfo=UTC)).status == "reserved"
    with pytest.raises(MallClosed):
        mall.redeem(HOLDER, 1, now=dt.datetime(2026, 12, 5, 16, 30, tzinfo=UTC))


def test_not_enough_points_writes_nothing(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 119)
    before = stock(session_factory, "cooking_oil")
    with pytest.raises(InsufficientPoints) as raised:
        mall.redeem(HOLDER, 2, now=EXCHANGE_DAY)
    assert raised.value.context["needed"] == 120 and raised.value.context["balance"] == 119
    assert stock(session_factory, "cooking_oil") == before and mall.redemptions_of(HOLDER) == []
    assert ledger.balance(HOLDER) == 119


def test_a_holder_without_an_account_is_refused_for_points(mall, ledger):
    with pytest.raises(InsufficientPoints):
        mall.redeem("wx-new", 4, now=EXCHANGE_DAY)


def test_not_enough_stock_is_refused(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 1000)
    set_stock(session_factory, "rice_5kg", 1)
    with pytest.raises(OutOfStock) as raised:
        mall.redeem(HOLDER, "大米", 2, now=EXCHANGE_DAY)
    assert raised.value.context == {"item": "rice_5kg", "name": "大米（5公斤）", "stock": 1, "wanted": 2}
    assert mall.redeem(HOLDER, "大米", 1, now=EXCHANGE_DAY).points == 150
    with pytest.raises(OutOfStock):
        mall.redeem(HOLDER, "大米", 1, now=EXCHANGE_DAY)
    assert stock(session_factory, "rice_5kg") == 0 and ledger.balance(HOLDER) == 850


@pytest.mark.parametrize("quantity", [0, 6, 1.0, True])
def test_quantity_is_one_to_the_policy_s_maximum(mall, quantity):
    with pytest.raises(InvalidPointsAction):
        mall.redeem(HOLDER, 1, quantity, now=EXCHANGE_DAY)


def test_restock_adds_pieces(mall, session_factory):
    set_stock(session_factory, "towel", 0)
    assert mall.restock("毛巾", 10).stock == 10


# ---------------------------------------------------------------------- collection 7th–14th
@pytest.fixture
def reserved(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 100)
    return mall.redeem(HOLDER, "毛巾", 2, now=EXCHANGE_DAY)  # 60 points


@pytest.mark.parametrize("now", [shanghai(2026, 12, 6, 23, 59, 59), shanghai(2026, 12, 15, 0, 0),
                                 shanghai(2027, 1, 8)], ids=["end of the 6th", "start of the 15th", "next month"])
def test_collection_outside_the_7th_to_the_14th_is_refused(mall, reserved, now):
    with pytest.raises(CollectionClosed) as raised:
        mall.collect(reserved.pickup_code, now=now)
    assert raised.value.context["first_day"] == "2026-12-07" and raised.value.context["last_day"] == "2026-12-14"


@pytest.mark.parametrize("now", [shanghai(2026, 12, 7, 0, 0), shanghai(2026, 12, 14, 23, 59, 59)],
                         ids=["00:00 on the 7th", "23:59:59 on the 14th"])
def test_collection_on_the_7th_to_the_14th_inclusive(mall, reserved, now):
    collected = mall.collect(f" {reserved.pickup_code.lower()} ", now=now, by="超市-王")
    assert (collected.status, collected.collected_at, collected.collected_by) == ("collected", now, "超市-王")
    with pytest.raises(RedemptionNotReserved) as raised:
        mall.collect(reserved.pickup_code, now=now)
    assert raised.value.context["status"] == "collected"


def test_an_unknown_pickup_code_is_refused(mall):
    with pytest.raises(UnknownPickupCode):
        mall.collect("AAAAAA", now=shanghai(2026, 12, 8))


# ---------------------------------------------------------------------- returning what was not collected
def test_uncollected_goods_go_back_to_stock_and_points_are_refunded_from_the_15th(
    mall, ledger, session_factory, reserved, outbox
):
    other = mall.redeem(HOLDER, "香皂", 1, now=EXCHANGE_DAY)  # 20 points; collected below
    mall.collect(other.pickup_code, now=shanghai(2026, 12, 10))
    before = stock(session_factory, "towel")
    assert mall.return_uncollected(now=shanghai(2026, 12, 14, 23, 59, 59)) == []  # the 14th is still open
    (returned,) = mall.return_uncollected(now=shanghai(2026, 12, 15, 0, 0))
    assert (returned.pickup_code, returned.status, returned.returned_at) == (
        reserved.pickup_code, "returned", shanghai(2026, 12, 15, 0, 0))
    assert stock(session_factory, "towel") == before + 2
    assert ledger.balance(HOLDER) == 100 - 60 - 20 + 60 == ledger_sum(session_factory, HOLDER)
    refund = ledger.entries(HOLDER, limit=1)[0]
    assert (refund.kind, refund.amount, refund.source) == ("refund", 60, f"redemption:{reserved.id}:refund")
    (notice,) = [m for m in outbox.messages_for_resident(HOLDER) if m.kind == "redemption_returned"]
    assert notice.text == (f"【兑换退回】您兑换的毛巾×2（取货码{reserved.pickup_code}）未在12月7日至14日领取，"
                           "已退回，返还60积分。当前积分余额80分。")
    # Idempotent: again, and later, nothing more.
    assert mall.return_uncollected(now=shanghai(2026, 12, 16)) == []
    assert stock(session_factory, "towel") == before + 2 and ledger.balance(HOLDER) == 80
    with pytest.raises(RedemptionNotReserved):
        mall.collect(reserved.pickup_code, now=shanghai(2026, 12, 16))
    assert [r.status for r in mall.redemptions_of(HOLDER)] == ["collected", "returned"]


def test_a_refund_pays_off_owed_points_first(mall, ledger, session_factory, reserved, case_service, lifecycle):
    from workflow.models import Case
    from workflow.points_models import PointsAccount

    with session_factory.begin() as session:  # 30 owed from an earlier reversal
        session.get(PointsAccount, HOLDER).owed = 30
    mall.return_uncollected(now=shanghai(2026, 12, 15))
    summary = ledger.summary(HOLDER)
    assert (summary.balance, summary.owed) == (40 + 60 - 30, 0)
    assert [e.kind for e in summary.entries[:2]] == ["settlement", "refund"]


def test_the_calendar_for_the_bot(mall):
    days = mall.calendar(now=shanghai(2026, 12, 9))
    assert (days.is_exchange_day, days.next_exchange, days.is_collection_day) == (False, dt.date(2027, 1, 5), True)
    assert (days.collection_first_day, days.collection_last_day) == (dt.date(2026, 12, 7), dt.date(2026, 12, 14))
    policy = PointsPolicy(exchange_day=1, collection_days=(2, 28))
    assert mall_calendar(shanghai(2027, 2, 1), policy).is_exchange_day


# ---------------------------------------------------------------------- concurrency (PostgreSQL)
def run_together(n: int, action) -> list[str]:
    barrier, outcomes, lock = threading.Barrier(n), [], threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            action(i)
            outcome = "ok"
        except (OutOfStock, InsufficientPoints) as refused:
            outcome = refused.code
        except Exception as error:  # noqa: BLE001 - reported by the assertion
            outcome = repr(error)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_twenty_concurrent_redemptions_of_five_pieces_sell_exactly_five(mall, ledger, session_factory):
    for i in range(20):
        give(session_factory, ledger, f"wx-{i}", 200)
    set_stock(session_factory, "cooking_oil", 5)
    outcomes = run_together(20, lambda i: mall.redeem(f"wx-{i}", "食用油", now=EXCHANGE_DAY))
    assert outcomes == ["ok"] * 5 + ["out_of_stock"] * 15
    assert stock(session_factory, "cooking_oil") == 0
    with session_factory() as session:
        assert session.execute(select(func.count(MallRedemption.id))).scalar_one() == 5
    assert sum(ledger.balance(f"wx-{i}") for i in range(20)) == 20 * 200 - 5 * 120


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_holder_with_points_for_two_redeeming_five_times_at_once_gets_two(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 100)  # 2 × 洗衣粉 at 50
    outcomes = run_together(5, lambda i: mall.redeem(HOLDER, "洗衣粉", now=EXCHANGE_DAY))
    assert outcomes == ["insufficient_points"] * 3 + ["ok"] * 2
    assert ledger.balance(HOLDER) == 0 == ledger_sum(session_factory, HOLDER)
    assert len(mall.redemptions_of(HOLDER)) == 2 and stock(session_factory, "washing_powder") == 38


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_one_holder_redeeming_different_items_at_once_never_overspends(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 100)
    items = ["洗衣粉", "毛巾", "香皂", "洗洁精", "食用油", "洗衣粉", "毛巾", "香皂"]
    outcomes = run_together(len(items), lambda i: mall.redeem(HOLDER, items[i], now=EXCHANGE_DAY))
    assert all(o in ("ok", "insufficient_points") for o in outcomes), outcomes
    spent = sum(r.points for r in mall.redemptions_of(HOLDER))
    assert spent <= 100 and ledger.balance(HOLDER) == 100 - spent == ledger_sum(session_factory, HOLDER)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_return_jobs_refund_once(mall, ledger, session_factory, reserved):
    outcomes = run_together(4, lambda i: mall.return_uncollected(now=shanghai(2026, 12, 15)))
    assert outcomes == ["ok"] * 4
    assert ledger.balance(HOLDER) == 100 and stock(session_factory, "towel") == 60
