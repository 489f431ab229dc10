"""What the channels send besides text: a shared location and images (WeChat location and image messages).

The WeChat channel (``bot/channels/wechat.py``) turns them into ``/share_location{"latitude": …, "longitude": …,
"location_label": …}`` and ``/share_image{"media_id": …, "pic_url": …}``; these actions give them meaning:

- a location is resolved to the nearest village or township (:class:`workflow.geo.PlaceLocator`) and fills the
  report's place, now (a report in progress) or for the next report;
- an image becomes evidence: of the report in progress, else of the case the resident filed a moment ago (within
  :data:`RECENT_CASE_SECONDS`), else it waits for the next report.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import constants as c
from actions import services
from workflow.cases import MAX_ATTACHMENTS
from workflow.exceptions import JuhaobanError
from workflow.geo import VILLAGE_RADIUS_KM

logger = logging.getLogger(__name__)

#: An image sent this soon (seconds) after a case was filed is taken as that case's evidence.
RECENT_CASE_SECONDS = 30 * 60


def _entity(tracker: Tracker, name: str) -> Any:
    return next(tracker.get_latest_entity_values(name), None)


def _number(value: Any) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _reporting(tracker: Tracker) -> bool:
    """True while a report is being taken (the report form is active)."""
    return (tracker.active_loop or {}).get("name") == c.FORM_REPORT


class ActionShareLocation(Action):
    """Resolves a shared location to a village or township and fills the report's place with it."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_SHARE_LOCATION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Sets ``township``, ``village`` and ``shared_location``; says where the resident is.

        Outside the county (farther than the county radius from every known place) nothing is filled and the
        resident is asked for the township instead.
        """
        latitude = _number(_entity(tracker, c.ENTITY_LATITUDE))
        longitude = _number(_entity(tracker, c.ENTITY_LONGITUDE))
        label = str(_entity(tracker, c.ENTITY_LOCATION_LABEL) or "").strip()[:256]
        try:
            place = services.get().locator.nearest(latitude, longitude)
        except (ValueError, TypeError):
            dispatcher.utter_message(text="没能读出这个位置，请直接说一下是哪个乡镇、哪个村。")
            return []
        if not place.inside_county:
            dispatcher.utter_message(
                text=f"这个位置{('（' + label + '）') if label else ''}不在巨鹿县范围内，"
                     f"离最近的乡镇约{place.distance_km:.0f}公里。请说一下事情发生在哪个乡镇。")
            return []
        where = place.describe() + ("" if place.village or place.distance_km <= VILLAGE_RADIUS_KM else "一带")
        shared = {"township": place.township.name, "village": place.village.name if place.village else None,
                  "latitude": latitude, "longitude": longitude, "label": label or None}
        events: List[EventType] = [SlotSet(c.SLOT_SHARED_LOCATION, shared)]
        if _reporting(tracker) or not tracker.get_slot(c.SLOT_DESCRIPTION):
            events += [SlotSet(c.SLOT_TOWNSHIP, place.township.name),
                       SlotSet(c.SLOT_VILLAGE, place.village.name if place.village else None)]
        told = f"收到您的位置{('：' + label) if label else ''}，在{where}。"
        if not _reporting(tracker):
            told += "请说一下遇到了什么问题，我帮您登记。"
        dispatcher.utter_message(text=told)
        return events


class ActionAttachEvidence(Action):
    """Keeps an image as evidence of the report in progress, of a case just filed, or of the next report."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_ATTACH_EVIDENCE

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        """Adds the image to ``evidence`` (or to the case just filed) and tells the resident where it went."""
        media_id = str(_entity(tracker, c.ENTITY_MEDIA_ID) or "").strip() or None
        url = str(_entity(tracker, c.ENTITY_PIC_URL) or "").strip() or None
        if media_id is None and url is None:
            dispatcher.utter_message(text="图片没有收到，请再发一次。")
            return []
        attachment = {"kind": "image", "source": tracker.get_latest_input_channel() or "unknown",
                      "media_id": media_id, "url": url}
        evidence = list(tracker.get_slot(c.SLOT_EVIDENCE) or [])
        if not _reporting(tracker):
            recent = _recent_case(tracker)
            if recent is not None:
                try:
                    services.get().cases.add_attachment(recent, tracker.sender_id, attachment)
                except JuhaobanError as error:
                    logger.info("could not attach to %s: %s", recent, error)
                else:
                    dispatcher.utter_message(text=f"照片已附到工单 {recent}，办理单位能看到。")
                    return []
        if len(evidence) >= MAX_ATTACHMENTS:
            dispatcher.utter_message(text=f"一件事最多附{MAX_ATTACHMENTS}张照片，这张没有再附上。")
            return []
        evidence.append(attachment)
        if _reporting(tracker):
            dispatcher.utter_message(text=f"照片收到了（第{len(evidence)}张），会附在这次反映的工单里。")
        else:
            dispatcher.utter_message(text="照片收到了。请再说一下遇到了什么问题、在哪里，照片会附在工单里。")
        return [SlotSet(c.SLOT_EVIDENCE, evidence)]


def _recent_case(tracker: Tracker) -> Optional[str]:
    """The case this conversation filed within :data:`RECENT_CASE_SECONDS`, if any."""
    case_id = tracker.get_slot(c.SLOT_LAST_CASE_ID)
    if not case_id:
        return None
    try:
        case = services.get().cases.get_case(case_id, reporter_id=tracker.sender_id)
    except JuhaobanError:
        return None
    age = services.get().cases.now() - case.created_at
    return case.case_id if age.total_seconds() <= RECENT_CASE_SECONDS else None
