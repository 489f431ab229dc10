"""Case updates pushed to a resident (accepted, resolved with a request to rate, reopened, rejected…).

The deliverer (``juhaoban/delivery.py``) calls Rasa's ``POST /conversations/{sender}/trigger_intent`` with intent
``EXTERNAL_case_update`` and the message in the ``notification_text`` entity, choosing the ``output_channel`` the
resident used; this action says it. Going through Rasa keeps the message in the conversation's tracker, where the
dispatcher console and the rating conversation see it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import constants as c


class ActionNotifyCaseUpdate(Action):
    """Says the pushed case update to the resident."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_NOTIFY_CASE_UPDATE

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Utters the ``notification_text`` entity; remembers the case number for a status question that follows."""
        text = next(tracker.get_latest_entity_values(c.ENTITY_NOTIFICATION_TEXT), None)
        if not text:
            return []
        dispatcher.utter_message(text=str(text))
        case_id = next(tracker.get_latest_entity_values(c.ENTITY_CASE_ID), None)
        return [SlotSet(c.SLOT_LAST_CASE_ID, case_id)] if case_id else []
