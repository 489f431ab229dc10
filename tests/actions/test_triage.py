"""Unclear and out-of-scope messages: a long one becomes a report, a short one gets the usual reply."""

from __future__ import annotations

import pytest
from rasa_sdk.events import ActiveLoop, UserUtteranceReverted

from actions.triage import ACKNOWLEDGEMENT, REPORT_MIN_CHARS, ActionTriageUnclear, meaningful_length
from action_support import DOMAIN, make_tracker, said

PARSE = {"category": {"name": "market_regulation", "confidence": 0.31},
         "category_ranking": [{"name": "market_regulation", "confidence": 0.31}],
         "matter_type": {"name": "other", "confidence": 0.8}}
LONG = ("请严厉打击这个传销组织。领导您好，我亲戚五月份被同学以介绍工作为名骗过去，交了三万多块钱，"
        "手机被收走，每天听课拉人头，家里人联系不上，请有关部门尽快查处解救。")


@pytest.mark.parametrize("intent", ["nlu_fallback", "out_of_scope"])
async def test_a_long_unclear_message_becomes_a_report(svc, dispatcher, intent):
    events = await ActionTriageUnclear().run(dispatcher, make_tracker(LONG, intent=intent, parse_extra=PARSE), DOMAIN)
    assert ActiveLoop("report_form") in events
    assert "市场监管" in said(dispatcher)


@pytest.mark.parametrize("intent, reply", [("nlu_fallback", "utter_default"), ("out_of_scope", "utter_out_of_scope")])
async def test_a_short_one_gets_the_usual_reply(svc, dispatcher, intent, reply):
    events = await ActionTriageUnclear().run(dispatcher, make_tracker("明天天气咋样啊", intent=intent,
                                                                       parse_extra=PARSE), DOMAIN)
    assert events == [UserUtteranceReverted()] and said(dispatcher) == reply


@pytest.mark.parametrize("text, intent", [("好的", "affirm"), ("不用了", "deny")])
async def test_a_yes_or_no_no_step_expects_is_acknowledged_and_forgotten(svc, dispatcher, text, intent):
    # As the core fallback: without the revert Rasa predicts the same action again until its circuit breaker
    # stops the conversation (10 replies, then silence for the rest of the session).
    events = await ActionTriageUnclear().run(dispatcher, make_tracker(text, intent=intent, parse_extra=PARSE), DOMAIN)
    assert events == [UserUtteranceReverted()]
    assert said(dispatcher) == ACKNOWLEDGEMENT


def test_length_counts_only_characters_that_carry_meaning():
    assert meaningful_length("😡😡 。。。 ！！") == 0
    assert meaningful_length("ＡＢＣ１２３ 路灯坏了") == 10
    assert meaningful_length(LONG) >= REPORT_MIN_CHARS


def ambiguous(*ranking):
    return {"intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45}]
            + [{"name": name, "confidence": confidence} for name, confidence in ranking], **PARSE}


@pytest.mark.parametrize("text, ranking, shown", [
    ("毛巾多少积分一条", (("ask_mall_items", 0.39), ("ask_points", 0.39)), "积分商城可兑换"),
    ("积分兑一壶油", (("redeem_item", 0.47), ("ask_mall_items", 0.45)), "积分商城可兑换"),
    ("俺还剩几个分", (("ask_points", 0.44), ("ask_mall_items", 0.40)), "您现在有 0 积分"),
    ("我都换过啥东西", (("ask_redemptions", 0.5), ("ask_mall_items", 0.45)), "还没有兑换过"),
])
async def test_an_ambiguous_read_only_question_gets_the_best_guess_answered(svc, dispatcher, text, ranking, shown):
    tracker = make_tracker(text, intent="nlu_fallback", parse_extra=ambiguous(*ranking))
    events = await ActionTriageUnclear().run(dispatcher, tracker, DOMAIN)
    assert shown in said(dispatcher) and events == []
    assert svc.mall.redemptions_of("resident-1") == []  # a guessed redemption never spends


async def test_a_weak_guess_still_gets_the_usual_reply(svc, dispatcher):
    tracker = make_tracker("嗯嗯那个", intent="nlu_fallback", parse_extra=ambiguous(("ask_points", 0.2)))
    await ActionTriageUnclear().run(dispatcher, tracker, DOMAIN)
    assert said(dispatcher) == "utter_default"
