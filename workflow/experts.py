"""Expert one-to-one consultation (专家咨询, issue 7 part 4): the service the bot and the console call.

A grower's question the knowledge base cannot answer confidently (or a grower asking for an expert) becomes a case of
kind ``expert`` (:meth:`ExpertDesk.ask`): category 农业农村 (``agriculture``), matter type ``public_service`` (an
answer within 2 working days), a first response due within 1 working day (``expert_first_response_workdays`` in
``data/calendar/deadline_policy.yml``). Filing gives it to the least-loaded active expert, or leaves it to the
dispatcher (:mod:`workflow.expert_cases`). The expert answers in the console (:meth:`ExpertDesk.answer`): the case is
taken on and resolved with the answer as its result, and the grower gets 农技专家李明答复您的问题：… on their
channel, with the usual request to rate (rated like any resolved case, :meth:`workflow.lifecycle.CaseLifecycle.rate`).

Knowledge-base candidates: an answer the expert marks 建议加入知识库 is kept (``knowledge_candidates``,
:mod:`workflow.expert_models`) until an administrator approves it — the entry is then appended to
``<knowledge_dir>/expert_answers.yml`` (:data:`EXPERT_ANSWERS_FILE`) in the knowledge base's format — or rejects it.
The file is rewritten whole through a temporary file and an atomic rename, under a lock file, so a reader never sees
half a file and two approvals never lose each other's entry; an entry already there with the same id is replaced,
so an approval retried after a failed commit writes no duplicate.

Who may do what: only the expert a consultation is assigned to answers it (:class:`~workflow.exceptions.NotCaseAssignee`
from the lifecycle otherwise); dispatchers and administrators give a waiting consultation to an expert
(:meth:`ExpertDesk.assign`); administrators review candidates (the console checks the role).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from workflow import expert_cases
from workflow.case_views import CaseView, case_query, case_views, normalize_case_id
from workflow.cases import CaseService, Clock, NewReport, utc_now
from workflow.deadlines import DEFAULT_POLICY, DeadlinePolicy, MatterType
from workflow.exceptions import (
    CaseNotFound,
    ConcurrentUpdate,
    InvalidCaseAction,
    InvalidReport,
    JuhaobanError,
    NotCaseAssignee,
)
from workflow.expert_models import KnowledgeCandidate
from workflow.gazetteer import Gazetteer
from workflow.lifecycle import CaseLifecycle
from workflow.models import Account, Case
from workflow.status import CaseStatus
from workflow.transitions import Actor, ActorRole, CaseEventType, check_role
from workflow.workcalendar import WorkingCalendar

logger = logging.getLogger(__name__)

#: Category and matter type of every consultation (a farming question: 农业农村; answer within 2 working days).
EXPERT_CATEGORY = "agriculture"
EXPERT_MATTER_TYPE = MatterType.PUBLIC_SERVICE
#: Township of a consultation when neither the question nor the grower's earlier cases name one: the county seat.
#: The township of a consultation decides nothing (experts serve the whole county); it only keeps the case valid.
DEFAULT_TOWNSHIP = "julu_zhen"
#: The knowledge-base file approvals append to, inside the knowledge directory (``data/knowledge``).
EXPERT_ANSWERS_FILE = "expert_answers.yml"
#: The file's header fields (as ``honeysuckle.yml``'s) and every entry's ``topic``.
EXPERT_FILE_FIELDS = {"kind": "farming", "title": "巨好办专家答复"}
EXPERT_TOPIC = "专家答复"
#: Longest question and answer accepted (characters).
MAX_QUESTION = 2000
MAX_ANSWER = 4000
_FILE_HEADER = (
    "# 巨好办专家答复: growers' questions answered by the platform's experts and approved by an administrator\n"
    "# (console 知识库候选). Written by workflow/experts.py (temporary file + rename); entries may be edited by hand.\n"
)


class ExpertDeskError(JuhaobanError):
    """A consultation or candidate action that cannot be done as asked. Context names what."""

    code = "expert_desk_error"


class NotExpert(ExpertDeskError):
    """The account is not an active expert. Context: ``account_id``."""

    code = "not_expert"


class CandidateNotFound(ExpertDeskError):
    """No knowledge-base candidate has this id. Context: ``candidate_id``."""

    code = "candidate_not_found"


class CandidateAlreadyReviewed(ExpertDeskError):
    """The candidate was approved or rejected already. Context: ``candidate_id``, ``status``."""

    code = "candidate_already_reviewed"


class KnowledgeFileError(ExpertDeskError):
    """The knowledge-base file cannot be read or written (unreadable YAML, wrong shape, I/O). Context: ``path``."""

    code = "knowledge_file_error"


@dataclass(frozen=True)
class CandidateView:
    """A knowledge-base candidate (datetimes aware UTC); ``entry_id`` the entry an approval wrote."""

    id: int
    case_id: str
    question: str
    answer: str
    expert_name: str
    status: str
    created_at: dt.datetime
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    entry_id: str | None


class ExpertDesk:
    """Files growers' questions for experts, lists and answers them, and reviews knowledge-base candidates.

    Args:
        session_factory: Sessions on the migrated case database (reference data loaded).
        calendar: Working-day calendar for deadlines.
        clock: Returns the current aware time; default :func:`workflow.cases.utc_now`.
        policy: Deadline durations (``expert_first_response_workdays`` among them).
        lifecycle: The case lifecycle answers go through (the console passes its own); default one over the same
            database, calendar, clock and policy.
        knowledge_dir: Where :data:`EXPERT_ANSWERS_FILE` lives (``<data_dir>/knowledge``); needed by :meth:`approve`.
    """

    def __init__(self, session_factory: sessionmaker, calendar: WorkingCalendar, *, clock: Clock | None = None,
                 policy: DeadlinePolicy = DEFAULT_POLICY, lifecycle: CaseLifecycle | None = None,
                 knowledge_dir: Path | None = None) -> None:
        self._session_factory = session_factory
        self._calendar = calendar
        self._clock = clock or utc_now
        self._policy = policy
        self._cases = CaseService(session_factory, calendar, clock=self._clock, policy=policy)
        self._lifecycle = lifecycle or CaseLifecycle(session_factory, calendar, clock=self._clock, policy=policy)
        self._knowledge_dir = Path(knowledge_dir) if knowledge_dir is not None else None

    # ------------------------------------------------------------------ the bot
    def ask(self, question: str, *, sender_id: str, channel: str, township: str | None = None,
            village: str | None = None, phone: str | None = None, call_id: str | None = None) -> CaseView:
        """File a grower's question for an expert (one transaction; see :mod:`workflow.expert_cases`).

        Args:
            question: The grower's question, whole (1–:data:`MAX_QUESTION` characters).
            sender_id: The grower's channel sender id (the case's reporter; answers go back to it).
            channel: The channel the grower wrote on (``wechat``, ``socketio``, ``rest``, ``hotline`` …).
            township: Township as the grower gave it (code, name or alias), optional. Unknown or missing: the
                village's township, else the township of the grower's latest case, else :data:`DEFAULT_TOWNSHIP`.
            village: Village as the grower gave it, optional (kept as free text when not in the gazetteer).
            phone: A mainland mobile or landline number, optional.
            call_id: The hotline call the question came from, if any (the grower is then told by a push).

        Returns:
            The case: ``kind`` ``expert``, ``assignee_name`` the expert (None while it waits for a dispatcher, then
            ``needs_review``), ``first_response_due`` (aware UTC; None while waiting) and ``deadline``. The grower's
            ``expert_filed`` message is already in the outbox, recorded as delivered (the bot says it in this turn).

        Raises:
            InvalidReport: Empty or over-long question, bad phone, sender id or channel (``context["field"]``).
        """
        text = (question or "").strip()
        if len(text) > MAX_QUESTION:
            raise InvalidReport(f"a question has at most {MAX_QUESTION} characters", field="description")
        report = NewReport(kind=expert_cases.EXPERT_KIND, description=text, category_code=EXPERT_CATEGORY,
                           suggested_category_code=EXPERT_CATEGORY, matter_type=EXPERT_MATTER_TYPE,
                           township=self._township(sender_id, township, village), village=village,
                           reporter_id=sender_id, channel=channel, reporter_phone=phone, call_id=call_id)
        view = self._cases.file_report(report)
        logger.info("expert consultation %s filed (%s)", view.case_id, view.assignee_name or "waiting for dispatcher")
        return view

    def open_consultations_of_sender(self, sender_id: str) -> list[CaseView]:
        """The grower's consultations still waiting for an answer (not resolved, closed or rejected), oldest first."""
        open_values = [status.value for status in CaseStatus if status.is_open]
        query = (case_query().where(Case.kind == expert_cases.EXPERT_KIND, Case.reporter_id == sender_id,
                                    Case.status.in_(open_values))
                 .order_by(Case.created_at, Case.id))
        with self._session_factory() as session:
            return case_views(session, list(session.execute(query).scalars()))

    # ------------------------------------------------------------------ the console
    def open_consultations(self, expert_account_id: int | None = None, *, limit: int = 200) -> list[CaseView]:
        """Open consultations (not resolved, closed or rejected), oldest first: one expert's when
        ``expert_account_id`` is given, else every one (dispatchers: those waiting for an expert among them)."""
        open_values = [status.value for status in CaseStatus if status.is_open]
        query = case_query().where(Case.kind == expert_cases.EXPERT_KIND, Case.status.in_(open_values))
        if expert_account_id is not None:
            query = query.where(Case.assignee_account_id == expert_account_id)
        query = query.order_by(Case.created_at, Case.id).limit(limit)
        with self._session_factory() as session:
            return case_views(session, list(session.execute(query).scalars()))

    def consultation(self, case_id: str) -> CaseView:
        """One consultation. Raises :class:`~workflow.exceptions.CaseNotFound` (also for a case of another kind)."""
        view = self._lifecycle.get(case_id)
        if view.kind != expert_cases.EXPERT_KIND:
            raise CaseNotFound(f"case {view.case_id} is not an expert consultation", case_id=view.case_id)
        return view

    def experts(self) -> list[tuple[int, str, int]]:
        """Active experts as ``(account id, display name, open consultations)``, by account id."""
        held = [s.value for s in expert_cases.HELD_STATUSES]
        with self._session_factory() as session:
            accounts = session.execute(select(Account).where(Account.role == "expert", Account.disabled_at.is_(None))
                                       .order_by(Account.id)).scalars().all()
            counts = dict(session.execute(
                select(Case.assignee_account_id, func.count(Case.id))
                .where(Case.kind == expert_cases.EXPERT_KIND, Case.status.in_(held))
                .group_by(Case.assignee_account_id)).all())
            return [(account.id, account.display_name, counts.get(account.id, 0)) for account in accounts]

    def answer(self, case_id: str, actor: Actor, answer: str, *, suggest_for_knowledge: bool = False) -> CaseView:
        """The expert answers: takes the consultation on (unless already) and resolves it with ``answer`` as the
        result; the grower is told (``resolved``: 农技专家李明答复您的问题：…). With ``suggest_for_knowledge`` the
        question and answer become a pending knowledge-base candidate (once per case).

        Args:
            actor: ``Actor.expert(account_id, display_name)``; an administrator may not answer for an expert.
            answer: 1–:data:`MAX_ANSWER` characters.

        Raises:
            CaseNotFound: No such consultation.
            NotCaseAssignee: The consultation is not assigned to this expert (or the actor is no expert).
            IllegalTransition: Already answered, closed or rejected, or still waiting for an expert.
            InvalidCaseAction: Empty or over-long answer (``field`` ``result``).
            ConcurrentUpdate: Somebody else changed the case meanwhile.
        """
        text = (answer or "").strip()
        if not text or len(text) > MAX_ANSWER:
            raise InvalidCaseAction(f"an answer has 1–{MAX_ANSWER} characters", field="result")
        view = self.consultation(case_id)
        if actor.role is not ActorRole.EXPERT:
            raise NotCaseAssignee(f"only the expert of {view.case_id} answers it", case_id=view.case_id,
                                  account_id=actor.account_id)
        if view.status in (CaseStatus.ASSIGNED, CaseStatus.REOPENED):
            self._lifecycle.acknowledge(view.case_id, actor)
        view = self._lifecycle.resolve(view.case_id, actor, result=text)
        if suggest_for_knowledge:
            self._add_candidate(view, actor)
        return view

    def assign(self, case_id: str, actor: Actor, account_id: int | None = None) -> CaseView:
        """A dispatcher gives a consultation waiting for an expert to ``account_id`` (None: the least-loaded active
        expert) and accepts it as filing would have (first response due from now); the grower is told (pushed).

        Raises:
            ActorNotAllowed: The actor is not a dispatcher.
            CaseNotFound: No such consultation.
            InvalidCaseAction: It is no longer waiting (``field`` ``status``), or there is no active expert.
            NotExpert: ``account_id`` is not an active expert.
            ConcurrentUpdate: Somebody else changed the case meanwhile.
        """
        check_role(CaseEventType.ASSIGNED, actor.role, case_id=normalize_case_id(case_id))
        wanted = normalize_case_id(case_id)
        now = self._now()
        try:
            with self._session_factory.begin() as session:
                case = session.execute(case_query().where(Case.case_id == wanted)).scalar_one_or_none()
                if case is None or case.kind != expert_cases.EXPERT_KIND:
                    raise CaseNotFound(f"no expert consultation {wanted!r}", case_id=wanted)
                if case.status not in (CaseStatus.REPORTED.value, CaseStatus.ACCEPTED.value):
                    raise InvalidCaseAction(f"consultation {wanted} is {case.status}, not waiting for an expert",
                                            field="status", case_id=wanted)
                if account_id is None:
                    expert = expert_cases.least_loaded_expert(session)
                    if expert is None:
                        raise InvalidCaseAction("there is no active expert account", field="account_id")
                else:
                    expert = session.get(Account, account_id)
                    if expert is None or expert.role != "expert" or expert.disabled_at is not None:
                        raise NotExpert(f"account {account_id} is not an active expert", account_id=account_id)
                expert_cases.start_expert(session, case, expert, now, calendar=self._calendar, policy=self._policy,
                                          actor=actor.id, actor_role=actor.role.value)
                case.updated_at = now
                session.flush()
                session.expire(case, ["assignee"])  # loaded (None) with the case: read the expert now
                view = case_views(session, [case])[0]
                expert_cases.notify_grower(session, case, view, now, resident_told=False)
        except StaleDataError:
            raise ConcurrentUpdate(f"case {wanted} was changed by somebody else meanwhile; nothing was written",
                                   case_id=wanted, event="assigned") from None
        logger.info("expert consultation %s given to %s by %s", wanted, view.assignee_name, actor.id)
        return view

    # ------------------------------------------------------------------ knowledge-base candidates
    def candidates(self, status: str | None = "pending", *, limit: int = 200) -> list[CandidateView]:
        """Candidates in ``status`` (None: all), oldest first."""
        query = select(KnowledgeCandidate, Case.case_id).join(Case, Case.id == KnowledgeCandidate.case_pk)
        if status is not None:
            query = query.where(KnowledgeCandidate.status == status)
        query = query.order_by(KnowledgeCandidate.created_at, KnowledgeCandidate.id).limit(limit)
        with self._session_factory() as session:
            return [_candidate_view(row, case_id) for row, case_id in session.execute(query).all()]

    def approve(self, candidate_id: int, reviewer: str) -> CandidateView:
        """Approve a pending candidate: append its entry to the knowledge base's :data:`EXPERT_ANSWERS_FILE`
        (:func:`knowledge_entry`), then mark it approved by ``reviewer`` (a display name). The file is written before
        the row commits; a failed write leaves the candidate pending.

        Raises:
            CandidateNotFound, CandidateAlreadyReviewed: As named.
            KnowledgeFileError: No ``knowledge_dir`` was given, or the file is unreadable or cannot be written.
        """
        if self._knowledge_dir is None:
            raise KnowledgeFileError("no knowledge directory configured", path=None)
        now = self._now()
        with self._session_factory.begin() as session:
            row, case_id = self._pending(session, candidate_id)
            entry = knowledge_entry(case_id, row.question, row.answer, row.expert_name, now,
                                    self._policy.office_hours.tz)
            append_entry(self._knowledge_dir / EXPERT_ANSWERS_FILE, entry)
            row.status, row.reviewed_by, row.reviewed_at, row.entry_id = "approved", reviewer, now, entry["id"]
            view = _candidate_view(row, case_id)
        logger.info("knowledge candidate %s approved by %s as %s", candidate_id, reviewer, view.entry_id)
        return view

    def reject(self, candidate_id: int, reviewer: str) -> CandidateView:
        """Reject a pending candidate (nothing is written to the knowledge base).

        Raises:
            CandidateNotFound, CandidateAlreadyReviewed: As named.
        """
        now = self._now()
        with self._session_factory.begin() as session:
            row, case_id = self._pending(session, candidate_id)
            row.status, row.reviewed_by, row.reviewed_at = "rejected", reviewer, now
            return _candidate_view(row, case_id)

    # ------------------------------------------------------------------ helpers
    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"clock returned naive datetime {now.isoformat()}")
        return now.astimezone(dt.timezone.utc)

    def _township(self, sender_id: str, township: str | None, village: str | None) -> str:
        with self._session_factory() as session:
            gazetteer = Gazetteer.from_session(session)
            if township and township.strip():
                place = gazetteer.resolve_township(township)
                if place is not None:
                    return place.code
            if village and village.strip():
                found = gazetteer.resolve_village(village)
                if found is not None:
                    return found.township_code
            latest = session.execute(select(Case.township_code).where(Case.reporter_id == sender_id)
                                     .order_by(Case.created_at.desc(), Case.id.desc()).limit(1)).scalar()
            return latest or DEFAULT_TOWNSHIP

    def _add_candidate(self, view: CaseView, actor: Actor) -> None:
        try:
            with self._session_factory.begin() as session:
                case_pk = session.execute(select(Case.id).where(Case.case_id == view.case_id)).scalar_one()
                session.add(KnowledgeCandidate(case_pk=case_pk, question=view.description, answer=view.result or "",
                                               expert_account_id=actor.account_id, expert_name=actor.id,
                                               status="pending", created_at=self._now()))
        except IntegrityError:  # one candidate per case: a reopened consultation answered again keeps the first
            logger.info("case %s already has a knowledge candidate", view.case_id)

    @staticmethod
    def _pending(session: Any, candidate_id: int) -> tuple[KnowledgeCandidate, str]:
        found = session.execute(
            select(KnowledgeCandidate, Case.case_id).join(Case, Case.id == KnowledgeCandidate.case_pk)
            .where(KnowledgeCandidate.id == candidate_id).with_for_update(of=KnowledgeCandidate)).first()
        if found is None:
            raise CandidateNotFound(f"no knowledge candidate {candidate_id}", candidate_id=candidate_id)
        row, case_id = found
        if row.status != "pending":
            raise CandidateAlreadyReviewed(f"candidate {candidate_id} is {row.status}", candidate_id=candidate_id,
                                           status=row.status)
        return row, case_id


def _candidate_view(row: KnowledgeCandidate, case_id: str) -> CandidateView:
    return CandidateView(id=row.id, case_id=case_id, question=row.question, answer=row.answer,
                         expert_name=row.expert_name, status=row.status, created_at=row.created_at,
                         reviewed_by=row.reviewed_by, reviewed_at=row.reviewed_at, entry_id=row.entry_id)


def knowledge_entry(case_id: str, question: str, answer: str, expert_name: str, approved_at: dt.datetime,
                    tz: dt.tzinfo) -> dict[str, Any]:
    """The knowledge-base entry of an approved answer, in the fields of ``data/knowledge/honeysuckle.yml``: ``id``
    (a snake_case slug, ``expert_jl20261130_0001`` from the case id), ``topic`` (:data:`EXPERT_TOPIC`),
    ``question`` (whitespace runs folded), ``alternatives`` (empty: an editor adds phrasings), ``answer``, ``source``
    (``巨好办专家答复（<expert> <date>）``) and ``checked`` (the approval's date, Asia/Shanghai, a YAML date)."""
    day = approved_at.astimezone(tz).date()
    return {"id": "expert_" + case_id.lower().replace("-", "_"), "topic": EXPERT_TOPIC,
            "question": " ".join(question.split()), "alternatives": [], "answer": answer.strip(),
            "source": f"巨好办专家答复（{expert_name} {day.isoformat()}）", "checked": day}


def append_entry(path: Path, entry: dict[str, Any]) -> None:
    """Add ``entry`` to the YAML file ``path`` (``{"kind", "title", "entries": [...]}``, :data:`EXPERT_FILE_FIELDS`;
    created when missing; other top-level fields kept), replacing an entry with
    the same ``id``. Written to a temporary file in the same directory, flushed to disk and renamed over ``path``
    (atomic on POSIX), under an exclusive lock on ``<path>.lock``.

    Raises:
        KnowledgeFileError: The file exists but is not valid YAML of that shape, or cannot be written.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            document = _read_entries(path)
            entries = [item for item in document["entries"] if item.get("id") != entry["id"]] + [entry]
            body = _FILE_HEADER + yaml.safe_dump({**document, "entries": entries}, allow_unicode=True,
                                                 sort_keys=False, default_flow_style=False, width=1000)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(body)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, path)
            except BaseException:
                if os.path.exists(temporary):
                    os.unlink(temporary)
                raise
    except OSError as error:
        raise KnowledgeFileError(f"{path}: cannot write: {error}", path=str(path)) from None


def _read_entries(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {**EXPERT_FILE_FIELDS, "entries": []}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise KnowledgeFileError(f"{path}: not valid YAML: {error}", path=str(path)) from None
    if document is None:
        return {**EXPERT_FILE_FIELDS, "entries": []}
    if not isinstance(document, dict) or not isinstance(document.get("entries", []), list):
        raise KnowledgeFileError(f"{path}: expected a mapping with a list 'entries'", path=str(path))
    return {**document, "entries": list(document.get("entries") or [])}
