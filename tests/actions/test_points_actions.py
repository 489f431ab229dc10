"""Points in the conversation: "我的积分", "积分能换什么", redeeming on the 5th only (with "确认"), "我的兑换"."""

from __future__ import annotations

import datetime as dt

import pytest
from rasa_sdk.events import ActiveLoop

from actions.points import (
    ActionAskRedeemConfirmed,
    ActionMallCatalogue,
    ActionMyRedemptions,
    ActionPointsSummary,
    ActionStartRedemption,
    ActionSubmitRedemption,
    ValidateRedeemForm,
    wanted_item,
)
from action_support import DOMAIN, make_tracker, said, slots_of

UTC = dt.timezone.utc
SENDER = "wx-resident-7"


def shanghai(year, month, day, hour=10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC) - dt.timedelta(hours=8)


def give(svc, session_factory, points, source="test:volunteer", now=None):
    with session_factory.begin() as session:
        svc.points.credit(session, SENDER, points, kind="activity", source=source, reason="志愿服务：清扫街道",
                          now=now or shanghai(2026, 12, 1))


def tracker(text, **kwargs):
    return make_tracker(text, sender=SENDER, **kwargs)


async def test_my_points_shows_the_balance_the_entries_and_the_next_exchange_day(svc, session_factory, clock,
                                                                                dispatcher):
    clock.now = shanghai(2026, 12, 7)
    give(svc, session_factory, 40)
    await ActionPointsSummary().run(dispatcher, tracker("我的积分", intent="ask_points"), DOMAIN)
    text = said(dispatcher)
    assert "您现在有 40 积分" in text
    assert "志愿服务：清扫街道 +40" in text
    assert "2027年1月5日" in text  # after this month's 5th: next month's


async def test_my_points_without_any_explains_how_to_earn_them(svc, dispatcher):
    await ActionPointsSummary().run(dispatcher, tracker("积分", intent="ask_points"), DOMAIN)
    assert "您现在有 0 积分" in said(dispatcher) and "10、20、30分" in said(dispatcher)


async def test_the_catalogue_lists_numbered_items_with_prices_and_the_balance(svc, session_factory, dispatcher):
    give(svc, session_factory, 70)
    await ActionMallCatalogue().run(dispatcher, tracker("积分能换什么", intent="ask_mall_items"), DOMAIN)
    text = said(dispatcher)
    assert "1. 洗衣粉 — 50分" in text and "2. 食用油 — 120分" in text
    assert "您现在有 70 积分" in text and "示例物品" in text


@pytest.mark.parametrize("text, entity, wanted", [
    ("兑换2号", None, "2"), ("我要换第三个", None, "3"), ("换 5", None, "5"), ("换个洗衣粉", "洗衣粉", "洗衣粉"),
    ("兑换东西", None, None), ("换2号和3号", None, "2"),
])
def test_it_reads_the_item_by_name_or_number(text, entity, wanted):
    entities = [{"entity": "mall_item", "value": entity}] if entity else []
    assert wanted_item(make_tracker(text, intent="redeem_item", entities=entities)) == wanted


async def test_on_another_day_it_says_when_the_mall_redeems_and_opens_nothing(svc, session_factory, clock,
                                                                             dispatcher):
    clock.now = shanghai(2026, 12, 4, 23)  # 23:00 on the 4th in Shanghai is still not the 5th
    give(svc, session_factory, 200)
    events = await ActionStartRedemption().run(dispatcher, tracker("兑换2号", intent="redeem_item"), DOMAIN)
    assert not any(isinstance(e, dict) and e.get("event") == "active_loop" and e.get("name") for e in events)
    assert "每月5日兑换" in said(dispatcher) and "2026年12月5日" in said(dispatcher)
    assert svc.points.balance(SENDER) == 200


async def test_on_the_fifth_it_asks_to_confirm_then_redeems_with_a_pickup_code(svc, session_factory, clock,
                                                                              dispatcher):
    clock.now = shanghai(2026, 12, 5)
    give(svc, session_factory, 200)
    events = await ActionStartRedemption().run(dispatcher, tracker("兑换2号", intent="redeem_item"), DOMAIN)
    assert ActiveLoop("redeem_form") in events
    pending = slots_of(events)["pending_redemption"]
    assert pending["name"] == "食用油" and svc.points.balance(SENDER) == 200  # nothing spent before "确认"

    await ActionAskRedeemConfirmed().run(dispatcher, tracker("", slots={"pending_redemption": pending}), DOMAIN)
    assert "确认用120积分兑换1件“食用油”吗，兑换后剩80分" in said(dispatcher)

    confirming = tracker("确认", intent="affirm", message_id="m-1",
                         slots={"pending_redemption": pending, "confirmed": True, "requested_slot": None})
    await ActionSubmitRedemption().run(dispatcher, confirming, DOMAIN)
    text = said(dispatcher)
    assert "兑换成功：食用油×1，用了120分，还剩80分" in text
    assert "取货码：" in text and "12月7日至12月14日" in text
    assert svc.points.balance(SENDER) == 80

    again = CollectingDispatcherFactory()
    await ActionSubmitRedemption().run(again, confirming, DOMAIN)  # the same confirmation retried
    assert svc.points.balance(SENDER) == 80 and len(svc.mall.redemptions_of(SENDER)) == 1


def CollectingDispatcherFactory():
    from rasa_sdk.executor import CollectingDispatcher

    return CollectingDispatcher()


async def test_too_few_points_says_how_many_are_missing(svc, session_factory, clock, dispatcher):
    clock.now = shanghai(2026, 12, 5)
    give(svc, session_factory, 100)
    events = await ActionStartRedemption().run(dispatcher, tracker("换一桶油", intent="redeem_item",
                                                                   entities=[{"entity": "mall_item", "value": "食用油"}]),
                                               DOMAIN)
    assert ActiveLoop("redeem_form") not in events
    assert "还差20分" in said(dispatcher)


async def test_an_unknown_item_points_to_the_catalogue(svc, clock, dispatcher):
    clock.now = shanghai(2026, 12, 5)
    await ActionStartRedemption().run(dispatcher, tracker("兑换99号", intent="redeem_item"), DOMAIN)
    assert "没找到" in said(dispatcher) and "积分能换什么" in said(dispatcher)


@pytest.mark.parametrize("answer, confirmed", [("确认", True), ("换吧", True), ("不换了", False), ("算了不要了", False),
                                              ("今天天气咋样", None)])
def test_the_confirmation_is_read_from_the_words(answer, confirmed, dispatcher):
    form = ValidateRedeemForm()
    t = tracker(answer, intent="inform", slots={"requested_slot": "confirmed"}, active_loop="redeem_form")
    assert form.extract_confirmed(dispatcher, t, DOMAIN) == {"confirmed": confirmed}


async def test_declining_spends_nothing(svc, session_factory, clock, dispatcher):
    clock.now = shanghai(2026, 12, 5)
    give(svc, session_factory, 200)
    pending = {"code": "cooking_oil", "name": "食用油", "price": 120}
    t = tracker("不换了", intent="deny", slots={"pending_redemption": pending, "requested_slot": "confirmed"},
                active_loop="redeem_form")
    result = ValidateRedeemForm().validate_confirmed(False, dispatcher, t, DOMAIN)
    assert result["pending_redemption"] is None
    await ActionSubmitRedemption().run(dispatcher, tracker("不换了", slots=result), DOMAIN)
    assert svc.points.balance(SENDER) == 200 and "积分没有动" in said(dispatcher)


async def test_my_redemptions_shows_the_pickup_code_and_the_collection_days(svc, session_factory, clock, dispatcher):
    clock.now = shanghai(2026, 12, 5)
    give(svc, session_factory, 100)
    redemption = svc.mall.redeem(SENDER, "洗衣粉")
    await ActionMyRedemptions().run(dispatcher, tracker("我的兑换", intent="ask_redemptions"), DOMAIN)
    text = said(dispatcher)
    assert "洗衣粉×1（50分）待领取" in text and redemption.pickup_code in text and "12月7日至12月14日" in text


async def test_no_redemptions_yet(svc, dispatcher):
    await ActionMyRedemptions().run(dispatcher, tracker("我换的东西呢", intent="ask_redemptions"), DOMAIN)
    assert "还没有兑换过" in said(dispatcher)


def test_an_answer_that_is_neither_is_asked_again(dispatcher):
    t = tracker("今天天气咋样", intent="nlu_fallback", slots={"requested_slot": "confirmed"}, active_loop="redeem_form")
    assert ValidateRedeemForm().validate_confirmed(None, dispatcher, t, DOMAIN) == {"confirmed": None}
    assert "回复“确认”" in said(dispatcher)
