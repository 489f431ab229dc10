"""帮我办 (proxy service, issue 6): someone asks the grid worker to do a procedure for an elderly or disabled person
or for a relative far away ("帮我家老人办一下高龄补贴", "我在外地打工，家里老人的医保怎么交").

Flow (rules in ``data/core/rules.yml``)::

    request_proxy → action_start_proxy → proxy_form(beneficiary → township → village → phone → confirmed)
                  → action_submit_proxy

What (the matter) is the first message; who (the beneficiary) is read from it when it names a relative ("我家老人",
"俺娘") and asked otherwise; where is the beneficiary's township and village, because the village decides the grid
and so the grid worker who acts (:mod:`workflow.grids`); the requester's phone lets the worker call back. The case is
filed with ``kind="proxy"`` (:class:`workflow.cases.NewReport`): assigned to that grid's worker, first response due
within 2 working days, and the requester hears back at each step through the usual notifications.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import constants as c
from actions import services
from actions.replies import polite_error
from actions.report import ValidateReportForm, _entity, _not_an_answer_to_the_form, _valid_phone
from bot.nlu.normalize import clean_text, has_meaningful_text
from workflow.deadlines import format_deadline_zh
from workflow.exceptions import JuhaobanError

logger = logging.getLogger(__name__)

#: Slots of one 帮我办 request, cleared when it starts, is filed or is cancelled.
PROXY_SLOTS = (c.SLOT_PROXY_MATTER, c.SLOT_BENEFICIARY, c.SLOT_CATEGORY, c.SLOT_SUGGESTED_CATEGORY,
               c.SLOT_CATEGORY_CONFIDENCE, c.SLOT_CATEGORY_RANKING, c.SLOT_MATTER_TYPE, c.SLOT_TOWNSHIP,
               c.SLOT_VILLAGE, c.SLOT_CONFIRMED)

# Who a request is for, as residents name them (kinship terms of the county, Mandarin and Hebei usage).
_KIN = ("老父亲", "老母亲", "老爷子", "老太太", "老人家", "老人", "父母", "爹娘", "父亲", "母亲", "爸爸", "妈妈", "老爸",
        "老妈", "俺爹", "俺娘", "爷爷", "奶奶", "姥姥", "姥爷", "外公", "外婆", "公公", "婆婆", "岳父", "岳母", "老丈人",
        "丈母娘", "老伴", "大爷", "大娘", "叔叔", "婶子", "婶婶", "姑姑", "舅舅", "哥哥", "姐姐", "弟弟", "妹妹",
        "儿子", "闺女", "女儿", "孩子", "爸", "妈", "爹", "娘")
_KIN_PATTERN = re.compile("(?:我家|俺家|我们家|俺们家|家里|家中|我|俺)?(?:的)?(?:" + "|".join(_KIN) + ")")
_MIN_BENEFICIARY_CHARS = 2


_ON_BEHALF = re.compile("(?:代办|帮办|帮我办|(?:帮|替|给)(?:我|俺)?(?:家|们家)?(?:的)?(?:" + "|".join(_KIN) + ")"
                        "(?:的)?.{0,12}?(?:办|申请|交|认证|领))")


def looks_like_proxy(text: str) -> bool:
    """True when the text asks for something to be done *for* someone ("替我家老太太办个高龄津贴", "代办"), which the
    intent model sometimes reads as a report; a complaint about a relative's matter ("我娘的低保一直没发") is not."""
    return bool(_ON_BEHALF.search(clean_text(text or "")))


def beneficiary_in(text: str) -> Optional[str]:
    """The person a request is for when the text names one by kinship ("帮我家老人办…" → ``我家老人``), else None."""
    found = _KIN_PATTERN.search(clean_text(text or ""))
    return found.group(0) if found else None


class ActionStartProxy(Action):
    """Opens a 帮我办 request from the first message and activates ``proxy_form``."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_START_PROXY

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Keeps the message as the matter, reads the beneficiary and place from it, opens the form."""
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        if not has_meaningful_text(text):
            dispatcher.utter_message(response="utter_report_empty")
            return []
        svc = services.get()
        place = svc.gazetteer.find_places(clean_text(text))
        township = _entity(tracker, c.ENTITY_TOWNSHIP) or (place.township.name if place.township else None)
        village = _entity(tracker, c.ENTITY_VILLAGE) or (place.village.name if place.village else None)
        category = (message.get("category") or {}).get("name")
        events: List[EventType] = [SlotSet(slot, None) for slot in PROXY_SLOTS]
        events += [
            SlotSet(c.SLOT_PROXY_MATTER, unicodedata.normalize("NFC", text).strip()),
            SlotSet(c.SLOT_BENEFICIARY, beneficiary_in(text)),
            SlotSet(c.SLOT_CATEGORY, category),
            SlotSet(c.SLOT_SUGGESTED_CATEGORY, category),
            SlotSet(c.SLOT_CATEGORY_CONFIDENCE, float((message.get("category") or {}).get("confidence") or 0.0)),
            SlotSet(c.SLOT_CATEGORY_RANKING, message.get("category_ranking") or []),
            SlotSet(c.SLOT_MATTER_TYPE, (message.get("matter_type") or {}).get("name") or "other"),
            SlotSet(c.SLOT_TOWNSHIP, township),
            SlotSet(c.SLOT_VILLAGE, village),
            SlotSet(c.SLOT_PHONE, _valid_phone(tracker.get_slot(c.SLOT_PHONE))),
        ]
        dispatcher.utter_message(text="好的，这是“帮我办”代办服务：由老人（或家人）所在网格的网格员帮着办，"
                                      "两个工作日内联系您。先问几句。")
        return events + [ActiveLoop(c.FORM_PROXY)]


class ValidateProxyForm(ValidateReportForm):
    """Who the request is for, where they live (township, village), the requester's phone, the confirmation.

    Township and phone are extracted and validated as in the report form (same answers, same replies).
    """

    def name(self) -> Text:
        """Action name."""
        return c.VALIDATE_PROXY_FORM

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        """beneficiary, township, village, phone, confirmed."""
        return [c.SLOT_BENEFICIARY, c.SLOT_TOWNSHIP, c.SLOT_VILLAGE, c.SLOT_PHONE, c.SLOT_CONFIRMED]

    def extract_beneficiary(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        """When asked: the whole answer ("我母亲王秀英，78岁")."""
        if tracker.get_slot(c.SLOT_REQUESTED) != c.SLOT_BENEFICIARY or _not_an_answer_to_the_form(tracker):
            return {}
        return {c.SLOT_BENEFICIARY: clean_text(tracker.latest_message.get("text") or "") or None}

    def validate_beneficiary(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[Text, Any]:
        """At least two meaningful characters, at most 64; asks again otherwise."""
        text = clean_text(str(value or ""))
        if len(text) < _MIN_BENEFICIARY_CHARS:
            dispatcher.utter_message(text="请说一下是帮谁办，比如“我母亲王秀英”。")
            return {c.SLOT_BENEFICIARY: None}
        return {c.SLOT_BENEFICIARY: text[:64]}

    def extract_village(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: DomainDict) -> Dict[Text, Any]:
        """When asked: the village entity or the whole answer."""
        if tracker.get_slot(c.SLOT_REQUESTED) != c.SLOT_VILLAGE or _not_an_answer_to_the_form(tracker):
            return {}
        text = clean_text(tracker.latest_message.get("text") or "")
        return {c.SLOT_VILLAGE: _entity(tracker, c.ENTITY_VILLAGE) or text or None}

    def validate_village(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> Dict[Text, Any]:
        """A village of the township in the gazetteer (its canonical name), else the answer as given (up to 64
        characters: the dispatcher then picks the grid by hand)."""
        text = clean_text(str(value or ""))
        if not text:
            return {c.SLOT_VILLAGE: None}
        gazetteer = services.get().gazetteer
        township = gazetteer.resolve_township(tracker.get_slot(c.SLOT_TOWNSHIP) or "")
        village = gazetteer.resolve_village(text, township.code if township else None)
        if village is None:
            found = gazetteer.find_places(text).village
            if found is not None and (township is None or found.township_code == township.code):
                village = found
        return {c.SLOT_VILLAGE: village.name if village is not None else text[:64]}

    def validate_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        """"对" files the request; "不对" asks who, where and the phone again (the matter is kept)."""
        if value is True:
            return {c.SLOT_CONFIRMED: True}
        dispatcher.utter_message(text="好的，重新说一下。")
        return {c.SLOT_CONFIRMED: None, c.SLOT_BENEFICIARY: None, c.SLOT_TOWNSHIP: None, c.SLOT_VILLAGE: None,
                c.SLOT_PHONE: None}


class ActionAskProxyConfirmed(Action):
    """Asks the requester to confirm: for whom, what, where, who will act, by when."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_ASK_PROXY_CONFIRMED

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Utters the summary."""
        matter = tracker.get_slot(c.SLOT_PROXY_MATTER) or ""
        if len(matter) > 60:
            matter = matter[:60] + "…"
        phone = tracker.get_slot(c.SLOT_PHONE)
        dispatcher.utter_message(text=(
            "请核对一下“帮我办”：\n"
            f"帮谁办：{tracker.get_slot(c.SLOT_BENEFICIARY)}\n"
            f"办什么：{matter}\n"
            f"住址：{tracker.get_slot(c.SLOT_TOWNSHIP) or ''}{tracker.get_slot(c.SLOT_VILLAGE) or ''}\n"
            f"您的电话：{'不留' if phone in (None, c.PHONE_DECLINED) else phone}\n"
            "由所在网格的网格员代办，两个工作日内联系您。没问题请回复“对”，要改回复“不对”。"))
        return []


class ActionSubmitProxy(Action):
    """Files the confirmed 帮我办 request as a ``proxy`` case and says who acts and by when."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_SUBMIT_PROXY

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Files the case in one transaction; on failure says so and keeps every slot (nothing is lost)."""
        from workflow.cases import NewReport

        phone = tracker.get_slot(c.SLOT_PHONE)
        category = tracker.get_slot(c.SLOT_CATEGORY)
        request = NewReport(
            kind="proxy",
            beneficiary=tracker.get_slot(c.SLOT_BENEFICIARY),
            description=tracker.get_slot(c.SLOT_PROXY_MATTER) or "",
            category_code=category,
            suggested_category_code=tracker.get_slot(c.SLOT_SUGGESTED_CATEGORY),
            category_confidence=tracker.get_slot(c.SLOT_CATEGORY_CONFIDENCE),
            category_ranking=tracker.get_slot(c.SLOT_CATEGORY_RANKING) or [],
            matter_type=tracker.get_slot(c.SLOT_MATTER_TYPE) or "other",
            needs_review=category is None,
            township=tracker.get_slot(c.SLOT_TOWNSHIP),
            village=tracker.get_slot(c.SLOT_VILLAGE),
            reporter_id=tracker.sender_id,
            reporter_phone=None if phone in (None, c.PHONE_DECLINED) else phone,
            channel=tracker.get_latest_input_channel() or "unknown",
        )
        try:
            case = services.get().cases.file_report(request)
        except JuhaobanError as error:
            dispatcher.utter_message(text=polite_error(error))
            return [SlotSet(c.SLOT_CONFIRMED, None), ActiveLoop(c.FORM_PROXY),
                    SlotSet(c.SLOT_REQUESTED, c.SLOT_CONFIRMED)]
        except Exception:
            logger.exception("Filing a 帮我办 request for %s failed", tracker.sender_id)
            dispatcher.utter_message(response="utter_submit_failed")
            return [SlotSet(c.SLOT_CONFIRMED, None), ActiveLoop(c.FORM_PROXY),
                    SlotSet(c.SLOT_REQUESTED, c.SLOT_CONFIRMED)]
        dispatcher.utter_message(text=proxy_filed_text(case))
        return [SlotSet(slot, None) for slot in PROXY_SLOTS] + [SlotSet(c.SLOT_LAST_CASE_ID, case.case_id)]


def proxy_filed_text(case) -> str:
    """What the requester is told once a 帮我办 request is filed: its number, the grid worker (or that a dispatcher
    finds one), the first-response deadline, and that each step will be reported here."""
    due = getattr(case, "first_response_due", None)
    when = f"，{format_deadline_zh(due)}联系您" if due else "，两个工作日内联系您"
    worker = getattr(case, "assignee_name", None)
    grid = getattr(case, "grid_name", None)
    if worker:
        who = f"已交给{case.village or ''}{grid or ''}网格员{worker}代办{when}。"
    else:
        who = f"调度员会尽快把它交给{case.village or case.township_name}的网格员代办{when}。"
    return (f"“帮我办”已登记，工单号 {case.case_id}。\n{who}\n"
            "每一步进展都会在这里告诉您，也可以随时发送工单号查询。")
