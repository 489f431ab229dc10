"""Helpers for action tests: trackers built by hand and what the dispatcher said."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

DOMAIN: Dict[str, Any] = {"forms": {"report_form": {"required_slots": ["township", "phone", "confirmed"]}},
                          "slots": {}}


def make_tracker(
    text: str = "",
    *,
    slots: Optional[Dict[str, Any]] = None,
    intent: str = "report_issue",
    entities: Optional[List[Dict[str, Any]]] = None,
    parse_extra: Optional[Dict[str, Any]] = None,
    sender: str = "resident-1",
    channel: str = "rest",
    active_loop: Optional[str] = None,
    message_id: Optional[str] = None,
) -> Tracker:
    """A tracker whose latest message is ``text`` with the given intent, entities and extra parse data."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or [],
              **(parse_extra or {})}
    if message_id:
        latest["message_id"] = message_id
    events = [{"event": "user", "text": text, "parse_data": latest, "input_channel": channel}]
    if active_loop is None and slots and slots.get("requested_slot"):
        active_loop = "report_form"
    return Tracker(sender, dict(slots or {}), latest, events, False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


def said(dispatcher: CollectingDispatcher) -> str:
    """Everything the actions told the resident, texts and response names, one per line."""
    return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)


def slots_of(events) -> Dict[str, Any]:
    """The slots the action's events set, ``{name: value}`` (the last value of each)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
