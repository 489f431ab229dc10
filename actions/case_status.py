"""Answers "我反映的事怎么样了" and case-number queries, only for the resident's own cases."""

from __future__ import annotations

import re
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import constants as c
from actions import services
from actions.replies import polite_error
from bot.nlu.normalize import fold_width
from workflow.exceptions import JuhaobanError
from workflow.status import describe_status

_CASE_ID = re.compile(r"JL\d{8}-\d{4}", re.IGNORECASE)
_MOST_LISTED = 3


class ActionCaseStatus(Action):
    """Tells the resident where their case stands, in plain Chinese."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_CASE_STATUS

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """With a case number: that case if it is the sender's. Without: the sender's latest cases.

        A case of another resident is answered like an unknown one (no information leaks).
        """
        cases = services.get().cases
        found = _CASE_ID.search(fold_width(tracker.latest_message.get("text") or ""))
        case_id = next(tracker.get_latest_entity_values(c.ENTITY_CASE_ID), None) or (found and found.group(0))
        try:
            if case_id:
                case = cases.get_case(case_id, reporter_id=tracker.sender_id)
                dispatcher.utter_message(text=f"工单 {case.case_id}：{describe_status(case)}")
                return [SlotSet(c.SLOT_CASE_ID, None)]
            mine = cases.cases_of_reporter(tracker.sender_id, limit=_MOST_LISTED)
        except JuhaobanError as error:
            dispatcher.utter_message(text=polite_error(error))
            return [SlotSet(c.SLOT_CASE_ID, None)]
        if not mine:
            dispatcher.utter_message(text="还没有查到您反映过的事项。有问题可以直接说，我帮您登记。")
            return []
        lines = [f"· {case.case_id}（{case.description[:20]}）：{describe_status(case)}" for case in mine]
        dispatcher.utter_message(text="您最近反映的事项：\n" + "\n".join(lines))
        return []
