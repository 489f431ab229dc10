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
