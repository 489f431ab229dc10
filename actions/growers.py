"""Growers in the conversation (issue 7): honeysuckle questions answered from the knowledge base with its source,
an expert when the base has no confident answer, the field's latest readings, a batch's trace chain.

Flow (rules in ``data/core/rules.yml``)::

    ask_farming          → action_answer_farming     cited answer, or an expert consultation is filed
    ask_expert           → action_start_expert        → expert_form(expert_question) → action_submit_expert
    ask_field_conditions → action_field_conditions    the sender's plots' latest readings and how old they are
    ask_trace            → action_trace_query         the chain of the batch with that trace code

Policy questions are reports of matter type ``policy_consultation`` (``actions/report.py`` asks the policy base first).
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
from actions.report import _not_an_answer_to_the_form
from bot.nlu.normalize import clean_text, has_meaningful_text
from workflow.expert_cases import expert_filed_text

logger = logging.getLogger(__name__)

#: A message shorter than this (meaningful characters) after the words that only ask for an expert is no question.
MIN_QUESTION_CHARS = 6
_ASKING_FOR_EXPERT = re.compile(r"(我)?(想|要|能|可以)?(问问|问一下|找|请|咨询)?(个|一下)?(农技)?(专家|技术员|老师)(给)?(看看|问问|指导一下)?(吗|不|呗|吧)?")
_TRACE_CODE = re.compile(r"JYH-?\d{4}-?[2-9A-HJ-NP-Z]{5}", re.IGNORECASE)
#: Words → the reading kind a field question is about (None: every kind).
_FOCUS = (("soil_moisture", ("墒情", "墒", "干不干", "旱", "湿", "水分", "浇水", "浇地")),
          ("pest_count", ("虫情", "虫子", "虫", "蚜虫", "尺蠖", "棉铃虫")),
          ("rainfall", ("雨", "降水")),
          ("air_temperature", ("温度", "气温", "热", "冷", "冻")),
          ("humidity", ("湿度",)))


def reading_focus(text: str) -> Optional[str]:
    """The reading kind a field question is about ("我家地的墒情怎么样" → ``soil_moisture``), or None for all."""
    for kind, words in _FOCUS:
        if any(word in text for word in words):
            return kind
    return None


def _channel(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "unknown"


def file_expert_consultation(dispatcher: CollectingDispatcher, tracker: Tracker, question: str,
                             why: str) -> List[EventType]:
    """Files ``question`` as an expert consultation and tells the grower who answers and by when; on failure says so
    (the question is in the conversation; the grower can say it again)."""
    try:
        case = services.get().experts.ask(question, sender_id=tracker.sender_id, channel=_channel(tracker))
    except Exception:
        logger.exception("Filing an expert consultation for %s failed", tracker.sender_id)
        dispatcher.utter_message(text="抱歉，系统暂时没能转给专家。请稍后再问一次，或拨打县农业农村局农技推广站电话。")
        return []
    dispatcher.utter_message(text=why + expert_filed_text(case) + "专家的答复会发到这里，也可以随时发单号查询。")
    return [SlotSet(c.SLOT_LAST_CASE_ID, case.case_id)]


class ActionAnswerFarming(Action):
    """A honeysuckle question: the knowledge base's answer with its source, or an expert consultation."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_ANSWER_FARMING

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Answers when the retrieval is confident (:mod:`workflow.retrieval`); otherwise files the question for an
        expert and says so."""
        text = unicodedata.normalize("NFC", tracker.latest_message.get("text") or "").strip()
        if not has_meaningful_text(text):
            dispatcher.utter_message(text="请说一下您想问的种植问题，比如“金银花什么时候打顶”。")
            return []
        try:
            answer = services.get().knowledge.answer(text, base="honeysuckle")
        except Exception:
            logger.exception("Searching the honeysuckle base failed")
            answer = None
        if answer is not None:
            dispatcher.utter_message(text=answer.text + "\n还有疑问可以说“问专家”，农技专家一对一答复。")
            return []
        return file_expert_consultation(dispatcher, tracker, text, "这个问题知识库里没有把握的答案。")


class ActionStartExpert(Action):
    """"我想问问专家": files the question when the message holds one, else asks for it (``expert_form``)."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_START_EXPERT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """The message minus the words that only ask for an expert; long enough → filed, else the form asks."""
        text = unicodedata.normalize("NFC", tracker.latest_message.get("text") or "").strip()
        rest = _ASKING_FOR_EXPERT.sub("", clean_text(text))
        if len(re.findall(r"[\u4e00-\u9fffA-Za-z0-9]", rest)) >= MIN_QUESTION_CHARS:
            return file_expert_consultation(dispatcher, tracker, text, "好的。")
        return [SlotSet(c.SLOT_EXPERT_QUESTION, None), ActiveLoop(c.FORM_EXPERT)]


class ValidateExpertForm(FormValidationAction):
    """The grower's question for the expert (the whole answer, at least a few words)."""

    def name(self) -> Text:
        """Action name."""
        return c.VALIDATE_EXPERT_FORM

    def extract_expert_question(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        """When asked: the whole message."""
        if tracker.get_slot(c.SLOT_REQUESTED) != c.SLOT_EXPERT_QUESTION or _not_an_answer_to_the_form(tracker):
            return {}
        return {c.SLOT_EXPERT_QUESTION: (tracker.latest_message.get("text") or "").strip() or None}

    def validate_expert_question(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        """At least :data:`MIN_QUESTION_CHARS` meaningful characters; asks again otherwise."""
        text = str(value or "")
        if len(re.findall(r"[\u4e00-\u9fffA-Za-z0-9]", text)) < MIN_QUESTION_CHARS:
            dispatcher.utter_message(text="请把问题说具体一点，比如“叶子上有白粉是怎么回事”，也可以发照片。")
            return {c.SLOT_EXPERT_QUESTION: None}
        return {c.SLOT_EXPERT_QUESTION: unicodedata.normalize("NFC", text)}


class ActionSubmitExpert(Action):
    """Files the question the form collected."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_SUBMIT_EXPERT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Files it and clears the slot."""
        question = tracker.get_slot(c.SLOT_EXPERT_QUESTION)
        if not question:
            return []
        return file_expert_consultation(dispatcher, tracker, question, "好的。") + [
            SlotSet(c.SLOT_EXPERT_QUESTION, None)]


class ActionFieldConditions(Action):
    """"我家地的墒情怎么样": the latest readings of the sender's plots, with how old they are."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_FIELD_CONDITIONS

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """Utters :meth:`workflow.sensors.SensorService.answer_for_sender` for the question's focus."""
        text = clean_text(tracker.latest_message.get("text") or "")
        try:
            reply = services.get().sensors.answer_for_sender(_channel(tracker), tracker.sender_id,
                                                            focus=reading_focus(text))
        except Exception:
            logger.exception("Reading the field data of %s failed", tracker.sender_id)
            reply = "抱歉，地块数据暂时查不到，请稍后再试。"
        dispatcher.utter_message(text=reply)
        return []


class ActionTraceQuery(Action):
    """"查一下溯源码 JYH-2026-7K3QX": the batch's chain from planting to sale."""

    def name(self) -> Text:
        """Action name."""
        return c.ACTION_TRACE_QUERY

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """The trace code from the entity or the text; none → how to find it on the label."""
        code = next(tracker.get_latest_entity_values(c.ENTITY_TRACE_CODE), None)
        if not code:
            found = _TRACE_CODE.search(clean_text(tracker.latest_message.get("text") or "").upper())
            code = found.group(0) if found else None
        if not code:
            dispatcher.utter_message(text="请发包装上的溯源码，格式像“JYH-2026-7K3QX”，也可以扫描包装上的二维码查看。")
            return []
        try:
            reply = services.get().trace.trace_summary_zh(str(code))
        except Exception:
            logger.exception("Reading trace code %s failed", code)
            reply = "抱歉，溯源信息暂时查不到，请稍后再试。"
        dispatcher.utter_message(text=reply)
        return []
