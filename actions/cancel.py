""""算了 / 不报了 / 取消": ends the report, 帮我办 request or redemption in progress, keeping nothing of it.

Inside a form the extractors refuse a ``cancel`` message (``actions/report.py`` ``_NOT_AN_ANSWER``), the form
rejects it and the rules (``data/core/rules.yml``) send it here. One exception keeps a report alive: asked for a
phone number, "算了" mostly means "no number", so the phone extractor takes it as declining
(:func:`actions.report.declines_the_phone`) unless a word that can only mean stopping is in it ("不报了", "取消").
"""

from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import constants as c
from actions.proxy import PROXY_SLOTS
from actions.report import REPORT_SLOTS

_TOLD = {
    c.FORM_REPORT: "好的，这件事不登记了，刚才说的都没有提交。以后有问题随时说。",
    c.FORM_PROXY: "好的，这次“帮我办”不提交了。需要时再说“帮我办”就行。",
    c.FORM_REDEEM: "好的，这次不兑换了，积分没有动。",
    c.FORM_EXPERT: "好的，先不问专家了。有问题随时说。",
}


class ActionCancel(Action):
    """Cancels the active form (report, 帮我办, redemption) and clears its slots."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_CANCEL

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Deactivates the form and says nothing was submitted; outside a form says there is nothing to cancel."""
        form = (tracker.active_loop or {}).get("name")
        if form not in _TOLD:
            dispatcher.utter_message(text="好的。现在没有正在登记的事项；有问题可以直接说，也可以发工单号查询进度。")
            return [ActiveLoop(None)]
        dispatcher.utter_message(text=_TOLD[form])
        slots = {c.FORM_REPORT: REPORT_SLOTS, c.FORM_PROXY: PROXY_SLOTS,
                 c.FORM_REDEEM: (c.SLOT_PENDING_REDEMPTION, c.SLOT_CONFIRMED),
                 c.FORM_EXPERT: (c.SLOT_EXPERT_QUESTION,)}[form]
        events: List[EventType] = [ActiveLoop(None), SlotSet(c.SLOT_REQUESTED, None)]
        events += [SlotSet(slot, None) for slot in dict.fromkeys(slots)]
        if form == c.FORM_REPORT:
            events += [SlotSet(c.SLOT_EVIDENCE, None), SlotSet(c.SLOT_PATROL_GRID, None)]
        return events
