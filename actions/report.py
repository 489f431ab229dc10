"""The report conversation: start a report from the first message, fill the form, confirm, file the case.

Flow (rules in ``data/core/rules.yml``)::

    report_issue → action_start_report → report_form(township → phone → [category_choice] → confirmed)
                 → action_submit_report

The first message already carries the problem, its category and matter type (from the NLU components) and often
the place or a phone number; the form asks only for what is still missing. Actions call ``workflow`` services only.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import constants as c
from actions import services
from actions.choices import parse_choice
from actions.emergency import emergency_advice
from actions.grid_worker import patrol_grid, worker_of
from actions.replies import polite_error
from bot.nlu.normalize import clean_text, has_meaningful_text
from workflow.deadlines import MatterType, format_deadline_zh
from workflow.exceptions import JuhaobanError
from workflow.phones import normalize_phone
from workflow.status import CaseStatus

logger = logging.getLogger(__name__)

# Slots that belong to one report and are cleared when the next one starts or this one is filed.
REPORT_SLOTS = (
    c.SLOT_DESCRIPTION, c.SLOT_CATEGORY, c.SLOT_SUGGESTED_CATEGORY, c.SLOT_CATEGORY_CONFIDENCE,
    c.SLOT_CATEGORY_RANKING, c.SLOT_MATTER_TYPE, c.SLOT_NEEDS_REVIEW, c.SLOT_TOWNSHIP, c.SLOT_VILLAGE,
    c.SLOT_CONFIRMED, c.SLOT_CATEGORY_CHOICE, c.SLOT_AWAITING_CATEGORY_CHOICE, c.SLOT_PATROL_GRID,
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_DECLINE_PHONE = ("不留", "不用", "不想", "不方便", "算了", "没有电话", "没电话", "不给", "别打", "保密", "匿名")


def _ask_again() -> List[EventType]:
    """Re-opens the form at the confirmation, every other slot kept, so "确认" retries the filing."""
    return [SlotSet(c.SLOT_CONFIRMED, None), ActiveLoop(c.FORM_REPORT), SlotSet(c.SLOT_REQUESTED, c.SLOT_CONFIRMED)]


def _valid_phone(value: Any) -> Optional[str]:
    """``value`` normalised when it is a mainland number or the decline marker, else None."""
    if value in (None, c.PHONE_DECLINED):
        return value
    try:
        return normalize_phone(str(value))
    except ValueError:
        return None


def _ask_slot_again(slot: str) -> List[EventType]:
    """Re-opens the form at ``slot`` (cleared) and un-confirms, every other slot kept."""
    return [SlotSet(slot, None), SlotSet(c.SLOT_CONFIRMED, None), ActiveLoop(c.FORM_REPORT),
            SlotSet(c.SLOT_REQUESTED, slot)]


# Report fields the resident can correct in the conversation → the slot that holds each.
_FIELD_SLOTS = {"reporter_phone": c.SLOT_PHONE, "township": c.SLOT_TOWNSHIP}


def _entity(tracker: Tracker, name: str) -> Optional[str]:
    return next(tracker.get_latest_entity_values(name), None)


#: Intents that are not an answer to the form's question: each has its own rule inside the form
#: (data/core/rules.yml), which runs once the form declines the message.
#: Rasa runs an active form first and only lets the rules speak when it rejects the message, so an extractor that
#: took any text as the answer would read "取消" or "我的积分" as a township.
_NOT_AN_ANSWER = (*c.CHANNEL_INTENTS, "request_human", c.INTENT_ASK_CASE_STATUS, c.INTENT_CANCEL,
                  c.INTENT_ASK_POINTS, c.INTENT_ASK_MALL_ITEMS, c.INTENT_ASK_REDEMPTIONS)
#: Words that only mean "stop this report / request" (never "no phone number").
STOP_WORDS = ("不报", "不反映", "不办", "不登记", "取消", "撤回", "撤销", "不弄了", "不要了", "不提交", "刚才的不算")


def _not_an_answer_to_the_form(tracker: Tracker) -> bool:
    """A location or image the channel sent, "转人工", a status or points question, cancelling: not an answer to
    the form."""
    return (tracker.latest_message.get("intent") or {}).get("name") in _NOT_AN_ANSWER


def declines_the_phone(tracker: Tracker) -> bool:
    """At the phone question, "算了" / "不用了" mostly means "no number" (the county's residents often answer so):
    true when a decline word is said and no word that can only mean stopping the report ("不报了", "取消")."""
    text = clean_text(tracker.latest_message.get("text") or "")
    return any(word in text for word in _DECLINE_PHONE) and not any(word in text for word in STOP_WORDS)


def _alternatives(tracker: Tracker) -> List[str]:
    """Category codes to offer after "不对": the NLU ranking without the current category."""
    current = tracker.get_slot(c.SLOT_CATEGORY)
    ranking = tracker.get_slot(c.SLOT_CATEGORY_RANKING) or []
    codes = [item["name"] for item in ranking if item.get("name") and item["name"] != current]
    return codes[: c.ALTERNATIVES_OFFERED]


class ActionStartReport(Action):
    """Opens a report from the resident's first message and activates ``report_form``."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_START_REPORT

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Sets the description, category, ranking and matter type slots, prefills the place, opens the form.

        A message with no letters, digits or Chinese characters (emoji, punctuation) gets a polite request for a
        description instead of a form; one without any Chinese character (English, pinyin) a request to write in
        Chinese or ask for a person.
        """
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        if not has_meaningful_text(text):
            dispatcher.utter_message(response="utter_report_empty")
            return []
        if not _CJK.search(text):  # English, pinyin or digits only: the county's staff read Chinese
            dispatcher.utter_message(response="utter_chinese_please")
            return []
        from actions.proxy import ActionStartProxy, looks_like_proxy  # proxy imports this module

        if looks_like_proxy(text):  # "替我家老太太办个高龄津贴": a 帮我办 request the intent model took for a report
            return await ActionStartProxy().run(dispatcher, tracker, domain)
        svc = services.get()
        category = (message.get("category") or {}).get("name")
        confidence = float((message.get("category") or {}).get("confidence") or 0.0)
        matter_type = (message.get("matter_type") or {}).get("name") or "other"
        place = svc.gazetteer.find_places(clean_text(text))
        township = _entity(tracker, c.ENTITY_TOWNSHIP) or (place.township.name if place.township else None)
        village = _entity(tracker, c.ENTITY_VILLAGE) or (place.village.name if place.village else None)
        shared = tracker.get_slot(c.SLOT_SHARED_LOCATION) or {}
        if township is None and shared.get("township"):  # a location shared before the report (WeChat)
            township, village = shared["township"], village or shared.get("village")
        advice = emergency_advice(matter_type, category)
        if advice:  # before anything else: the case is not the fastest help
            dispatcher.utter_message(text=advice)
        worker = worker_of(tracker)
        patrol = patrol_grid(worker, township, village) if worker is not None else None
        if patrol is not None and township is None:
            township, village = patrol["township"], patrol["village"]
        events: List[EventType] = [SlotSet(slot, None) for slot in REPORT_SLOTS]
        events.append(SlotSet(c.SLOT_PATROL_GRID, patrol))
        # The phone slot fills from any phone-shaped entity; a long report often holds other numbers (a card,
        # a contract, a licence plate) that only look like one. Keep it only when it is a real number.
        # A grid worker is known to the county (their account): no call-back number is asked.
        phone = _valid_phone(tracker.get_slot(c.SLOT_PHONE))
        events.append(SlotSet(c.SLOT_PHONE, c.PHONE_DECLINED if worker is not None and phone is None else phone))
        events += [
            # Stored as the resident wrote it (full-width punctuation kept); matching works on folded copies.
            SlotSet(c.SLOT_DESCRIPTION, unicodedata.normalize("NFC", text).strip()),
            SlotSet(c.SLOT_CATEGORY, category),
            SlotSet(c.SLOT_SUGGESTED_CATEGORY, category),
            SlotSet(c.SLOT_CATEGORY_CONFIDENCE, confidence),
            SlotSet(c.SLOT_CATEGORY_RANKING, message.get("category_ranking") or []),
            SlotSet(c.SLOT_MATTER_TYPE, matter_type),
            SlotSet(c.SLOT_NEEDS_REVIEW, False),
            SlotSet(c.SLOT_TOWNSHIP, township),
            SlotSet(c.SLOT_VILLAGE, village),
        ]
        if patrol is not None:
            dispatcher.utter_message(text=f"收到巡查上报（{patrol['village']}{patrol['grid_name']}）" + (
                f"，初步归为「{svc.categories.name(category)}」类。" if category else "。"))
        elif matter_type == MatterType.POLICY_CONSULTATION.value:
            dispatcher.utter_message(text=_policy_reply(svc, text))
        elif category:
            dispatcher.utter_message(text=f"收到，您反映的问题初步归为「{svc.categories.name(category)}」类。")
        return events + [ActiveLoop(c.FORM_REPORT)]


class ValidateReportForm(FormValidationAction):
    """Extracts and validates the report form's slots; inserts ``category_choice`` after "不对"."""

    def name(self) -> Text:
        """Action name."""
        return c.VALIDATE_REPORT_FORM

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        """township, phone, then category_choice while the resident is choosing another category, then confirmed."""
        slots = [c.SLOT_TOWNSHIP, c.SLOT_PHONE]
        if tracker.get_slot(c.SLOT_AWAITING_CATEGORY_CHOICE):
            slots.append(c.SLOT_CATEGORY_CHOICE)
        return slots + [c.SLOT_CONFIRMED]

    # -- township ---------------------------------------------------------------
    def extract_township(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """When the township was asked, takes the entity or else the whole answer (validated below)."""
        if tracker.get_slot(c.SLOT_REQUESTED) != c.SLOT_TOWNSHIP or _not_an_answer_to_the_form(tracker):
            return {}
        text = clean_text(tracker.latest_message.get("text") or "")
        return {c.SLOT_TOWNSHIP: _entity(tracker, c.ENTITY_TOWNSHIP) or text or None}

    def validate_township(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Resolves a township name, alias or village to the canonical township (and village when named)."""
        gazetteer = services.get().gazetteer
        text = clean_text(str(value or ""))
        township = gazetteer.resolve_township(text)
        village = tracker.get_slot(c.SLOT_VILLAGE)
        latest = clean_text(tracker.latest_message.get("text") or "")
        place = gazetteer.find_places(f"{text} {latest}")
        if township is None and place.township is not None:
            township = place.township
        if township is None:
            shown = text if len(text) <= 20 else text[:20] + "…"
            dispatcher.utter_message(response="utter_unknown_township", township=shown)
            return {c.SLOT_TOWNSHIP: None}
        if place.village is not None and place.village.township_code == township.code:
            village = place.village.name
        return {c.SLOT_TOWNSHIP: township.name, c.SLOT_VILLAGE: village}

    # -- phone ------------------------------------------------------------------
    def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """When the phone was asked: a decline ("不留", also "算了" read as cancelling) or the answer's text
        (validated below)."""
        if tracker.get_slot(c.SLOT_REQUESTED) != c.SLOT_PHONE:
            return {}
        if (tracker.latest_message.get("intent") or {}).get("name") == c.INTENT_CANCEL and declines_the_phone(tracker):
            return {c.SLOT_PHONE: c.PHONE_DECLINED}
        if _not_an_answer_to_the_form(tracker):
            return {}
        text = clean_text(tracker.latest_message.get("text") or "")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == c.INTENT_DENY or any(word in text for word in _DECLINE_PHONE):
            return {c.SLOT_PHONE: c.PHONE_DECLINED}
        return {c.SLOT_PHONE: _entity(tracker, c.ENTITY_PHONE) or text or None}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Keeps ``declined`` or a normalised mainland mobile/landline number; asks again otherwise."""
        if value == c.PHONE_DECLINED:
            return {c.SLOT_PHONE: c.PHONE_DECLINED}
        try:
            return {c.SLOT_PHONE: normalize_phone(str(value or ""))}
        except ValueError:
            dispatcher.utter_message(response="utter_invalid_phone")
            return {c.SLOT_PHONE: None}

    # -- category choice after "不对" --------------------------------------------
    def extract_category_choice(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """When the choice was asked, passes the raw answer on to ``validate_category_choice``."""
        if tracker.get_slot(c.SLOT_REQUESTED) != c.SLOT_CATEGORY_CHOICE or _not_an_answer_to_the_form(tracker):
            return {}
        return {c.SLOT_CATEGORY_CHOICE: tracker.latest_message.get("text") or ""}

    def validate_category_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Applies the chosen category, or hands the choice to a dispatcher; asks again if not understood."""
        categories = services.get().categories
        choice = parse_choice(str(value or ""), _alternatives(tracker), categories.find_in)
        if choice is None:
            dispatcher.utter_message(text="没看明白您选的是哪一项，请回复前面的序号，比如“1”。")
            return {c.SLOT_CATEGORY_CHOICE: None}
        if choice == c.CHOICE_DISPATCHER:
            update = {c.SLOT_CATEGORY: None, c.SLOT_NEEDS_REVIEW: True}
        else:
            update = {c.SLOT_CATEGORY: choice, c.SLOT_NEEDS_REVIEW: False}
        return {**update, c.SLOT_CATEGORY_CHOICE: choice, c.SLOT_AWAITING_CATEGORY_CHOICE: False,
                c.SLOT_CONFIRMED: None}

    # -- confirmation -----------------------------------------------------------
    def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """"对" files the case; "不对" asks which category it is instead."""
        if value is True:
            return {c.SLOT_CONFIRMED: True}
        return {c.SLOT_CONFIRMED: None, c.SLOT_AWAITING_CATEGORY_CHOICE: True, c.SLOT_CATEGORY_CHOICE: None}


class ActionAskConfirmed(Action):
    """Asks the resident to confirm: the problem, the place, the category, the unit and the deadline."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_ASK_CONFIRMED

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Utters the summary computed by ``CaseService.preview`` (the responsibility list and deadline rules)."""
        svc = services.get()
        try:
            preview = svc.cases.preview(
                tracker.get_slot(c.SLOT_CATEGORY),
                tracker.get_slot(c.SLOT_MATTER_TYPE) or "other",
                tracker.get_slot(c.SLOT_TOWNSHIP),
            )
        except JuhaobanError as error:
            dispatcher.utter_message(text=polite_error(error))
            return []
        place = tracker.get_slot(c.SLOT_TOWNSHIP) + (tracker.get_slot(c.SLOT_VILLAGE) or "")
        description = tracker.get_slot(c.SLOT_DESCRIPTION) or ""
        if len(description) > 60:
            description = description[:60] + "…"
        if tracker.get_slot(c.SLOT_NEEDS_REVIEW):
            kind = f"类别：由调度员判断后分派（先交{preview.lead_unit.name}）"
        else:
            cooperating = "、".join(u.name for u in preview.cooperating_units)
            kind = f"类别：{preview.category_name}\n承办单位：{preview.lead_unit.name}" + (
                f"（配合：{cooperating}）" if cooperating else ""
            )
        dispatcher.utter_message(
            text=(
                f"请核对一下：\n问题：{description}\n地点：{place}\n{kind}\n"
                f"办理时限：{format_deadline_zh(preview.deadline)}\n"
                "没问题请回复“对”，类别不对请回复“不对”。"
            )
        )
        return []


class ActionAskCategoryChoice(Action):
    """Offers the next most likely categories, numbered, and a last option: let a dispatcher decide."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_ASK_CATEGORY_CHOICE

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Utters the numbered options (the NLU ranking without the rejected category)."""
        categories = services.get().categories
        options = _alternatives(tracker)
        lines = [f"{i}. {categories.name(code)}" for i, code in enumerate(options, start=1)]
        lines.append(f"{len(options) + 1}. 都不是 / 不确定，交给工作人员判断")
        dispatcher.utter_message(text="那可能是下面哪一类？请回复序号：\n" + "\n".join(lines))
        return []


def _auto_accept(case):
    """The case after auto-acceptance (confident category, not an emergency), or as filed when it waits for a
    dispatcher. A failure here never un-files the report: it is logged and the case waits for a dispatcher."""
    try:
        return services.get().lifecycle.auto_accept(case.case_id)
    except Exception:  # the report is filed; acceptance can happen by hand
        logger.exception("Auto-accepting %s failed; it waits for a dispatcher", case.case_id)
        return case


class ActionSubmitReport(Action):
    """Files the confirmed report as a case and tells the resident its number, unit and deadline."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_SUBMIT_REPORT

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Files the case in one transaction; on failure says so and keeps every slot (nothing is lost)."""
        from workflow.cases import NewReport

        phone = tracker.get_slot(c.SLOT_PHONE)
        patrol = tracker.get_slot(c.SLOT_PATROL_GRID) or {}
        if patrol and patrol.get("township") != tracker.get_slot(c.SLOT_TOWNSHIP):
            patrol = {}  # the worker changed the place: an ordinary report of that place
        report = NewReport(
            kind="patrol" if patrol else "report",
            grid_code=patrol.get("grid_code"),
            description=tracker.get_slot(c.SLOT_DESCRIPTION) or "",
            category_code=tracker.get_slot(c.SLOT_CATEGORY),
            suggested_category_code=tracker.get_slot(c.SLOT_SUGGESTED_CATEGORY),
            category_confidence=tracker.get_slot(c.SLOT_CATEGORY_CONFIDENCE),
            category_ranking=tracker.get_slot(c.SLOT_CATEGORY_RANKING) or [],
            matter_type=tracker.get_slot(c.SLOT_MATTER_TYPE) or "other",
            township=tracker.get_slot(c.SLOT_TOWNSHIP),
            village=tracker.get_slot(c.SLOT_VILLAGE),
            reporter_id=tracker.sender_id,
            reporter_phone=None if phone in (None, c.PHONE_DECLINED) else phone,
            channel=tracker.get_latest_input_channel() or "unknown",
            needs_review=bool(tracker.get_slot(c.SLOT_NEEDS_REVIEW)),
            attachments=list(tracker.get_slot(c.SLOT_EVIDENCE) or []),
            input_mode=_input_mode(tracker),
            **_shared_point(tracker),
        )
        try:
            case = services.get().cases.file_report(report)
        except JuhaobanError as error:
            dispatcher.utter_message(text=polite_error(error))
            slot = _FIELD_SLOTS.get(str((getattr(error, "context", None) or {}).get("field")))
            if slot is not None:
                # Ask for that one answer again (the form's own question follows); the rest stays.
                return _ask_slot_again(slot)
            return _ask_again()
        except Exception:  # the database is down: say so honestly, keep the slots for a retry
            logger.exception("Filing a report for %s failed", tracker.sender_id)
            dispatcher.utter_message(response="utter_submit_failed")
            return _ask_again()
        case = _auto_accept(case)
        unit = case.lead_unit.name if case.lead_unit else "调度中心"
        if case.status is CaseStatus.ACCEPTED:
            told = f"已为您登记并受理，工单号 {case.case_id}。\n由{unit}负责办理，办理时限：{format_deadline_zh(case.deadline)}。"
            told += _points_sentence(tracker.sender_id, case.case_id)
        else:
            told = (f"已为您登记，工单号 {case.case_id}。\n预计由{unit}负责办理；调度员受理后开始计算办理时限，"
                    "受理结果会通知您。")
        dispatcher.utter_message(text=told + "\n办理进展会在这里通知您，也可以随时发送工单号查询。")
        return [SlotSet(slot, None) for slot in REPORT_SLOTS] + [
            SlotSet(c.SLOT_LAST_CASE_ID, case.case_id), SlotSet(c.SLOT_EVIDENCE, None),
            SlotSet(c.SLOT_SHARED_LOCATION, None), SlotSet(c.SLOT_PATROL_GRID, None)]


def _policy_reply(svc, text: str) -> str:
    """A policy question (matter type ``policy_consultation``): the policy base's cited answer when retrieval is confident, and
    in every case the offer of a same-day policy consultation (the form goes on; "算了" ends it). Issue 7: "below a
    confidence threshold the bot says so and files a policy-consultation case (same-day deadline)"."""
    answer = None
    if svc.knowledge is not None:
        try:
            answer = svc.knowledge.answer(text, base="policy")
        except Exception:
            logger.exception("Searching the policy base failed")
    if answer is not None:
        return (f"政策参考：{answer.text}\n还需要工作人员当天答复的话，我帮您登记成政策咨询；不需要就回复“算了”。")
    return "这个政策问题知识库里没有找到有把握的答案，我帮您登记成政策咨询，当天答复。"


def _points_sentence(holder: str, case_id: str) -> str:
    """The points the acceptance just gave (an auto-accepted report is accepted in the conversation, so its
    points are said here rather than pushed): "这次反映有效，获得10积分，当前积分余额30分。"; "" when none."""
    ledger = services.get().points
    if ledger is None:
        return ""
    try:
        entries = ledger.entries(holder, limit=10)
    except Exception:
        logger.exception("Reading the points of %s failed", holder)
        return ""
    source = f"case:{case_id}:report"
    entry = next((e for e in entries if e.source == source), None)
    if entry is None:
        return ""
    if entry.amount > 0:
        return f"\n这次反映有效，获得{entry.amount}积分，当前积分余额{entry.balance_after}分。"
    return f"\n您今天反映问题所得积分已达每日上限，这次不再加分，感谢您的反映！当前积分余额{entry.balance_after}分。"


def _shared_point(tracker: Tracker) -> Dict[str, Any]:
    """The shared location's point and label when it lies in the report's township (else it is about
    somewhere else and is not kept with the case)."""
    shared = tracker.get_slot(c.SLOT_SHARED_LOCATION) or {}
    if not shared or shared.get("township") != tracker.get_slot(c.SLOT_TOWNSHIP):
        return {}
    return {"latitude": shared.get("latitude"), "longitude": shared.get("longitude"),
            "location_label": shared.get("label")}


def _input_mode(tracker: Tracker) -> str:
    """``voice`` when the report's first message was a voice message (the channel's metadata says so)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("text") == tracker.get_slot(c.SLOT_DESCRIPTION):
            return "voice" if (event.get("metadata") or {}).get("message_type") == "voice" else "text"
    return "text"
