"""Points in the conversation (积分善治, issue 6): "我的积分", "积分能换什么", redeem, "我的兑换".

Flow (rules in ``data/core/rules.yml``)::

    ask_points       → action_points_summary      balance, points owed, the last entries, the next exchange day
    ask_mall_items   → action_mall_catalogue      numbered items with price and stock
    redeem_item      → action_start_redemption    → redeem_form(confirmed) → action_submit_redemption
    ask_redemptions  → action_my_redemptions      pickup codes and collection days

The holder of the points is the conversation's sender id (:mod:`workflow.points`). A redemption spends points, so
the bot always states item, price and balance and waits for "确认" (the form) before it calls
:meth:`workflow.mall.Mall.redeem`; only the exchange day (the 5th, Asia/Shanghai) redeems, other days the bot says
when. The redemption is keyed on the confirming message (``request_id``): a retried action redeems once.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

import cn2an
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import constants as c
from actions import services
from bot.nlu.normalize import clean_text
from workflow.mall import MallClosed, OutOfStock, UnknownItem, format_day_zh
from workflow.points import SHANGHAI, InsufficientPoints, PointsError

logger = logging.getLogger(__name__)

#: Entries "我的积分" lists (newest first).
ENTRIES_SHOWN = 5
#: Redemptions "我的兑换" lists (newest first).
REDEMPTIONS_SHOWN = 5

_NUMBER = re.compile(r"(?:第|#)?\s*(\d{1,3})\s*(?:号|个|项|样|#)")
_LONE_NUMBER = re.compile(r"(?<!\d)(\d{1,3})(?!\d)")
_CN_NUMBER = re.compile(r"第?([一二两三四五六七八九十]{1,3})\s*(?:号|个|项|样)")
_NO = ("不换", "不要", "不了", "不行", "不用", "算了", "不兑", "取消", "别换", "不对", "不是")
_YES = ("确认", "确定", "换", "好", "要", "行", "可以", "对", "是", "嗯", "ok", "OK")
_STATUS_ZH = {"reserved": "待领取", "collected": "已领取", "returned": "未领取已退回，积分已退还"}
_KIND_ZH = {"report": "反映", "reversal": "撤销", "activity": "志愿活动", "redemption": "兑换", "refund": "退还",
            "settlement": "抵扣"}


def _signed(amount: int) -> str:
    return f"+{amount}" if amount > 0 else str(amount)


def _local_day(moment) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日"


def exchange_sentence(now=None) -> str:
    """When the mall redeems and hands out, from today: ``每月5日兑换（下次：2027年1月5日（星期二）），7日至14日领取。``"""
    mall = services.get().mall
    days = mall.calendar(now)
    first, last = mall.policy.collection_days
    when = "今天就是兑换日" if days.is_exchange_day else f"下次：{format_day_zh(days.next_exchange)}"
    return f"每月{mall.policy.exchange_day}日兑换（{when}），{first}日至{last}日领取。"


def wanted_item(tracker: Tracker) -> Optional[str]:
    """What the resident asked to redeem: the ``mall_item`` entity, else a number ("2号", "第三个", "换3"),
    else None. Numbers are returned as digit strings (what :meth:`Mall.find_item` reads)."""
    entity = next(tracker.get_latest_entity_values(c.ENTITY_MALL_ITEM), None)
    if entity:
        return str(entity)
    text = clean_text(tracker.latest_message.get("text") or "")
    found = _NUMBER.search(text)
    if found:
        return found.group(1)
    spoken = _CN_NUMBER.search(text)
    if spoken:
        try:
            return str(int(cn2an.cn2an(spoken.group(1), "smart")))
        except ValueError:
            return None
    digits = _LONE_NUMBER.findall(text)
    return digits[0] if len(digits) == 1 else None


class ActionPointsSummary(Action):
    """"我的积分": balance, points still owed, the last entries and the next exchange day."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_POINTS_SUMMARY

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Utters the summary; on a database error an apology (nothing is changed by this action)."""
        try:
            summary = services.get().points.summary(tracker.sender_id, limit=ENTRIES_SHOWN)
            exchange = exchange_sentence()
        except Exception:
            logger.exception("Reading the points of %s failed", tracker.sender_id)
            dispatcher.utter_message(text="抱歉，积分暂时查不到，请稍后再试。")
            return []
        lines = [f"您现在有 {summary.balance} 积分。"]
        if summary.owed:
            lines.append(f"另有 {summary.owed} 分待抵扣（撤销的反映积分，从以后得到的积分里扣）。")
        if summary.entries:
            lines.append("最近的积分记录：")
            lines += [f"· {_local_day(e.at)} {e.reason} {_signed(e.amount)}" for e in summary.entries]
        else:
            lines.append("还没有积分记录。反映的问题经受理确认有效，按重要程度可得10、20、30分；参加志愿活动也能得分。")
        lines.append(exchange + "发“积分能换什么”看可兑换的物品。")
        dispatcher.utter_message(text="\n".join(lines))
        return []


class ActionMallCatalogue(Action):
    """"积分能换什么": the numbered catalogue with prices and stock, and how to redeem."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_MALL_CATALOGUE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Utters the catalogue (sold-out items marked); the resident's balance when there is one."""
        svc = services.get()
        try:
            items = svc.mall.catalogue()
            balance = svc.points.balance(tracker.sender_id)
            exchange = exchange_sentence()
        except Exception:
            logger.exception("Reading the mall catalogue failed")
            dispatcher.utter_message(text="抱歉，积分商城暂时打不开，请稍后再试。")
            return []
        if not items:
            dispatcher.utter_message(text="积分商城暂时没有上架物品，请留意通知。")
            return []
        lines = ["积分商城可兑换：" + ("（示例物品，以本县实际为准）" if any(i.is_sample for i in items) else "")]
        for item in items:
            stock = "已兑完" if item.stock <= 0 else f"剩{item.stock}件"
            lines.append(f"{item.number}. {item.name} — {item.price}分（{stock}）")
        lines.append(f"您现在有 {balance} 积分。{exchange}")
        lines.append("兑换日发送“兑换+序号或名称”，比如“兑换2号”。")
        dispatcher.utter_message(text="\n".join(lines))
        return []


class ActionStartRedemption(Action):
    """Checks a redemption before asking to confirm it: exchange day, the item, stock and balance."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_START_REDEMPTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Sets ``pending_redemption`` ``{"code", "name", "price"}`` and opens ``redeem_form`` when the redemption
        can go through today; otherwise says why (not the exchange day: when it is; unknown item: the numbers;
        too few points: the balance) and opens nothing."""
        svc = services.get()
        try:
            days = svc.mall.calendar()
            if not days.is_exchange_day:
                dispatcher.utter_message(text=(
                    f"积分商城只在每月{svc.mall.policy.exchange_day}日兑换，今天不能兑换。"
                    f"下次兑换日是{format_day_zh(days.next_exchange)}，到时再发“兑换+物品”就行。"))
                return [SlotSet(c.SLOT_PENDING_REDEMPTION, None)]
            wanted = wanted_item(tracker)
            if wanted is None:
                dispatcher.utter_message(text="想换哪一样？请发“兑换+序号或名称”，比如“兑换2号”。发“积分能换什么”看清单。")
                return [SlotSet(c.SLOT_PENDING_REDEMPTION, None)]
            item = svc.mall.find_item(wanted)
            balance = svc.points.balance(tracker.sender_id)
        except UnknownItem as error:
            candidates = (error.context or {}).get("candidates") or []
            hint = f"您说的可能是：{'、'.join(candidates)}，请说得具体一点。" if candidates else "发“积分能换什么”看清单和序号。"
            dispatcher.utter_message(text="积分商城里没找到这一样。" + hint)
            return [SlotSet(c.SLOT_PENDING_REDEMPTION, None)]
        except Exception:
            logger.exception("Preparing a redemption for %s failed", tracker.sender_id)
            dispatcher.utter_message(text="抱歉，积分商城暂时打不开，请稍后再试。")
            return [SlotSet(c.SLOT_PENDING_REDEMPTION, None)]
        if item.stock <= 0:
            dispatcher.utter_message(text=f"{item.name}已经兑完了，可以换别的。发“积分能换什么”看清单。")
            return [SlotSet(c.SLOT_PENDING_REDEMPTION, None)]
        if balance < item.price:
            dispatcher.utter_message(text=f"{item.name}要{item.price}分，您现在有{balance}分，还差{item.price - balance}分。")
            return [SlotSet(c.SLOT_PENDING_REDEMPTION, None)]
        pending = {"code": item.code, "name": item.name, "price": item.price}
        return [SlotSet(c.SLOT_PENDING_REDEMPTION, pending), SlotSet(c.SLOT_CONFIRMED, None),
                ActiveLoop(c.FORM_REDEEM)]


class ActionAskRedeemConfirmed(Action):
    """Asks to confirm the pending redemption: item, price, balance after."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_ASK_REDEEM_CONFIRMED

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Utters the question from ``pending_redemption``."""
        pending = tracker.get_slot(c.SLOT_PENDING_REDEMPTION) or {}
        try:
            balance = services.get().points.balance(tracker.sender_id)
        except Exception:
            balance = None
        after = f"，兑换后剩{balance - pending.get('price', 0)}分" if balance is not None else ""
        dispatcher.utter_message(text=(
            f"确认用{pending.get('price')}积分兑换1件“{pending.get('name')}”吗{after}。"
            "确认请回复“确认”，不换了回复“不换”。"))
        return []


class ValidateRedeemForm(FormValidationAction):
    """"确认" redeems; "不换/不对" ends the form without spending anything."""

    def name(self) -> Text:
        """Action name."""
        return c.VALIDATE_REDEEM_FORM

    def extract_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> Dict[Text, Any]:
        """Words decide over the intent model for this one question: "不换/不要/不了" no, "确认/换/好/要" yes."""
        if tracker.get_slot(c.SLOT_REQUESTED) != c.SLOT_CONFIRMED:
            return {}
        text = clean_text(tracker.latest_message.get("text") or "")
        if any(word in text for word in _NO):
            return {c.SLOT_CONFIRMED: False}
        if any(word in text for word in _YES):
            return {c.SLOT_CONFIRMED: True}
        return {c.SLOT_CONFIRMED: None}  # neither: validate_confirmed asks again (the form is not rejected)

    def validate_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        """True → the form ends and the redemption is submitted; False → nothing is spent, the form ends; an
        answer that is neither → asked again."""
        if value is True:
            return {c.SLOT_CONFIRMED: True}
        if value is None:
            dispatcher.utter_message(text="没看明白，要兑换请回复“确认”，不换了回复“不换”。")
            return {c.SLOT_CONFIRMED: None}
        dispatcher.utter_message(text="好的，这次不兑换了，积分没有动。")
        return {c.SLOT_CONFIRMED: False, c.SLOT_PENDING_REDEMPTION: None}


class ActionSubmitRedemption(Action):
    """Redeems the confirmed item and tells the pickup code and collection days."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_SUBMIT_REDEMPTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Calls :meth:`Mall.redeem` keyed on the confirming message; every refusal is said in Chinese and spends
        nothing (the ledger and the stock change in one transaction)."""
        done = [SlotSet(c.SLOT_PENDING_REDEMPTION, None), SlotSet(c.SLOT_CONFIRMED, None)]
        pending = tracker.get_slot(c.SLOT_PENDING_REDEMPTION)
        if not pending or tracker.get_slot(c.SLOT_CONFIRMED) is not True:
            return done
        svc = services.get()
        try:
            redemption = svc.mall.redeem(tracker.sender_id, pending["code"], 1, request_id=_request_id(tracker))
        except MallClosed as error:
            dispatcher.utter_message(text=f"兑换日已经过了，下次兑换日是{format_day_zh(error.next_exchange)}。")
            return done
        except OutOfStock:
            dispatcher.utter_message(text=f"不巧，{pending['name']}刚刚兑完了，积分没有扣。可以换别的。")
            return done
        except InsufficientPoints as error:
            balance = (error.context or {}).get("balance")
            dispatcher.utter_message(text=f"积分不够了（现有{balance}分），这次没有兑换，积分没有扣。")
            return done
        except PointsError:
            dispatcher.utter_message(text="这一样现在不能兑换了，积分没有扣。发“积分能换什么”看清单。")
            return done
        except Exception:
            logger.exception("Redeeming %s for %s failed", pending.get("code"), tracker.sender_id)
            dispatcher.utter_message(text="抱歉，系统暂时没能完成兑换，积分没有扣。请稍后再发“兑换”试一次。")
            return done
        balance = svc.points.balance(tracker.sender_id)
        dispatcher.utter_message(text=(
            f"兑换成功：{redemption.item_name}×{redemption.quantity}，用了{redemption.points}分，还剩{balance}分。\n"
            f"取货码：{redemption.pickup_code}\n"
            f"请在{_day(redemption.first_day)}至{_day(redemption.last_day)}凭取货码到村里积分超市领取；"
            "过期没领的会退回，积分退还。发“我的兑换”可以再看取货码。"))
        return done


class ActionMyRedemptions(Action):
    """"我的兑换": the last redemptions with their pickup codes, status and collection days."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_MY_REDEMPTIONS

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Utters up to :data:`REDEMPTIONS_SHOWN` redemptions, newest first."""
        try:
            mine = services.get().mall.redemptions_of(tracker.sender_id, limit=REDEMPTIONS_SHOWN)
        except Exception:
            logger.exception("Reading the redemptions of %s failed", tracker.sender_id)
            dispatcher.utter_message(text="抱歉，兑换记录暂时查不到，请稍后再试。")
            return []
        if not mine:
            dispatcher.utter_message(text="您还没有兑换过物品。发“积分能换什么”看看能换什么。")
            return []
        lines = ["您的兑换："]
        for r in mine:
            line = f"· {_local_day(r.redeemed_at)} {r.item_name}×{r.quantity}（{r.points}分）{_STATUS_ZH.get(r.status, r.status)}"
            if r.status == "reserved":
                line += f"，取货码 {r.pickup_code}，{_day(r.first_day)}至{_day(r.last_day)}领取"
            lines.append(line)
        dispatcher.utter_message(text="\n".join(lines))
        return []


def _day(day) -> str:
    return f"{day.month}月{day.day}日"


def _request_id(tracker: Tracker) -> str:
    """The idempotency key of a redemption: the sender and the id of the message that confirmed it (Rasa gives
    every user message a ``message_id``), so the same confirmation never redeems twice."""
    message_id = tracker.latest_message.get("message_id")
    if not message_id:
        for event in reversed(tracker.events):
            if event.get("event") == "user":
                message_id = (event.get("parse_data") or {}).get("message_id") or event.get("message_id") \
                    or str(event.get("timestamp"))
                break
    return f"{tracker.sender_id}:{message_id}"[:128]


__all__ = ["ActionPointsSummary", "ActionMallCatalogue", "ActionStartRedemption", "ActionAskRedeemConfirmed",
           "ValidateRedeemForm", "ActionSubmitRedemption", "ActionMyRedemptions", "exchange_sentence",
           "wanted_item"]
