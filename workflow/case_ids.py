"""Case numbers (工单编号) like ``JL20261129-0007``: ``JL`` + filing date in Asia/Shanghai + ``-`` + that day's sequence.

The sequence is a row per day in ``case_sequences``, bumped by ``UPDATE … SET last = last + 1`` inside the filing
transaction. On PostgreSQL the UPDATE takes the row lock, so concurrent filings queue on it and get consecutive
numbers; a rolled-back filing gives its number back. On SQLite the UPDATE takes the database write lock (other
writers wait up to the busy timeout). The first filing of a day inserts the row; when two race to insert it, the
loser gets an IntegrityError, rolls back to its savepoint and bumps the row the winner created.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.models import CaseSequence
from workflow.settings import TIMEZONE

CASE_ID_PREFIX = "JL"  # 巨鹿
_TZ = ZoneInfo(TIMEZONE)
_MAX_ATTEMPTS = 5


def case_day(at: dt.datetime) -> str:
    """Return the Asia/Shanghai date of ``at`` as ``YYYYMMDD``.

    Raises:
        ValueError: ``at`` is naive.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()} rejected: pass an aware datetime")
    return at.astimezone(_TZ).strftime("%Y%m%d")


def format_case_id(day: str, number: int) -> str:
    """Return ``JL<day>-<number>`` with the number zero-padded to at least 4 digits (10,000+ a day widens it)."""
    return f"{CASE_ID_PREFIX}{day}-{number:04d}"


def next_case_number(session: Session, day: str) -> int:
    """Allocate the next number of ``day`` (``YYYYMMDD``) in the caller's transaction and return it (1, 2, …).

    The number is final only when the caller commits; until then other filings of the same day wait (row lock on
    PostgreSQL, write lock on SQLite).

    Raises:
        RuntimeError: The row could neither be bumped nor inserted after several attempts (should not happen).
    """
    bump = (
        update(CaseSequence)
        .where(CaseSequence.day == day)
        .values(last=CaseSequence.last + 1)
        .execution_options(synchronize_session=False)
    )
    for _ in range(_MAX_ATTEMPTS):
        if session.execute(bump).rowcount == 1:
            # Our transaction holds the row (lock) now, so this reads our own increment.
            return session.execute(select(CaseSequence.last).where(CaseSequence.day == day)).scalar_one()
        try:
            with session.begin_nested():
                session.add(CaseSequence(day=day, last=1))
                session.flush()
            return 1
        except IntegrityError:
            # Another filing inserted the day's row first; bump that row instead.
            continue
    raise RuntimeError(f"could not allocate a case number for {day} after {_MAX_ATTEMPTS} attempts")


def allocate_case_id(session: Session, filed_at: dt.datetime) -> str:
    """Allocate the case id of a case filed at ``filed_at`` (aware) in the caller's transaction.

    Raises:
        ValueError: ``filed_at`` is naive.
    """
    day = case_day(filed_at)
    return format_case_id(day, next_case_number(session, day))
