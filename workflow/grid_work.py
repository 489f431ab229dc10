"""Grid workers in the bot and the console (issue 6): binding a chat to a worker, who a sender is, the worker's open
cases, and the dispatcher's choice of a 帮我办 case's grid.

Binding (绑定聊天): a grid worker opens “绑定聊天” in the console and gets a one-time code (:meth:`GridWork.issue_binding_code`:
6 digits, valid :data:`CODE_VALIDITY` = 10 minutes, single use; only its SHA-256 digest is stored, and issuing a
new code voids the worker's unused ones). They send “绑定 123456” in the official account or the web chat; the bot
calls :meth:`GridWork.bind_sender` with the chat's channel and sender id. A wrong, expired or used code raises
:class:`BindingCodeInvalid`; :data:`MAX_FAILURES` (5) wrong codes from one sender within :data:`FAILURE_WINDOW`
(15 minutes) lock that sender out (:class:`BindingLocked`) until the oldest of them is 15 minutes old, so the
10⁶ codes cannot be guessed (5 tries per 15 minutes per sender id). A chat is bound to at most one worker; binding
it again moves it to the new code's worker.

A worker's open cases (:meth:`GridWork.open_cases_of_worker`): open cases whose grid is one of theirs, and 帮我办
cases assigned to them, earliest deadline first.

Every method runs in its own transaction and returns frozen views (:class:`WorkerView`, :class:`GridRef`,
:class:`workflow.case_views.CaseView`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from workflow.case_views import CaseView, case_query, case_views, normalize_case_id
from workflow.cases import Clock, utc_now
from workflow.deadlines import DEFAULT_POLICY, DeadlinePolicy
from workflow.exceptions import CaseNotFound, ConcurrentUpdate, InvalidCaseAction, JuhaobanError
from workflow.grid_cases import notify_requester, notify_worker, start_proxy
from workflow.grid_work_models import WorkerBindingCode, WorkerBindingFailure, WorkerChannel
from workflow.grids import UnknownGrid, get_grid, grids_of_worker
from workflow.models import Account, Case, CaseEvent, Grid
from workflow.status import CaseStatus
from workflow.transitions import Actor, ActorRole
from workflow.workcalendar import WorkingCalendar

logger = logging.getLogger(__name__)

#: How long a binding code is valid.
CODE_VALIDITY = dt.timedelta(minutes=10)
#: Wrong codes one sender may send within :data:`FAILURE_WINDOW` before being locked out.
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
CODE_DIGITS = 6
_MAX_CHANNEL = 32
_MAX_SENDER_ID = 255
_CODE = re.compile(r"^\d{6}$")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


class GridWorkError(JuhaobanError):
    """A grid-work request cannot be done as asked. Context: ``field`` where it names one."""

    code = "grid_work_error"


class BindingCodeInvalid(GridWorkError):
    """The binding code is wrong, expired or already used (the message says no more, on purpose)."""

    code = "binding_code_invalid"
    text_zh = "绑定码不正确或已过期，请在巨好办工作台“绑定聊天”页面重新获取。"


class BindingLocked(GridWorkError):
    """Too many wrong codes from this sender; try again after ``retry_after`` (ISO 8601, also in context)."""

    code = "binding_locked"
    text_zh = "绑定码输错次数过多，请15分钟后再试。"


class NotGridWorker(GridWorkError):
    """The account is not an active grid worker. Context: ``account_id``."""

    code = "not_grid_worker"


@dataclass(frozen=True)
class GridRef:
    """A grid with its place: grid ``code``/``name``, village and township codes and names."""

    code: str
    name: str
    village_code: str
    village_name: str
    township_code: str
    township_name: str


@dataclass(frozen=True)
class WorkerView:
    """A grid worker: console ``account_id``, ``display_name`` (网格员刘洋), and the grids they serve (by code)."""

    account_id: int
    display_name: str
    grids: tuple[GridRef, ...]


@dataclass(frozen=True)
class WorkerChatView:
    """A chat bound to a grid worker: ``channel``, ``sender_id``, ``bound_at`` (aware UTC)."""

    channel: str
    sender_id: str
    bound_at: dt.datetime


def hash_code(code: str) -> str:
    """SHA-256 hex digest of a binding code as stored."""
    return hashlib.sha256(f"juhaoban-binding:{code}".encode()).hexdigest()


def normalize_code(code: str | None) -> str:
    """A code as typed (full-width digits, spaces) → its 6 ASCII digits, or '' when it is not 6 digits."""
    text = "".join((code or "").translate(_FULLWIDTH_DIGITS).split())
    return text if _CODE.match(text) else ""


class GridWork:
    """Grid workers' chats and cases.

    Args:
        session_factory: Over a migrated database.
        calendar: Working-day calendar (first-response and case deadlines when a dispatcher sets a grid).
        clock: Aware current time; default :func:`workflow.cases.utc_now`.
        policy: Deadline policy (``data/calendar/deadline_policy.yml``).
    """

    def __init__(self, session_factory: sessionmaker, calendar: WorkingCalendar, *, clock: Clock | None = None,
                 policy: DeadlinePolicy = DEFAULT_POLICY) -> None:
        self._session_factory = session_factory
        self._calendar = calendar
        self._clock = clock or utc_now
        self._policy = policy

    # ------------------------------------------------------------------ binding
    def issue_binding_code(self, account_id: int) -> str:
        """A fresh 6-digit code for the grid worker to send in a chat (“绑定 123456”); shown once, valid 10 minutes,
        single use. The worker's earlier unused codes stop working. No other live code shares its digest.

        Raises:
            NotGridWorker: The account is unknown, disabled or not a grid worker.
        """
        now = self._now()
        with self._session_factory.begin() as session:
            _worker_account(session, account_id)
            session.execute(update(WorkerBindingCode).where(WorkerBindingCode.account_id == account_id,
                                                            WorkerBindingCode.used_at.is_(None))
                            .values(used_at=now).execution_options(synchronize_session=False))
            for _ in range(20):
                code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
                digest = hash_code(code)
                taken = session.execute(select(func.count()).select_from(WorkerBindingCode).where(
                    WorkerBindingCode.code_hash == digest, WorkerBindingCode.used_at.is_(None),
                    WorkerBindingCode.expires_at > now)).scalar_one()
                if not taken:
                    break
            session.add(WorkerBindingCode(account_id=account_id, code_hash=digest, created_at=now,
                                          expires_at=now + CODE_VALIDITY))
        logger.info("binding code issued to grid worker account %s", account_id)
        return code

    def bind_sender(self, code: str, channel: str, sender_id: str) -> WorkerView:
        """Bind the chat ``(channel, sender_id)`` to the worker whose live code ``code`` is; the code is used up.

        Args:
            code: The 6 digits as typed (full-width digits and spaces forgiven).
            channel: Rasa's input channel (``wechat``, ``socketio`` …), 1–32 characters.
            sender_id: The chat's sender id, 1–255 characters.

        Raises:
            BindingLocked: 5 wrong codes from this sender in the last 15 minutes (checked first; nothing written).
            BindingCodeInvalid: No live code matches (wrong, expired, used, or its worker disabled); counted.
            GridWorkError: Empty or over-long channel or sender id (``field``).
        """
        channel, sender_id = _chat(channel, sender_id)
        now = self._now()
        digits = normalize_code(code)
        with self._session_factory.begin() as session:
            failures = session.execute(
                select(WorkerBindingFailure.at).where(WorkerBindingFailure.sender_id == sender_id,
                                                      WorkerBindingFailure.channel == channel,
                                                      WorkerBindingFailure.at > now - FAILURE_WINDOW)
                .order_by(WorkerBindingFailure.at)).scalars().all()
            if len(failures) >= MAX_FAILURES:
                retry_after = failures[-MAX_FAILURES] + FAILURE_WINDOW
                raise BindingLocked(BindingLocked.text_zh, channel=channel,
                                    retry_after=retry_after.isoformat())
            row = None
            if digits:
                row = session.execute(
                    select(WorkerBindingCode).join(Account, Account.id == WorkerBindingCode.account_id)
                    .where(WorkerBindingCode.code_hash == hash_code(digits), WorkerBindingCode.used_at.is_(None),
                           WorkerBindingCode.expires_at > now, Account.disabled_at.is_(None),
                           Account.role == "grid_worker")
                    .order_by(WorkerBindingCode.id.desc()).limit(1)).scalars().first()
            used = row is not None and session.execute(
                update(WorkerBindingCode).where(WorkerBindingCode.id == row.id, WorkerBindingCode.used_at.is_(None))
                .values(used_at=now).execution_options(synchronize_session=False)).rowcount == 1
        if not used:
            with self._session_factory.begin() as session:
                session.add(WorkerBindingFailure(channel=channel, sender_id=sender_id, at=now))
            raise BindingCodeInvalid(BindingCodeInvalid.text_zh)
        account_id = row.account_id
        for _ in range(2):
            try:
                with self._session_factory.begin() as session:
                    existing = session.execute(select(WorkerChannel).where(
                        WorkerChannel.channel == channel, WorkerChannel.sender_id == sender_id)).scalar_one_or_none()
                    if existing is None:
                        session.add(WorkerChannel(account_id=account_id, channel=channel, sender_id=sender_id,
                                                  bound_at=now))
                    else:
                        existing.account_id, existing.bound_at = account_id, now
                    session.flush()
                    view = _worker_view(session, _worker_account(session, account_id))
                break
            except IntegrityError:  # the same chat bound concurrently: look again
                continue
        else:
            raise ConcurrentUpdate("the chat was bound concurrently; try again")
        logger.info("%s sender bound to grid worker account %s", channel, account_id)
        return view

    def worker_of_sender(self, channel: str | None, sender_id: str) -> WorkerView | None:
        """The active grid worker bound to the chat, or None. ``channel`` None: match on ``sender_id`` alone (the
        latest binding)."""
        from workflow.worker_chats import worker_account_of_sender

        with self._session_factory() as session:
            account = worker_account_of_sender(session, channel, (sender_id or "").strip())
            return _worker_view(session, account) if account is not None else None

    def unbind(self, channel: str, sender_id: str) -> bool:
        """Remove the chat's binding; True when there was one."""
        with self._session_factory.begin() as session:
            result = session.execute(delete(WorkerChannel).where(WorkerChannel.channel == channel,
                                                                 WorkerChannel.sender_id == sender_id))
            return result.rowcount > 0

    def chats_of_worker(self, account_id: int) -> list[WorkerChatView]:
        """The chats bound to the worker, latest first (the console's “绑定聊天” page)."""
        with self._session_factory() as session:
            rows = session.execute(select(WorkerChannel).where(WorkerChannel.account_id == account_id)
                                   .order_by(WorkerChannel.bound_at.desc(), WorkerChannel.id.desc())).scalars()
            return [WorkerChatView(row.channel, row.sender_id, row.bound_at) for row in rows]

    def unbind_of_worker(self, account_id: int, channel: str, sender_id: str) -> bool:
        """Remove one of the worker's own chats (the console's unbind button); False when it is not theirs."""
        with self._session_factory.begin() as session:
            result = session.execute(delete(WorkerChannel).where(
                WorkerChannel.account_id == account_id, WorkerChannel.channel == channel,
                WorkerChannel.sender_id == sender_id))
            return result.rowcount > 0

    # ------------------------------------------------------------------ cases
    def open_cases_of_worker(self, account_id: int, limit: int = 10) -> list[CaseView]:
        """Open cases (:attr:`CaseStatus.is_open`) in the worker's grids and 帮我办 cases assigned to them,
        earliest deadline first (then filing order); at most ``limit`` (1–200).

        Raises:
            ValueError: ``limit`` out of range.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
            raise ValueError(f"limit must be from 1 to 200, got {limit!r}")
        open_statuses = [status.value for status in CaseStatus if status.is_open]
        with self._session_factory() as session:
            grids = select(Grid.code).where(Grid.worker_account_id == account_id).scalar_subquery()
            query = (case_query().where(Case.status.in_(open_statuses),
                                        or_(Case.grid_code.in_(grids), Case.assignee_account_id == account_id))
                     .order_by(Case.deadline, Case.id).limit(limit))
            return case_views(session, list(session.execute(query).scalars()))

    def set_grid(self, case_id: str, actor: Actor, grid_code: str, *, note: str = "") -> CaseView:
        """A dispatcher sets or changes the grid of a case (audit event ``grid_set``). For a 帮我办 case this also
        sets its assignee, the grid's worker: a ``reported`` one waiting for a grid is then accepted and assigned as
        at filing (first response due 2 working days from now) and the requester and the worker are told; an
        already assigned one moves to the new worker (who is told). The lead unit is left as it is.

        Raises:
            CaseNotFound: No such case.
            ActorNotAllowed: Not a dispatcher.
            UnknownGrid: No grid has ``grid_code``.
            InvalidCaseAction: The grid is not in the case's township, or the case is finished (closed/rejected),
                or a proxy case's grid has no active worker (``field`` = ``grid_code``).
            ConcurrentUpdate: The case changed meanwhile; nothing written.
        """
        from workflow.exceptions import ActorNotAllowed

        if actor.role is not ActorRole.DISPATCHER:
            raise ActorNotAllowed(f"a {actor.role.value} may not set a case's grid", event="grid_set",
                                  actor_role=actor.role.value)
        wanted = normalize_case_id(case_id)
        now = self._now()
        try:
            with self._session_factory.begin() as session:
                case = session.execute(case_query().where(Case.case_id == wanted)).scalar_one_or_none()
                if case is None:
                    raise CaseNotFound(f"no case {wanted!r}", case_id=wanted)
                grid = get_grid(session, grid_code)
                if grid.village.township_code != case.township_code:
                    raise InvalidCaseAction(f"grid {grid.code} is not in the case's township", field="grid_code",
                                            value=grid.code)
                if case.status in (CaseStatus.CLOSED.value, CaseStatus.REJECTED.value):
                    raise InvalidCaseAction(f"case {wanted} is {case.status}", field="grid_code")
                previous = case.grid_code
                case.grid_code, case.village_code = grid.code, grid.village_code
                data = {"grid": {"from": previous, "to": grid.code}}
                reason = None
                if case.kind == "proxy":
                    if grid.worker is None or grid.worker.disabled_at is not None:
                        raise InvalidCaseAction(f"grid {grid.code} has no active grid worker", field="grid_code",
                                                value=grid.code)
                    if case.status in (CaseStatus.REPORTED.value, CaseStatus.ACCEPTED.value):
                        reason = start_proxy(session, case, grid, now, calendar=self._calendar,
                                             policy=self._policy, actor=actor.id, actor_role=actor.role.value)
                    else:
                        case.assignee_account_id = grid.worker_account_id
                    data["assignee_account_id"] = case.assignee_account_id
                case.updated_at = now
                session.add(CaseEvent(case_pk=case.id, at=now, actor=actor.id, actor_role=actor.role.value,
                                      event="grid_set", from_status=case.status, to_status=case.status,
                                      note=(note or "").strip(), data=data))
                session.flush()
                session.expire(case, ["grid", "assignee"])
                view = case_views(session, [case])[0]
                if reason is None:
                    notify_worker(session, case, view, now)
                    if case.kind == "proxy":
                        notify_requester(session, case, view, now, resident_told=False)
        except StaleDataError:
            raise ConcurrentUpdate(f"case {wanted} was changed meanwhile; nothing was written",
                                   case_id=wanted) from None
        return view

    def grids_for_case(self, case: CaseView) -> list[GridRef]:
        """The grids a dispatcher may choose for ``case``: its village's, or without a village its township's."""
        with self._session_factory() as session:
            from workflow.models import Village

            query = select(Grid).join(Village, Village.code == Grid.village_code)
            query = (query.where(Grid.village_code == case.village_code) if case.village_code
                     else query.where(Village.township_code == case.township))
            return [_grid_ref(grid) for grid in session.execute(query.order_by(Grid.code)).scalars()]

    # ------------------------------------------------------------------ machinery
    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"clock returned naive datetime {now.isoformat()}")
        return now.astimezone(dt.timezone.utc)


def _chat(channel: str, sender_id: str) -> tuple[str, str]:
    channel, sender_id = (channel or "").strip(), (sender_id or "").strip()
    if not 0 < len(channel) <= _MAX_CHANNEL:
        raise GridWorkError(f"channel must be 1–{_MAX_CHANNEL} characters", field="channel")
    if not 0 < len(sender_id) <= _MAX_SENDER_ID:
        raise GridWorkError(f"sender id must be 1–{_MAX_SENDER_ID} characters", field="sender_id")
    return channel, sender_id


def _worker_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.role != "grid_worker" or account.disabled_at is not None:
        raise NotGridWorker(f"account {account_id!r} is not an active grid worker", account_id=account_id)
    return account


def _grid_ref(grid: Grid) -> GridRef:
    village = grid.village
    return GridRef(code=grid.code, name=grid.name, village_code=village.code, village_name=village.name,
                   township_code=village.township_code, township_name=village.township.name)


def _worker_view(session: Session, account: Account) -> WorkerView:
    return WorkerView(account_id=account.id, display_name=account.display_name,
                      grids=tuple(_grid_ref(grid) for grid in grids_of_worker(session, account.id)))


__all__ = [
    "BindingCodeInvalid", "BindingLocked", "GridRef", "GridWork", "GridWorkError", "NotGridWorker", "UnknownGrid",
    "WorkerChatView", "WorkerView", "hash_code", "normalize_code",
]
