"""Messages the NLU could not place (``nlu_fallback``) or called out of scope, outside a form.

A resident who writes a long message to a county service platform is almost always reporting something, even when
the intent model is unsure (a 2,000-character letter about a pyramid scheme in another province, say). Dropping such a
message with "没看明白" loses a report; so a message of at least :data:`REPORT_MIN_CHARS` meaningful characters is
treated as a report (the category classifier still suggests its category and the resident confirms it, and the
dispatcher can reject it later). A short one gets the usual reply: ``utter_default`` for ``nlu_fallback``,
``utter_out_of_scope`` for ``out_of_scope``, an acknowledgement for a "好的" / "不用了" no rule expects.

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
from actions.report import ActionStartReport
from bot.nlu.normalize import clean_text

#: Meaningful characters (Chinese characters, letters, digits) from which an unclear message is taken as a report.
#: A typical one-line report is 10–30 characters; chit-chat the intent model misses is shorter.
REPORT_MIN_CHARS = 30

#: The answer to a "好的" / "不用了" outside a conversation step that expects one.
ACKNOWLEDGEMENT = "好的。还有别的问题可以直接说，也可以发工单号查询办理进度。"

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
        if intent == c.INTENT_OUT_OF_SCOPE:
            dispatcher.utter_message(response="utter_out_of_scope")
        elif intent in (c.INTENT_AFFIRM, c.INTENT_DENY):
            dispatcher.utter_message(text=ACKNOWLEDGEMENT)
        else:
            dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]
