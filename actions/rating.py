"""The resident rates a resolved case: 满意 / 基本满意 / 不满意, also in free words ("还行吧", "根本没解决").

The intent names the rating (``rate_satisfied``, ``rate_basically_satisfied``, ``rate_unsatisfied``) unless the
resident says one of the three offered words outright, which wins (:func:`explicit_rating`); the case is
the one the message names (``case_id`` entity) or else the resident's most recently resolved case. Notifications can
arrive days after the report, in a new Rasa session, so nothing here depends on slots. The rules of what a rating
does (close, reopen, dispatcher review) are ``workflow.lifecycle.CaseLifecycle.rate``'s.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import constants as c
from actions import services
from actions.replies import polite_error
from actions.triage import meaningful_length
from bot.nlu.normalize import clean_text
from workflow.deadlines import format_deadline_zh
from workflow.exceptions import JuhaobanError
from workflow.status import CaseStatus
from workflow.transitions import Actor, Rating

_RATINGS = {
    c.INTENT_RATE_SATISFIED: Rating.SATISFIED,
    c.INTENT_RATE_BASICALLY_SATISFIED: Rating.BASICALLY_SATISFIED,
    c.INTENT_RATE_UNSATISFIED: Rating.UNSATISFIED,
}
#: A rating message longer than this many meaningful characters is also kept as the resident's comment.
COMMENT_MIN_CHARS = 6
#: How many of the resident's latest cases are searched for one awaiting a rating.
_RECENT_CASES = 20


# The three words the bot offers, said outright, decide over the intent model ("办得不错 满意了" must never reopen a
# case). Negated and qualified forms are tried first because "不满意" and "基本满意" contain "满意".
_EXPLICIT = (
    (re.compile(r"(不|没|没有|谈不上|说不上)(太|很|怎么|那么|咋)?满意"), Rating.UNSATISFIED),
    (re.compile(r"(基本|还算|比较|一般|凑合|勉强)(上)?满意"), Rating.BASICALLY_SATISFIED),
    (re.compile(r"满意"), Rating.SATISFIED),
)


def explicit_rating(text: str) -> Optional[Rating]:
    """The rating a resident states in so many words (不满意 / 基本满意 / 满意), or None when they did not."""
    for pattern, rating in _EXPLICIT:
        if pattern.search(text):
            return rating
    return None


def _case_to_rate(tracker: Tracker) -> Optional[str]:
    named = next(tracker.get_latest_entity_values(c.ENTITY_CASE_ID), None)
    if named:
        return named
    cases = services.get().cases.cases_of_reporter(tracker.sender_id, limit=_RECENT_CASES)
    resolved = [case for case in cases if case.status is CaseStatus.RESOLVED]
    if not resolved:
        return None
    return max(resolved, key=lambda case: case.resolved_at or case.updated_at).case_id


class ActionRateCase(Action):
    """Records the resident's rating of their resolved case and says what happens next."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_RATE_CASE

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Rates the case; replies with thanks, the new deadline (reopened) or the review notice."""
        message = tracker.latest_message or {}
        rating = _RATINGS.get((message.get("intent") or {}).get("name"))
        if rating is None:
            return []
        rating = explicit_rating(clean_text(message.get("text") or "")) or rating
        case_id = _case_to_rate(tracker)
        if case_id is None:
            dispatcher.utter_message(text="您目前没有等待评价的工单。如果有新的问题，直接告诉我就行。")
            return []
        text = clean_text(message.get("text") or "")
        comment = text if meaningful_length(text) >= COMMENT_MIN_CHARS else None
        try:
            case = services.get().lifecycle.rate(case_id, Actor.resident(tracker.sender_id), rating, comment=comment)
        except JuhaobanError as error:
            dispatcher.utter_message(text=polite_error(error))
            return []
        dispatcher.utter_message(text=_reply(case, rating))
        return [SlotSet(c.SLOT_LAST_CASE_ID, case.case_id)]


def _reply(case, rating: Rating) -> str:
    if rating is not Rating.UNSATISFIED:
        return f"感谢您的评价（{rating.label}）！工单{case.case_id}已办结归档。有新的问题随时找巨好办。"
    if case.status is CaseStatus.REOPENED:
        return (f"很抱歉这次没有让您满意。工单{case.case_id}已重新交办给{case.lead_unit.name}，"
                f"新的办理时限：{format_deadline_zh(case.deadline)}。")
    return (f"很抱歉还是没有让您满意。工单{case.case_id}已提交县调度中心复核，"
            "工作人员会尽快联系您。")
