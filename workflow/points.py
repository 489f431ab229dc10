"""The points ledger (积分善治): signed entries, balance = their sum, never negative, every posting idempotent.

Source: ../shared/DESIGN.md "Points (积分善治)" and issue 6. Numbers (level → points, the daily cap, the mall days)
are data: ``data/points/policy.yml`` (:func:`load_points_policy`). Tables: :mod:`workflow.points_models`.

A *holder* is the channel sender id of a case's reporter (``cases.reporter_id``) for now; the grid model's
``resident_channels`` will later bind sender ids to residents (see :mod:`workflow.points_models`).

Rules (change them here, once):

- **Report award.** A report earns ``report_points[importance_level]`` points (10/20/30 for levels 1/2/3) when it
  is accepted (by a dispatcher, by auto-accept, an emergency too), posted in the acceptance's own transaction
  (:meth:`PointsLedger.award_for_case`, called by :mod:`workflow.lifecycle`), source ``case:<case_id>:report``. A
  report rejected before acceptance (invalid, out of scope, duplicate) never earns anything.
- **Daily cap.** Report awards of one holder count towards ``daily_report_cap`` (60) per Asia/Shanghai day *on
  which the report was filed* (``cases.created_at``; ``points_entries.report_day``), so a dispatcher accepting a
  weekend's reports on Monday morning does not cut them. An award that would pass the cap is cut to what is left
  (``data.capped``); once the cap is reached the entry is still written with 0 points (the resident is told why,
  and the source stays idempotent). Reversals do not give cap room back. Activities and refunds are not capped.
- **Reversal.** A report later found false: a reject after acceptance (the state machine allows ``rejected`` from
  ``accepted`` and ``returned``) reverses its award in the reject's transaction
  (:meth:`PointsLedger.reverse_for_case`), source ``case:<case_id>:reversal``, idempotent. The balance never goes
  negative: the reversal takes what the balance has (``amount`` = −min(award, balance)) and the rest is recorded as
  ``data.shortfall`` and added to the account's ``owed``; every later credit (award, activity, refund) first pays
  off ``owed`` with a ``settlement`` entry (source ``<credit source>:settlement``). So points spent in the mall
  before a report was found false are still taken back, from what comes next, without a negative balance.
- **Idempotency.** ``points_entries.source`` is unique; posting an existing source returns the entry already there
  and writes nothing (no second notification either).
- **Concurrency.** Every posting first locks the holder's ``points_accounts`` row (an UPDATE of it: a row lock on
  PostgreSQL, the database write lock on SQLite), then reads the balance, the cap and the source; so two postings
  for one holder run one after the other and never spend the same points twice. The cached ``balance`` is changed
  by the same amount as the entry (CHECK ``balance >= 0``).
- **Notices.** The resident is told in Chinese through the outbox in the same transaction. A report's award or
  reversal is one sentence appended to the acceptance's (rejection's) own message to the resident, with
  ``data["points"]`` (``source``, ``amount``, ``balance``): each step writes at most one message per resident, which
  :meth:`workflow.notifications.Outbox.messages_for_resident`'s ``since`` relies on. An auto-acceptance while the
  resident is filing is told in that conversation (its message is recorded as delivered, not pushed): the bot's
  reply should name the points itself (:meth:`PointsLedger.entries`). Without a step message (a direct call) the
  ledger enqueues ``points_awarded`` / ``points_reversed`` of its own; activities credit with ``points_awarded``,
  refunds with ``redemption_returned``, on the channel of the holder's latest case (none: REST clients fetch them).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from workflow.cases import Clock, utc_now
from workflow.exceptions import JuhaobanError, ReferenceDataError
from workflow.models import Case, Notification
from workflow.notifications import NotificationKind, Recipient, enqueue
from workflow.points_models import PointsAccount, PointsEntry
from workflow.settings import DEFAULT_DATA_DIR
from workflow.status import CaseStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY_FILE = Path("points") / "policy.yml"
#: Longest holder id (``points_accounts.holder_id``, as ``cases.reporter_id``).
MAX_HOLDER_ID = 128
#: Upper bound of ``limit`` in the reading methods.
MAX_LIMIT = 200
_MAX_REASON = 256  # points_entries.reason

_REJECTION_LABELS = {"invalid": "经核实不属实或无效", "out_of_scope": "不属于受理范围", "duplicate": "属于重复反映"}


# ---------------------------------------------------------------------- errors
class PointsError(JuhaobanError):
    """Base of the points, volunteering and mall errors."""

    code = "points_error"


class InvalidPointsAction(PointsError):
    """Input the points services cannot take (empty holder id, bad amount …). Context: ``field`` and ``value``."""

    code = "invalid_points_action"


class InsufficientPoints(PointsError):
    """The holder's balance does not cover a spend. Context: ``holder``, ``balance``, ``needed`` (points)."""

    code = "insufficient_points"


# ---------------------------------------------------------------------- policy
@dataclass(frozen=True)
class PointsPolicy:
    """The county's points rules (``data/points/policy.yml``); days are days of the month in Asia/Shanghai.

    Attributes:
        report_points: Importance level (1–3) → points for an accepted report.
        daily_report_cap: Points at most from reports filed on one day, per holder (≥ 0; 0 = no report points).
        max_activity_points: The most points one volunteer activity may give each attendee (≥ 1).
        exchange_day: Day of the month on which the mall redeems (1–28).
        collection_days: ``(first, last)`` days of the same month on which goods are handed out, inclusive
            (exchange_day < first ≤ last ≤ 28).
        max_quantity: Pieces one redemption may take (≥ 1).
    """

    report_points: Mapping[int, int] = field(default_factory=lambda: {1: 10, 2: 20, 3: 30})
    daily_report_cap: int = 60
    max_activity_points: int = 100
    exchange_day: int = 5
    collection_days: tuple[int, int] = (7, 14)
    max_quantity: int = 5

    def __post_init__(self) -> None:
        levels = dict(self.report_points)
        if sorted(levels) != [1, 2, 3] or any(not _whole(v) or v < 0 for v in levels.values()):
            raise ValueError("report_points must give whole points ≥ 0 for levels 1, 2 and 3")
        object.__setattr__(self, "report_points", levels)
        if not _whole(self.daily_report_cap) or self.daily_report_cap < 0:
            raise ValueError("daily_report_cap must be a whole number ≥ 0")
        if not _whole(self.max_activity_points) or self.max_activity_points < 1:
            raise ValueError("max_activity_points must be a whole number ≥ 1")
        if not _whole(self.max_quantity) or self.max_quantity < 1:
            raise ValueError("max_quantity must be a whole number ≥ 1")
        days = tuple(self.collection_days)
        if len(days) != 2 or not all(_whole(d) for d in (self.exchange_day, *days)):
            raise ValueError("exchange_day and collection_days [first, last] must be days of the month")
        if not 1 <= self.exchange_day < days[0] <= days[1] <= 28:
            raise ValueError("need 1 ≤ exchange_day < first collection day ≤ last collection day ≤ 28")
        object.__setattr__(self, "collection_days", days)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def load_points_policy(data_dir: Path) -> PointsPolicy:
    """Read ``<data_dir>/points/policy.yml``; the defaults (10/20/30, cap 60, mall 5th, 7th–14th) when absent.

    Raises:
        ReferenceDataError: Unreadable YAML, an unknown key, or a value out of range (the message names it).
    """
    path = Path(data_dir) / POLICY_FILE
    if not path.exists():
        return PointsPolicy()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError("expected a mapping")
        mall = raw.pop("mall", {}) or {}
        unknown = (set(raw) - {"report_points", "daily_report_cap", "max_activity_points"}) | (
            set(mall) - {"exchange_day", "collection_days", "max_quantity"})
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        values: dict[str, Any] = {key: raw[key] for key in raw}
        if "report_points" in values:
            values["report_points"] = {int(k): v for k, v in dict(values["report_points"]).items()}
        values.update({key: mall[key] for key in mall})
        if "collection_days" in values:
            values["collection_days"] = tuple(values["collection_days"])
        return PointsPolicy(**values)
    except (yaml.YAMLError, ValueError, TypeError) as error:
        raise ReferenceDataError(f"{path}: {error}", path=str(path)) from None


@functools.lru_cache(maxsize=1)
def default_points_policy() -> PointsPolicy:
    """The policy of the repository's ``data/points/policy.yml`` (read once per process)."""
    return load_points_policy(DEFAULT_DATA_DIR)


# ---------------------------------------------------------------------- views
@dataclass(frozen=True)
class EntryView:
    """A ledger entry as callers see it.

    Attributes:
        id: Row id (entries of a holder are ordered by it).
        holder_id: Whose points.
        amount: Signed points (+ credit, − debit; 0 for an award cut to nothing by the daily cap).
        kind: ``report``, ``reversal``, ``activity``, ``redemption``, ``refund`` or ``settlement``.
        source: The idempotency key (``case:JL…:report`` …).
        reason: Chinese, for the resident (``举报工单JL…受理（2级）``).
        at: When it was posted (aware UTC).
        balance_after: The holder's balance right after it (points).
        data: Details: ``case_id``, ``importance_level``, ``capped``, ``shortfall``, ``settled`` …
    """

    id: int
    holder_id: str
    amount: int
    kind: str
    source: str
    reason: str
    at: dt.datetime
    balance_after: int
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; ``at`` as ISO 8601 with offset."""
        return {"id": self.id, "holder_id": self.holder_id, "amount": self.amount, "kind": self.kind,
                "source": self.source, "reason": self.reason, "at": self.at.isoformat(),
                "balance_after": self.balance_after, "data": dict(self.data)}


@dataclass(frozen=True)
class PointsSummary:
    """What "我的积分" shows: ``balance`` and ``owed`` (points) and the last entries, newest first."""

    holder_id: str
    balance: int
    owed: int
    entries: list[EntryView]


def entry_view(row: PointsEntry) -> EntryView:
    return EntryView(id=row.id, holder_id=row.holder_id, amount=row.amount, kind=row.kind, source=row.source,
                     reason=row.reason, at=row.at, balance_after=row.balance_after, data=dict(row.data or {}))


@dataclass(frozen=True)
class Posting:
    """The result of a posting inside a transaction: the entry, and whether this call wrote it (False: the source
    was already posted, nothing was written)."""

    entry: EntryView
    created: bool


# ---------------------------------------------------------------------- the ledger
class PointsLedger:
    """Posts and reads points. Posting methods take the caller's ``session`` (one transaction with the change that
    earns or spends the points: an acceptance, a redemption) and never commit; reading methods open their own.

    Args:
        session_factory: From :func:`workflow.db.make_session_factory`, over a migrated database.
        clock: Aware ``now`` for the reading helpers and postings without ``now``; default
            :func:`workflow.cases.utc_now`.
        policy: The points rules; default ``data/points/policy.yml`` of the repository.
    """

    def __init__(self, session_factory: sessionmaker | None = None, *, clock: Clock | None = None,
                 policy: PointsPolicy | None = None) -> None:
        self._session_factory = session_factory
        self._clock = clock or utc_now
        self.policy = policy or default_points_policy()

    # ------------------------------------------------------------------ cases
    def award_for_case(self, session: Session, case: Case, now: dt.datetime | None = None, *,
                       step_messages: Sequence[Notification] = ()) -> Posting | None:
        """Award an accepted report's points (rules "Report award" and "Daily cap" in the module docstring).

        Call inside the acceptance's transaction, after the case is ``accepted`` with its ``importance_level``.
        Holder: ``case.reporter_id``; source ``case:<case_id>:report``.

        Args:
            step_messages: The outbox rows the acceptance itself wrote (:func:`workflow.case_messages.notify_transition`).
                When one is for the resident, the points sentence is appended to it (and ``data["points"]`` set):
                one message per step and resident. Otherwise a ``points_awarded`` notice of its own is enqueued.

        Returns:
            The posting (``created`` False when the case was already awarded: nothing written, nobody told again);
            None when the case is not accepted, has no importance level, or its award was already reversed.
        """
        now = self._when(now)
        if case.status != CaseStatus.ACCEPTED.value or case.importance_level not in self.policy.report_points:
            return None
        source = f"case:{case.case_id}:report"
        holder = _holder(case.reporter_id)
        balance, owed = lock_account(session, holder, now)
        existing = _entry_by_source(session, source)
        if existing is not None:
            return Posting(entry_view(existing), False)
        if _entry_by_source(session, f"case:{case.case_id}:reversal") is not None:
            return None
        level = int(case.importance_level)
        points = self.policy.report_points[level]
        cap = self.policy.daily_report_cap
        day = case.created_at.astimezone(SHANGHAI).date()
        earned = session.execute(
            select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                PointsEntry.holder_id == holder, PointsEntry.kind == "report", PointsEntry.report_day == day)
        ).scalar_one()
        amount = max(0, min(points, cap - int(earned)))
        data: dict[str, Any] = {"case_id": case.case_id, "importance_level": level, "points": points}
        reason = f"反映问题被受理：工单{case.case_id}（{level}级）"
        if amount < points:
            data["capped"] = points - amount
            reason += f"，当日举报积分上限{cap}分"
        entry, settled = _credit(session, holder, balance, owed, amount, "report", source, reason, now, data,
                                 report_day=day)
        if amount == points:
            sentence = f"本次反映获得{amount}积分。"
        elif amount > 0:
            sentence = f"按{level}级应得{points}积分；您当天反映问题所得积分已达每日上限{cap}分，本次获得{amount}积分。"
        else:
            sentence = f"您当天反映问题所得积分已达每日上限{cap}分，本次不再加分，感谢您的反映！"
        sentence += _settled_text(settled) + f"当前积分余额{entry.balance_after}分。"
        if not _append_to_step_message(step_messages, holder, sentence, entry):
            _notify(session, holder, NotificationKind.POINTS_AWARDED,
                    f"【积分到账】您反映的问题（工单{case.case_id}）已受理，{sentence}", now, entry,
                    channel=case.channel, case_pk=case.id)
        return Posting(entry, True)

    def reverse_for_case(self, session: Session, case: Case, now: dt.datetime | None = None, *,
                         step_messages: Sequence[Notification] = ()) -> Posting | None:
        """Take back a report's award when it is rejected after acceptance (rule "Reversal").

        Call inside the reject's transaction. Source ``case:<case_id>:reversal``; amount −min(award, balance), the
        rest in ``data.shortfall`` and the account's ``owed``.

        Args:
            step_messages: The rejection's own outbox rows: the sentence is appended to the resident's one, or a
                ``points_reversed`` notice of its own is enqueued.

        Returns:
            The posting (``created`` False when already reversed); None when the case has no award or got 0.
        """
        now = self._when(now)
        holder = _holder(case.reporter_id)
        award = _entry_by_source(session, f"case:{case.case_id}:report")
        if award is None or award.amount <= 0:
            return None
        source = f"case:{case.case_id}:reversal"
        balance, owed = lock_account(session, holder, now)
        existing = _entry_by_source(session, source)
        if existing is not None:
            return Posting(entry_view(existing), False)
        taken = min(award.amount, balance)
        shortfall = award.amount - taken
        why = _REJECTION_LABELS.get(case.rejection_reason or "", "经核实不予受理")
        data = {"case_id": case.case_id, "awarded": award.amount, "shortfall": shortfall,
                "rejection_reason": case.rejection_reason}
        entry = _insert(session, holder, -taken, "reversal", source, f"工单{case.case_id}{why}，撤回积分", now,
                        balance - taken, data, owed_delta=shortfall)
        sentence = f"此前因该工单获得的{award.amount}积分已撤回。"
        if shortfall:
            sentence += f"您的积分余额不足，还差{shortfall}分，将从您以后获得的积分中扣除。"
        sentence += f"当前积分余额{entry.balance_after}分。"
        if not _append_to_step_message(step_messages, holder, sentence, entry):
            _notify(session, holder, NotificationKind.POINTS_REVERSED,
                    f"【积分撤回】您反映的问题（工单{case.case_id}）{why}，{sentence}", now, entry,
                    channel=case.channel, case_pk=case.id)
        return Posting(entry, True)

    # ------------------------------------------------------------------ other credits and debits
    def credit(self, session: Session, holder: str, amount: int, *, kind: str, source: str, reason: str,
               now: dt.datetime | None = None, data: Mapping[str, Any] | None = None,
               notice: str | None = None,
               notice_kind: NotificationKind = NotificationKind.POINTS_AWARDED) -> Posting:
        """Credit ``amount`` points (≥ 1) on ``source`` (idempotent), paying off ``owed`` first (a settlement entry).

        Args:
            kind: ``activity`` or ``refund``.
            notice: The Chinese notice for the resident, without the balance (appended); None: no notice.
            notice_kind: The notice's kind (``points_awarded``; ``redemption_returned`` for a refund).

        Raises:
            InvalidPointsAction: Bad holder, amount, kind or reason.
        """
        now = self._when(now)
        holder = _holder(holder)
        if kind not in ("activity", "refund"):
            raise InvalidPointsAction(f"cannot credit kind {kind!r}", field="kind", value=kind)
        amount = _points(amount, "amount")
        balance, owed = lock_account(session, holder, now)
        existing = _entry_by_source(session, source)
        if existing is not None:
            return Posting(entry_view(existing), False)
        entry, settled = _credit(session, holder, balance, owed, amount, kind, source, _reason(reason), now,
                                 dict(data or {}))
        if notice:
            text = notice + _settled_text(settled) + f"当前积分余额{entry.balance_after}分。"
            _notify(session, holder, notice_kind, text, now, entry, channel=latest_channel(session, holder))
        return Posting(entry, True)

    def spend(self, session: Session, holder: str, amount: int, *, source: str, reason: str,
              now: dt.datetime | None = None, data: Mapping[str, Any] | None = None) -> Posting:
        """Debit ``amount`` points (≥ 1) for a redemption, on ``source`` (idempotent).

        Raises:
            InsufficientPoints: The balance is below ``amount`` (nothing written; the caller rolls back).
            InvalidPointsAction: Bad holder or amount.
        """
        now = self._when(now)
        holder = _holder(holder)
        amount = _points(amount, "amount")
        balance, _owed = lock_account(session, holder, now)
        existing = _entry_by_source(session, source)
        if existing is not None:
            return Posting(entry_view(existing), False)
        if balance < amount:
            raise InsufficientPoints(f"{holder} has {balance} points, needs {amount}", holder=holder,
                                     balance=balance, needed=amount)
        entry = _insert(session, holder, -amount, "redemption", source, _reason(reason), now, balance - amount,
                        dict(data or {}))
        return Posting(entry, True)

    # ------------------------------------------------------------------ reading
    def balance(self, holder: str) -> int:
        """The holder's balance in points (0 for a holder never credited)."""
        with self._sessions() as session:
            value = session.execute(
                select(PointsAccount.balance).where(PointsAccount.holder_id == _holder(holder))).scalar_one_or_none()
            return int(value or 0)

    def entries(self, holder: str, limit: int = 10) -> list[EntryView]:
        """The holder's last ``limit`` (1–200) entries, newest first.

        Raises:
            ValueError: ``limit`` out of range.
        """
        limit = _limit(limit)
        with self._sessions() as session:
            rows = session.execute(select(PointsEntry).where(PointsEntry.holder_id == _holder(holder))
                                   .order_by(PointsEntry.id.desc()).limit(limit)).scalars()
            return [entry_view(row) for row in rows]

    def summary(self, holder: str, limit: int = 5) -> PointsSummary:
        """"我的积分": balance, owed and the last ``limit`` entries, newest first, read in one session."""
        limit = _limit(limit)
        who = _holder(holder)
        with self._sessions() as session:
            account = session.execute(select(PointsAccount.balance, PointsAccount.owed)
                                      .where(PointsAccount.holder_id == who)).one_or_none()
            rows = session.execute(select(PointsEntry).where(PointsEntry.holder_id == who)
                                   .order_by(PointsEntry.id.desc()).limit(limit)).scalars()
            entries = [entry_view(row) for row in rows]
        return PointsSummary(who, int(account.balance) if account else 0, int(account.owed) if account else 0,
                             entries)

    # ------------------------------------------------------------------ machinery
    def _sessions(self) -> Session:
        if self._session_factory is None:
            raise RuntimeError("this PointsLedger has no session factory (posting-only)")
        return self._session_factory()

    def _when(self, now: dt.datetime | None) -> dt.datetime:
        value = now if now is not None else self._clock()
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} rejected: pass an aware datetime")
        return value.astimezone(dt.timezone.utc)


# ---------------------------------------------------------------------- postings (caller's transaction)
def lock_account(session: Session, holder: str, now: dt.datetime) -> tuple[int, int]:
    """Create the holder's account when missing and lock it for the rest of the transaction.

    The lock is an UPDATE of the row (PostgreSQL: a row lock other writers of this holder wait for; SQLite: the
    database write lock). Read after it, the balance is the committed one.

    Returns:
        ``(balance, owed)`` in points.
    """
    values = dict(holder_id=holder, balance=0, owed=0, created_at=now, updated_at=now)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql_insert(PointsAccount).values(**values).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(PointsAccount).values(**values).on_conflict_do_nothing()
    session.execute(statement)
    session.execute(update(PointsAccount).where(PointsAccount.holder_id == holder).values(updated_at=now)
                    .execution_options(synchronize_session=False))
    row = session.execute(select(PointsAccount.balance, PointsAccount.owed)
                          .where(PointsAccount.holder_id == holder)).one()
    return int(row.balance), int(row.owed)


def latest_channel(session: Session, holder: str) -> str | None:
    """The channel of the holder's latest case (where a notice reaches them), or None."""
    return session.execute(select(Case.channel).where(Case.reporter_id == holder)
                           .order_by(Case.created_at.desc(), Case.id.desc()).limit(1)).scalar_one_or_none()


def _credit(session: Session, holder: str, balance: int, owed: int, amount: int, kind: str, source: str,
            reason: str, now: dt.datetime, data: dict[str, Any], *,
            report_day: dt.date | None = None) -> tuple[EntryView, int]:
    """Post a credit (the account locked) and settle owed points from it; returns the entry (its ``balance_after``
    after the settlement) and the points settled."""
    settled = min(owed, amount)
    if settled:
        data = {**data, "settled": settled}
    entry = _insert(session, holder, amount, kind, source, reason, now, balance + amount, data,
                    report_day=report_day)
    if not settled:
        return entry, 0
    settlement = _insert(session, holder, -settled, "settlement", f"{source}:settlement",
                         "抵扣此前撤回时不足的积分", now, balance + amount - settled, {"for": source},
                         owed_delta=-settled)
    return replace(entry, balance_after=settlement.balance_after), settled


def _insert(session: Session, holder: str, amount: int, kind: str, source: str, reason: str, now: dt.datetime,
            balance_after: int, data: dict[str, Any], *, report_day: dt.date | None = None,
            owed_delta: int = 0) -> EntryView:
    row = PointsEntry(holder_id=holder, amount=amount, kind=kind, source=source, reason=reason[:_MAX_REASON],
                      at=now, balance_after=balance_after, report_day=report_day, data=data)
    session.add(row)
    session.execute(update(PointsAccount).where(PointsAccount.holder_id == holder)
                    .values(balance=PointsAccount.balance + amount, owed=PointsAccount.owed + owed_delta,
                            updated_at=now).execution_options(synchronize_session=False))
    session.flush([row])
    return entry_view(row)


def _entry_by_source(session: Session, source: str) -> PointsEntry | None:
    return session.execute(select(PointsEntry).where(PointsEntry.source == source)).scalar_one_or_none()


def _notify(session: Session, holder: str, kind: NotificationKind, text: str, now: dt.datetime, entry: EntryView,
            *, channel: str | None, case_pk: int | None = None) -> None:
    enqueue(session, now=now, kind=kind, recipient_role=Recipient.RESIDENT, recipient_id=holder, text=text,
            channel=channel, case_pk=case_pk,
            data={"source": entry.source, "amount": entry.amount, "balance": entry.balance_after,
                  "entry_id": entry.id, **{k: v for k, v in entry.data.items() if k == "case_id"}})


def _append_to_step_message(messages: Sequence[Notification], holder: str, sentence: str, entry: EntryView) -> bool:
    """Append ``sentence`` to the step's message for ``holder`` (resident), if there is one; True when done."""
    for row in messages:
        if row.recipient_role == Recipient.RESIDENT.value and row.recipient_id == holder:
            row.text = row.text.rstrip() + sentence
            row.data = {**dict(row.data or {}), "points": {"source": entry.source, "amount": entry.amount,
                                                            "balance": entry.balance_after, "entry_id": entry.id}}
            return True
    return False


def _settled_text(settled: int) -> str:
    return f"其中{settled}分用于抵扣此前撤回时不足的积分。" if settled else ""


def _holder(holder: Any) -> str:
    who = holder.strip() if isinstance(holder, str) else ""
    if not who or len(who) > MAX_HOLDER_ID:
        raise InvalidPointsAction(f"holder id must be 1–{MAX_HOLDER_ID} characters", field="holder",
                                  value=repr(holder)[:40])
    return who


def _points(value: Any, name: str) -> int:
    if not _whole(value) or value < 1:
        raise InvalidPointsAction(f"{name} must be a whole number of points ≥ 1", field=name, value=repr(value))
    return value


def _reason(reason: Any) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise InvalidPointsAction("a reason is required", field="reason")
    return text


def _limit(limit: Any) -> int:
    if not _whole(limit) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit
