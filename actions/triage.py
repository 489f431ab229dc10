"""Messages the NLU could not place (``nlu_fallback``) or called out of scope, outside a form.

A resident who writes a long message to a county service platform is almost always reporting something, even when
the intent model is unsure (a 2,000-character letter about a pyramid scheme in another province, say). Dropping such a
message with "没看明白" loses a report; so a message of at least :data:`REPORT_MIN_CHARS` meaningful characters is
treated as a report (the category classifier still suggests its category and the resident confirms it, and the
dispatcher can reject it later). A short one gets the usual reply: ``utter_default`` for ``nlu_fallback``,
``utter_out_of_scope`` for ``out_of_scope``, an acknowledgement for a "好的" / "不用了" no rule expects.

A short message the intent model found ambiguous between two of its intents (``nlu_fallback`` because the top two
are within the ambiguity threshold) is often a question whose answer only *reads*: "毛巾多少积分一条" hesitates
between 我的积分 and 积分能换什么, "上周报的那个坑填了没有" between a status question and something else. When the
model's best guess is such a read-only question (:data:`READ_ONLY_GUESSES`) with at least
:data:`GUESS_MIN_CONFIDENCE`, its answer is given instead of "没看明白" — it changes nothing, and shows the resident
what the bot can do. A redemption guess is answered with the catalogue (spending is never guessed).

This is also the policies' core fallback action (``config.yml``): after a short reply it returns
``UserUtteranceReverted`` as Rasa's own fallback does, so the message is forgotten and the bot listens again
(without it the same prediction repeats until Rasa's circuit breaker stops the conversation).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import constants as c
from actions.case_status import ActionCaseStatus
from actions.grid_worker import ActionGridCases
from actions.points import ActionMallCatalogue, ActionMyRedemptions, ActionPointsSummary
from actions.report import ActionStartReport
from bot.nlu.normalize import clean_text

#: Meaningful characters (Chinese characters, letters, digits) from which an unclear message is taken as a report.
#: A typical one-line report is 10–30 characters; chit-chat the intent model misses is shorter.
REPORT_MIN_CHARS = 30

#: The answer to a "好的" / "不用了" outside a conversation step that expects one.
ACKNOWLEDGEMENT = "好的。还有别的问题可以直接说，也可以发工单号查询办理进度。"

#: The model's best guess → the action that answers it; each only reads. A guessed redemption shows the catalogue.
READ_ONLY_GUESSES = {
    c.INTENT_ASK_POINTS: ActionPointsSummary,
    c.INTENT_ASK_MALL_ITEMS: ActionMallCatalogue,
    c.INTENT_REDEEM_ITEM: ActionMallCatalogue,
    c.INTENT_ASK_REDEMPTIONS: ActionMyRedemptions,
    c.INTENT_ASK_CASE_STATUS: ActionCaseStatus,
    c.INTENT_ASK_GRID_CASES: ActionGridCases,
}
#: Confidence the best guess needs (the fallback threshold is 0.45; an ambiguous pair sits just around it).
GUESS_MIN_CONFIDENCE = 0.35

_MEANINGFUL = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")


def meaningful_length(text: str) -> int:
    """Number of Chinese characters, letters and digits in ``text`` (width-folded first)."""
    return len(_MEANINGFUL.findall(clean_text(text or "")))


class ActionTriageUnclear(Action):
    """Starts a report from a long unclear message; answers a short one with the fallback or out-of-scope reply."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_TRIAGE_UNCLEAR

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Returns :class:`ActionStartReport`'s events (form activated), or the short reply and
        ``UserUtteranceReverted``."""
        message = tracker.latest_message or {}
        if meaningful_length(message.get("text") or "") >= REPORT_MIN_CHARS:
            return await ActionStartReport().run(dispatcher, tracker, domain)
        intent = (message.get("intent") or {}).get("name")
        guess = best_guess(message)
        if intent == "nlu_fallback" and guess in READ_ONLY_GUESSES:
            return await READ_ONLY_GUESSES[guess]().run(dispatcher, tracker, domain)
        if intent == c.INTENT_OUT_OF_SCOPE:
            dispatcher.utter_message(response="utter_out_of_scope")
        elif intent in (c.INTENT_AFFIRM, c.INTENT_DENY):
            dispatcher.utter_message(text=ACKNOWLEDGEMENT)
        else:
            dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]


def best_guess(message: Dict[str, Any]) -> str | None:
    """The intent model's best intent other than ``nlu_fallback`` when its confidence reaches
    :data:`GUESS_MIN_CONFIDENCE`, else None."""
    ranking = [item for item in message.get("intent_ranking") or [] if item.get("name") != "nlu_fallback"]
    if not ranking or float(ranking[0].get("confidence") or 0.0) < GUESS_MIN_CONFIDENCE:
        return None
    return ranking[0].get("name")
