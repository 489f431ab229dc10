"""Hotline calls (热线来电): one finished call, its matters filed as cases in one transaction, exactly once.

The county hotline posts every call after it ends, as an ASR transcript (``bot/channels/hotline.py``, ``juhaoban
import-calls``). What the caller said is read into matters, status questions and a rating by ``bot/transcripts.py``
(NLU); this module checks the posted call (:func:`parse_call`), files the matters and answers the rest
(:class:`HotlineDesk`). No Rasa import here.

Rules (what a county dispatcher wants from a call; change them here, once):

- **Exactly once.** ``hotline_calls.call_id`` is unique. The call's row and all its cases are written in one
  transaction, the row first: a second post of the same call (a retry, or two posts at the same moment) loses on
  the unique constraint, files nothing and gets the first post's outcome with ``duplicate: true``.
- **No report is lost for want of a township.** A matter whose words name no township takes, in this order: the
  township the agent named while the caller talked about it (``agent``); the place named for another matter when
  the caller speaks of their own village or township (「我们村」「镇上」: ``our_village``, found by
  :func:`bot.transcripts.read_call`; both count as stated); the township of the call's other matters
  (``other_matter``); the township of the caller's latest earlier case (``earlier_case``). Inferred townships are
  filed with ``needs_review`` so a dispatcher confirms the place before anything is accepted, and the description
  says where the township came from. With none of these (``unknown``) the matter is filed without a category
  (the NLU's category stays as the suggestion) to the county dispatch centre, in the county seat's township as a
  placeholder (the schema needs one), with ``needs_review``: the dispatcher classifies and places it.
- **Uncertain words wait for a person.** A matter whose category confidence is below
  :data:`MIN_CATEGORY_CONFIDENCE` goes to the dispatch centre without a category (suggestion kept), like "交给工作人员
  判断" in the bot; one heard with ASR confidence below :data:`LOW_ASR_CONFIDENCE` keeps its category but is marked
  ``needs_review``. Everything else may be auto-accepted like the bot's reports
  (:meth:`workflow.lifecycle.CaseLifecycle.auto_accept`: confident, not an emergency).
- The reporter of a hotline case is ``hotline:<caller number>`` (:func:`reporter_id_for`), so a later call from
  the same number finds its cases and notifications can be sent to the number (SMS).
- A status question is answered with the caller's own cases (reported from this number, or with this number left
  as the phone), newest first; a rating (回访 call about ``case_id``) is recorded as the case's resident rating,
  only when the call is with that case's reporter.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workflow.case_views import CaseView, case_query, case_views, normalize_case_id
from workflow.cases import CaseService, NewReport
from workflow.exceptions import InvalidCall, JuhaobanError
from workflow.gazetteer import Gazetteer
from workflow.lifecycle import CaseLifecycle
from workflow.models import Case, HotlineCall
from workflow.phones import normalize_phone
from workflow.status import describe_status
from workflow.transitions import Actor, Rating

logger = logging.getLogger(__name__)

CHANNEL = "hotline"
#: Sender id prefix of hotline callers: ``hotline:13831912345``.
REPORTER_PREFIX = "hotline:"
SPEAKERS = ("agent", "caller")
#: Below this category confidence (0–1) a matter is left to the dispatcher to classify.
MIN_CATEGORY_CONFIDENCE = 0.2
#: Below this ASR confidence (0–1, the lowest of a matter's turns) a matter waits for a dispatcher.
LOW_ASR_CONFIDENCE = 0.6
#: The gazetteer form naming the county seat: where a matter with no township at all is filed (placeholder).
COUNTY_SEAT_FORM = "县城"
#: How many of the caller's cases a status question is answered with.
STATUS_CASES = 5
# Limits of a posted call (column widths of hotline_calls; a call of hours is an error, not a call).
_MAX_CALL_ID = 64
_MAX_CALLER = 32
_MAX_TURNS = 2000
_MAX_TURN_TEXT = 10_000

#: Where a filed matter's township came from (see the module docstring).
TOWNSHIP_SOURCES = ("said", "agent", "our_village", "other_matter", "earlier_case", "unknown")
#: Sources the caller (or the agent, uncontradicted) stated: no dispatcher needs to confirm the place.
_STATED_SOURCES = ("said", "agent", "our_village")


# ---------------------------------------------------------------------- the posted call
@dataclass(frozen=True)
class Turn:
    """One turn of the transcript: ``speaker`` ``agent`` or ``caller``; times in seconds from the call's start;
    ``asr_confidence`` 0–1."""

    speaker: str
    text: str
    start_s: float
    end_s: float
    asr_confidence: float

    def to_dict(self) -> dict[str, Any]:
        """The turn as posted (JSON-ready)."""
        return {"speaker": self.speaker, "text": self.text, "start_s": self.start_s, "end_s": self.end_s,
                "asr_confidence": self.asr_confidence}


@dataclass(frozen=True)
class HotlineCallData:
    """A posted call, checked.

    Attributes:
        call_id: The call centre's id (1–64 characters).
        caller: The caller number as posted.
        caller_number: ``caller`` as a canonical mainland number (:func:`workflow.phones.normalize_phone`), or
            None when it is not one (hidden, foreign, a switchboard extension).
        started_at: When the call started, aware UTC.
        turns: The transcript, in order.
        case_id: For a 回访 (follow-up) call: the case it is about, normalised; else None.
    """

    call_id: str
    caller: str
    caller_number: str | None
    started_at: dt.datetime
    turns: tuple[Turn, ...]
    case_id: str | None = None

    @property
    def reporter_id(self) -> str:
        """The caller's sender id: ``hotline:<number>`` (:func:`reporter_id_for`)."""
        return reporter_id_for(self.caller_number or self.caller, self.call_id)


def reporter_id_for(number: str | None, call_id: str) -> str:
    """The reporter id of a hotline caller: ``hotline:<number>``; ``hotline:call-<call_id>`` without a number.

    The number is kept as given when it is not a mainland number (digits only, at most 32), so two calls from the
    same hidden or foreign number are still one reporter.
    """
    digits = "".join(ch for ch in (number or "") if ch.isalnum())[:_MAX_CALLER]
    return f"{REPORTER_PREFIX}{digits}" if digits else f"{REPORTER_PREFIX}call-{call_id}"[:128]


def number_of_reporter(reporter_id: str) -> str | None:
    """The phone number in a hotline reporter id (``hotline:13831912345`` → ``13831912345``), or None."""
    if not reporter_id.startswith(REPORTER_PREFIX):
        return None
    try:
        return normalize_phone(reporter_id[len(REPORTER_PREFIX):])
    except ValueError:
        return None


def parse_call(body: Any) -> HotlineCallData:
    """Check one posted call (the JSON object) and return it typed.

    Shape: ``{"call_id": str, "caller": str, "started_at": ISO 8601 with offset, "turns": [{"speaker": "agent" |
    "caller", "text": str, "start_s": float, "end_s": float, "asr_confidence": float 0–1}, …], "case_id": str
    (optional)}``; other keys are ignored.

    Raises:
        InvalidCall: A field is missing or of the wrong type or value; ``context["field"]`` names it
            (``turns[2].asr_confidence``) and the message says what was expected.
    """
    if not isinstance(body, Mapping):
        raise InvalidCall("the call must be a JSON object", field="(body)")
    call_id = _text(body, "call_id", _MAX_CALL_ID, required=True)
    caller = _text(body, "caller", _MAX_CALLER, required=False)
    try:
        number = normalize_phone(caller) if caller else None
    except ValueError:
        number = None
    started_at = _timestamp(body.get("started_at"))
    raw_turns = body.get("turns")
    if not isinstance(raw_turns, list) or not raw_turns:
        raise InvalidCall("turns must be a non-empty list of turns", field="turns")
    if len(raw_turns) > _MAX_TURNS:
        raise InvalidCall(f"at most {_MAX_TURNS} turns per call", field="turns")
    turns = tuple(_turn(raw, index) for index, raw in enumerate(raw_turns))
    case_id = body.get("case_id")
    if case_id is not None and (not isinstance(case_id, str) or not case_id.strip()):
        raise InvalidCall("case_id must be a case number like JL20261130-0001, or absent", field="case_id")
    return HotlineCallData(call_id=call_id, caller=caller, caller_number=number, started_at=started_at,
                           turns=turns, case_id=normalize_case_id(case_id) if case_id else None)


def _text(body: Mapping, key: str, limit: int, *, required: bool) -> str:
    value = body.get(key)
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidCall(f"{key} must be a{' non-empty' if required else ''} string", field=key)
    value = value.strip()
    if len(value) > limit:
        raise InvalidCall(f"{key} must be at most {limit} characters", field=key)
    return value


def _timestamp(value: Any) -> dt.datetime:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCall("started_at must be an ISO 8601 time with offset, e.g. 2026-11-30T09:30:00+08:00",
                          field="started_at")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCall(f"started_at is not an ISO 8601 time: {value[:40]!r}", field="started_at",
                          value=value[:40]) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidCall("started_at needs a UTC offset (+08:00): a time without one is ambiguous",
                          field="started_at", value=value[:40])
    return parsed.astimezone(dt.timezone.utc)


def _turn(raw: Any, index: int) -> Turn:
    where = f"turns[{index}]"
    if not isinstance(raw, Mapping):
        raise InvalidCall(f"{where} must be an object", field=where)
    speaker = raw.get("speaker")
    if speaker not in SPEAKERS:
        raise InvalidCall(f"{where}.speaker must be 'agent' or 'caller'", field=f"{where}.speaker")
    text = raw.get("text")
    if not isinstance(text, str):
        raise InvalidCall(f"{where}.text must be a string", field=f"{where}.text")
    if len(text) > _MAX_TURN_TEXT:
        raise InvalidCall(f"{where}.text must be at most {_MAX_TURN_TEXT} characters", field=f"{where}.text")
    start, end = _number(raw, "start_s", where), _number(raw, "end_s", where)
    if start < 0 or end < start:
        raise InvalidCall(f"{where}: need 0 <= start_s <= end_s (seconds)", field=f"{where}.end_s")
    confidence = _number(raw, "asr_confidence", where)
    if not 0.0 <= confidence <= 1.0:
        raise InvalidCall(f"{where}.asr_confidence must be between 0 and 1", field=f"{where}.asr_confidence")
    return Turn(speaker, text, start, end, confidence)


def _number(raw: Mapping, key: str, where: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidCall(f"{where}.{key} must be a number", field=f"{where}.{key}")
    return float(value)


# ---------------------------------------------------------------------- what the call said (from bot/transcripts)
@dataclass(frozen=True)
class Matter:
    """One matter (事项) of a call, as the NLU read it.

    Attributes:
        description: What the caller said about it, cleaned (fillers out, digits, place names corrected).
        category_code: The NLU's top category, or None.
        category_confidence: Its confidence, 0–1.
        category_ranking: ``({"name", "confidence"}, …)`` as the NLU gave it.
        matter_type: ``emergency``, ``policy_consultation``, ``public_service`` or ``other``.
        township: A township name the words (or the agent, see ``township_source``) named, or None.
        village: A village name, or None.
        township_source: ``said``, ``agent`` or ``our_village`` (or None when no township was named).
        phone: A call-back number the caller said, canonical, or None.
        asr_confidence: The lowest ASR confidence of the matter's caller turns, 0–1.
        turns: Indexes of the transcript turns it was read from.
    """

    description: str
    category_code: str | None
    category_confidence: float
    matter_type: str = "other"
    category_ranking: tuple[Mapping[str, Any], ...] = ()
    township: str | None = None
    village: str | None = None
    township_source: str | None = None
    phone: str | None = None
    asr_confidence: float = 1.0
    turns: tuple[int, ...] = ()


@dataclass(frozen=True)
class StatusQuestion:
    """The caller asked how an earlier report stands (我上次反映的那个事咋样了)."""

    text: str


@dataclass(frozen=True)
class RatingStatement:
    """In a 回访 call, the caller rated the case's result: ``rating`` satisfied / basically_satisfied /
    unsatisfied, ``text`` their words (kept as the comment)."""

    text: str
    rating: Rating


@dataclass(frozen=True)
class NotFiled:
    """Something the caller said that was neither filed nor answered, and why (``reason``, a short code)."""

    text: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """``{"text", "reason"}``."""
        return {"text": self.text, "reason": self.reason}


@dataclass(frozen=True)
class CallReading:
    """Everything the NLU made of one call, in the order it was said."""

    matters: tuple[Matter, ...] = ()
    questions: tuple[StatusQuestion, ...] = ()
    ratings: tuple[RatingStatement, ...] = ()
    not_filed: tuple[NotFiled, ...] = ()


# ---------------------------------------------------------------------- the desk
@dataclass
class _Filing:
    """One matter on its way into a case: the report and where its township came from."""

    matter: Matter
    report: NewReport
    township_source: str
    auto_accept: bool


class HotlineDesk:
    """Files a call's matters and answers its questions (see the module docstring for the rules).

    Args:
        session_factory: Sessions over the migrated database with reference data.
        cases: The case service (filing, reading); its clock is the desk's.
        lifecycle: The closed loop (auto-accept, ratings).
    """

    def __init__(self, session_factory: sessionmaker, cases: CaseService, lifecycle: CaseLifecycle) -> None:
        self._session_factory = session_factory
        self._cases = cases
        self._lifecycle = lifecycle

    def previous_outcome(self, call_id: str) -> dict[str, Any] | None:
        """The outcome of a call already taken (with ``duplicate: true``), or None for a new call."""
        with self._session_factory() as session:
            outcome = session.execute(
                select(HotlineCall.outcome).where(HotlineCall.call_id == call_id)).scalar_one_or_none()
        if outcome is None:
            return None
        return {**outcome, "duplicate": True}

    def take_call(self, call: HotlineCallData, reading: CallReading) -> dict[str, Any]:
        """Record the call, file its matters, then accept what is confident, answer questions and record a rating.

        Returns:
            ``{"call_id", "duplicate", "cases": [{"case_id", "category", "category_name", "suggested_category",
            "township", "township_name", "township_source", "status", "needs_review"}, …], "answered": [status
            answers and ratings], "not_filed": [{"text", "reason"}, …]}``. A call taken before (also by a
            concurrent post) files nothing and returns the first outcome with ``duplicate: true``.

        Raises:
            Database errors other than the duplicate call (the whole filing is rolled back).
        """
        now = self._cases.now()
        reporter = call.reporter_id
        try:
            with self._session_factory.begin() as session:
                # The call's row first: a concurrent post of the same call waits here and loses (unique call_id).
                row = HotlineCall(call_id=call.call_id, caller_number=(call.caller_number or call.caller or None),
                                  started_at=call.started_at, received_at=now,
                                  turns=[t.to_dict() for t in call.turns], outcome={})
                session.add(row)
                session.flush()
                filings, views, not_filed = self._file(session, self._filings(session, call, reading), now,
                                                       reading.not_filed)
                outcome = _outcome(call.call_id, views, filings, [], not_filed)
                row.outcome = outcome
        except IntegrityError:
            previous = self.previous_outcome(call.call_id)
            if previous is None:
                raise
            logger.info("hotline call %s was taken before; nothing filed", call.call_id)
            return previous
        views = [self._accept(view, filing) for view, filing in zip(views, filings)]
        filed = {view.case_id for view in views}
        answered = [self._answer(question, call, reporter, filed) for question in reading.questions]
        if reading.ratings:
            answered.append(self._rate(call, reporter, reading.ratings[-1]))
        outcome = _outcome(call.call_id, views, filings, answered, not_filed)
        with self._session_factory.begin() as session:
            session.execute(update(HotlineCall).where(HotlineCall.call_id == call.call_id).values(outcome=outcome))
        logger.info("hotline call %s: %d case(s) filed, %d answered, %d not filed", call.call_id, len(views),
                    len(answered), len(not_filed))
        return {**outcome, "duplicate": False}

    # -- filing ----------------------------------------------------------------------------------------------
    def _filings(self, session: Session, call: HotlineCallData, reading: CallReading) -> list[_Filing]:
        gazetteer = Gazetteer.from_session(session)
        placed = [_place(gazetteer, m) for m in reading.matters]
        call_township = next((p for p in placed if p is not None), None)
        filings = []
        for matter, place in zip(reading.matters, placed):
            source, note = matter.township_source or "said", ""
            if place is None and call_township is not None:
                place, source = call_township, "other_matter"
                note = f"【热线记录：来电人未说明此事的乡镇，暂按本次来电其他事项登记为{call_township.name}，请核实】"
            if place is None:
                earlier = _earlier_township(session, call.reporter_id)
                if earlier is not None:
                    case_id, code = earlier
                    place, source = gazetteer.township(code), "earlier_case"
                    note = f"【热线记录：来电人未说明乡镇，暂按其上次反映的工单{case_id}登记为{place.name}，请核实】"
            category = matter.category_code
            if category is not None and matter.category_confidence < MIN_CATEGORY_CONFIDENCE:
                category = None
            if place is None:
                place, source, category = gazetteer.resolve_township(COUNTY_SEAT_FORM), "unknown", None
                note = f"【热线记录：来电人未说明乡镇，暂登记在{place.name}，由调度员核实地点后分派】"
            needs_review = (category is None or source not in _STATED_SOURCES
                            or matter.asr_confidence < LOW_ASR_CONFIDENCE)
            report = NewReport(
                description=matter.description + note,
                category_code=category,
                suggested_category_code=matter.category_code,
                category_confidence=matter.category_confidence,
                category_ranking=list(matter.category_ranking),
                matter_type=matter.matter_type or "other",
                township=place.code,
                village=matter.village if source in _STATED_SOURCES else None,
                reporter_id=call.reporter_id,
                reporter_phone=matter.phone or call.caller_number,
                channel=CHANNEL,
                needs_review=needs_review,
                call_id=call.call_id,
                input_mode="voice",
            )
            filings.append(_Filing(matter, report, source, auto_accept=not needs_review))
        return filings

    def _file(self, session: Session, filings: list[_Filing], now: dt.datetime, not_filed: Sequence[NotFiled],
              ) -> tuple[list[_Filing], list[CaseView], list[NotFiled]]:
        """File each matter; returns the filings that became cases, their views, and what was not filed."""
        kept: list[_Filing] = []
        views: list[CaseView] = []
        missed = list(not_filed)
        for filing in filings:
            case = self._add(session, filing, now)
            if case is None:
                missed.append(NotFiled(filing.matter.description, "filing_failed"))
                continue
            kept.append(filing)
            views.append(case_views(session, [case])[0])
        return kept, views, missed

    def _add(self, session: Session, filing: _Filing, now: dt.datetime) -> Case | None:
        """File one matter in a savepoint; a report the service refuses goes to the dispatcher instead."""
        try:
            with session.begin_nested():
                return self._cases.add_case(session, filing.report, now)
        except JuhaobanError as error:
            logger.warning("hotline matter refused (%s); filing it for the dispatcher", error)
        fallback = dataclasses.replace(filing.report, category_code=None, needs_review=True, reporter_phone=None,
                                       village=None)
        filing.auto_accept = False
        try:
            with session.begin_nested():
                return self._cases.add_case(session, fallback, now)
        except JuhaobanError as error:
            logger.error("hotline matter could not be filed at all: %s", error)
            return None

    def _accept(self, view: CaseView, filing: _Filing) -> CaseView:
        if not filing.auto_accept:
            return view
        try:
            return self._lifecycle.auto_accept(view.case_id, resident_present=False)  # the caller hung up
        except Exception:  # the case is filed; a dispatcher accepts it by hand
            logger.exception("auto-accepting hotline case %s failed", view.case_id)
            return view

    # -- questions and ratings -------------------------------------------------------------------------------
    def _answer(self, question: StatusQuestion, call: HotlineCallData, reporter: str,
                filed: set[str]) -> dict[str, Any]:
        views = [v for v in self._callers_cases(call, reporter) if v.case_id not in filed]
        if views:
            answer = "".join(describe_status(v) for v in views)
        else:
            answer = "没有查到您用这个号码反映过的问题。"
        return {"kind": "status", "text": question.text, "answer": answer,
                "cases": [{"case_id": v.case_id, "status": v.status.value, "status_description": describe_status(v)}
                          for v in views]}

    def _callers_cases(self, call: HotlineCallData, reporter: str) -> list[CaseView]:
        who = [Case.reporter_id == reporter]
        if call.caller_number:
            who.append(Case.reporter_phone == call.caller_number)
        query = case_query().where(or_(*who)).order_by(Case.created_at.desc(), Case.id.desc()).limit(STATUS_CASES)
        with self._session_factory() as session:
            views = case_views(session, list(session.execute(query).scalars()))
        if call.case_id and all(v.case_id != call.case_id for v in views):
            about = self._own_case(call, reporter)
            if about is not None:
                views.insert(0, about)
        return views

    def _own_case(self, call: HotlineCallData, reporter: str) -> CaseView | None:
        try:
            view = self._cases.get_case(call.case_id)
        except JuhaobanError:
            return None
        mine = view.reporter == reporter or (call.caller_number is not None and view.reporter_phone == call.caller_number)
        return view if mine else None

    def _rate(self, call: HotlineCallData, reporter: str, statement: RatingStatement) -> dict[str, Any]:
        answer: dict[str, Any] = {"kind": "rating", "text": statement.text, "case_id": call.case_id,
                                  "rating": statement.rating.value}
        if call.case_id is None:
            return {**answer, "error": {"code": "no_case", "message": "a rating needs the call's case_id"}}
        try:
            view = self._cases.get_case(call.case_id)
            if self._own_case(call, reporter) is None:
                return {**answer, "error": {"code": "not_case_owner",
                                            "message": f"case {view.case_id} was reported from another number"}}
            rated = self._lifecycle.rate(view.case_id, Actor.resident(view.reporter), statement.rating,
                                         comment=statement.text)
        except JuhaobanError as error:
            return {**answer, "error": {"code": error.code, "message": error.message}}
        return {**answer, "status": rated.status.value, "status_description": describe_status(rated)}


# ---------------------------------------------------------------------- helpers
def _place(gazetteer: Gazetteer, matter: Matter):
    """The matter's township from its township or village name, or None."""
    if matter.township:
        found = gazetteer.resolve_township(matter.township)
        if found is not None:
            return found
    if matter.village:
        village = gazetteer.resolve_village(matter.village)
        if village is not None:
            return gazetteer.township(village.township_code)
    return None


def _earlier_township(session: Session, reporter_id: str) -> tuple[str, str] | None:
    """(case id, township code) of the reporter's latest case, or None."""
    row = session.execute(
        select(Case.case_id, Case.township_code).where(Case.reporter_id == reporter_id)
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else None


def _outcome(call_id: str, views: Sequence[CaseView], filings: Sequence[_Filing], answered: list[dict[str, Any]],
             not_filed: Sequence[NotFiled]) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "cases": [
            {"case_id": v.case_id, "category": v.category, "category_name": v.category_name,
             "suggested_category": v.suggested_category, "township": v.township, "township_name": v.township_name,
             "township_source": f.township_source, "status": v.status.value, "needs_review": v.needs_review}
            for v, f in zip(views, filings)
        ],
        "answered": answered,
        "not_filed": [n.to_dict() for n in not_filed],
    }
