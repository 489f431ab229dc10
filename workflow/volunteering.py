"""Volunteer activities (新时代文明实践): an organiser registers an activity with its points, then confirms who
attended; each attendee is credited once through the points ledger (source ``activity:<id>:<holder>``).

Source: ../shared/DESIGN.md "Points (积分善治)" ("Volunteer activities (文明实践) earn points set per activity") and
issue 6. Rules:

- ``points`` per attendee is set per activity: a whole number from 1 to the policy's ``max_activity_points`` (100,
  ``data/points/policy.yml``). Activity points do not count towards the daily cap of report points.
- Only the organiser who registered it confirms attendees (staff identity as a string, e.g. the console account's
  display name; the admin API decides who may register at all), and not before the day it is held (``held_on``,
  an Asia/Shanghai date).
- Confirming is idempotent: an attendee already confirmed is reported back with ``credited=False`` and nothing is
  written. Each confirmation is one transaction for all the holders given (sorted, so two confirmations never wait
  on each other in a circle).
- Holders are channel sender ids, like the reporters of cases (see :mod:`workflow.points_models`); each credited
  attendee is told (``points_awarded``) on the channel of their latest case.
- **Attendees by phone** (:meth:`Volunteering.holders_by_phone`, the console's sign-in sheet: one number a line).
  A number is one attendee, credited on **one** holder, so a person with two chats is not paid twice: the sender id
  of a chat bound to a resident registered with that number (``resident_channels`` of
  :func:`workflow.grids.residents_by_phone`; the latest bound first), else the reporter (``cases.reporter_id``) of
  the latest case filed with that ``reporter_phone``. A number that finds neither is ``not_found`` (the person has
  never written to 巨好办 and is not bound: nothing can be credited yet); a line that is not a mainland number is
  ``invalid``; a number given twice counts once (``repeated``). Numbers are compared in
  :func:`workflow.phones.normalize_phone`'s canonical form (as stored on residents and cases).
- The other way, for showing an attendee (:func:`holder_phones`): the phone of the resident bound to the sender id,
  else the ``reporter_phone`` of the holder's latest case that has one (pages show it masked).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from workflow.cases import Clock, utc_now
from workflow.models import Case, Resident, ResidentChannel
from workflow.phones import normalize_phone
from workflow.points import SHANGHAI, InvalidPointsAction, PointsError, PointsLedger, lock_account
from workflow.points_models import VolunteerActivity, VolunteerAttendance

_MAX_TITLE = 128
_MAX_ORGANISER = 128
_MAX_ATTENDEES = 500


class ActivityNotFound(PointsError):
    """No volunteer activity has the id. Context: ``activity_id``."""

    code = "activity_not_found"


class NotOrganiser(PointsError):
    """Somebody other than the activity's organiser tried to confirm attendees. Context: ``activity_id``, ``by``."""

    code = "not_organiser"


class ActivityNotHeld(PointsError):
    """Attendees confirmed before the activity's day. Context: ``activity_id``, ``held_on`` (ISO date)."""

    code = "activity_not_held"


@dataclass(frozen=True)
class ActivityView:
    """A volunteer activity: ``points`` per attendee, ``held_on`` an Asia/Shanghai date, ``attendees`` confirmed."""

    id: int
    title: str
    held_on: dt.date
    points: int
    organiser: str
    place: str | None
    attendees: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "held_on": self.held_on.isoformat(), "points": self.points,
                "organiser": self.organiser, "place": self.place, "attendees": self.attendees}


@dataclass(frozen=True)
class AttendeeView:
    """A confirmed attendee: the holder (sender id), when and by whom confirmed (aware UTC; the organiser), and the
    holder's phone when one is known (:func:`holder_phones`; None otherwise)."""

    holder_id: str
    confirmed_at: dt.datetime
    confirmed_by: str
    phone: str | None


@dataclass(frozen=True)
class PhoneMatch:
    """One line of a sign-in sheet: ``line`` as typed, ``phone`` canonical (None when ``invalid``), ``holder_id``
    the holder it is credited on (None unless ``status`` is ``found``); ``status`` ``found``, ``not_found``,
    ``invalid`` or ``repeated``."""

    line: str
    phone: str | None
    holder_id: str | None
    status: str


@dataclass(frozen=True)
class Confirmation:
    """One attendee of a confirmation: ``credited`` True when this call credited ``points``, False when the holder
    had been confirmed before (nothing written)."""

    holder_id: str
    credited: bool
    points: int


class Volunteering:
    """Registers activities and confirms attendees.

    Args:
        session_factory: Over a migrated database.
        clock: Aware ``now``; default :func:`workflow.cases.utc_now`.
        ledger: The points ledger (its policy gives ``max_activity_points``); default one over ``session_factory``.
    """

    def __init__(self, session_factory: sessionmaker, *, clock: Clock | None = None,
                 ledger: PointsLedger | None = None) -> None:
        self._session_factory = session_factory
        self._clock = clock or utc_now
        self._ledger = ledger or PointsLedger(session_factory, clock=self._clock)

    def register(self, *, title: str, held_on: dt.date, points: int, organiser: str,
                 place: str | None = None) -> ActivityView:
        """Register an activity.

        Args:
            title: 1–128 characters (``清理村内垃圾``).
            held_on: The day it is held (Asia/Shanghai date).
            points: Points per attendee, 1–``max_activity_points``.
            organiser: Who organises it and alone may confirm attendees (1–128 characters).
            place: Optional, at most 128 characters.

        Raises:
            InvalidPointsAction: A value out of range (``field`` names it).
        """
        text = _text(title, "title", _MAX_TITLE)
        who = _text(organiser, "organiser", _MAX_ORGANISER)
        where = (place or "").strip() or None
        if where is not None and len(where) > _MAX_TITLE:
            raise InvalidPointsAction("place is too long", field="place")
        if not isinstance(held_on, dt.date) or isinstance(held_on, dt.datetime):
            raise InvalidPointsAction("held_on must be a date", field="held_on", value=repr(held_on))
        limit = self._ledger.policy.max_activity_points
        if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= limit:
            raise InvalidPointsAction(f"points must be a whole number from 1 to {limit}", field="points",
                                      value=repr(points))
        with self._session_factory.begin() as session:
            row = VolunteerActivity(title=text, held_on=held_on, points=points, organiser=who, place=where,
                                    created_at=self._now())
            session.add(row)
            session.flush()
            return _view(row, 0)

    def confirm_attendees(self, activity_id: int, holder_ids: Sequence[str], *, by: str) -> list[Confirmation]:
        """Confirm who attended and credit each once (source ``activity:<id>:<holder>``).

        Args:
            holder_ids: Sender ids (1–500; repeats and surrounding blanks ignored).
            by: The organiser confirming.

        Returns:
            One :class:`Confirmation` per distinct holder, in sorted order.

        Raises:
            ActivityNotFound, NotOrganiser, ActivityNotHeld: As their names say.
            InvalidPointsAction: No holders, too many, or an empty or over-long holder id.
        """
        now = self._now()
        if isinstance(holder_ids, str):
            raise InvalidPointsAction("holder_ids must be a list of sender ids", field="holder_ids")
        holders = sorted({(h or "").strip() if isinstance(h, str) else "" for h in holder_ids})
        if not holders or len(holders) > _MAX_ATTENDEES:
            raise InvalidPointsAction(f"give 1–{_MAX_ATTENDEES} attendees", field="holder_ids")
        if any(not h or len(h) > 128 for h in holders):
            raise InvalidPointsAction("an attendee's sender id is empty or too long", field="holder_ids")
        who = _text(by, "by", _MAX_ORGANISER)
        with self._session_factory.begin() as session:
            activity = _load(session, activity_id)
            if activity.organiser != who:
                raise NotOrganiser(f"activity {activity.id} is organised by somebody else", activity_id=activity.id,
                                   by=who)
            if now.astimezone(SHANGHAI).date() < activity.held_on:
                raise ActivityNotHeld(f"activity {activity.id} is held on {activity.held_on}",
                                      activity_id=activity.id, held_on=activity.held_on.isoformat())
            results = []
            for holder in holders:
                lock_account(session, holder, now)  # first: a concurrent confirmation of this holder waits here
                known = session.execute(select(VolunteerAttendance.id).where(
                    VolunteerAttendance.activity_id == activity.id, VolunteerAttendance.holder_id == holder)
                ).scalar_one_or_none()
                if known is not None:
                    results.append(Confirmation(holder, False, activity.points))
                    continue
                session.add(VolunteerAttendance(activity_id=activity.id, holder_id=holder, confirmed_at=now,
                                                confirmed_by=who))
                day = f"{activity.held_on.month}月{activity.held_on.day}日"
                self._ledger.credit(
                    session, holder, activity.points, kind="activity", source=f"activity:{activity.id}:{holder}",
                    reason=f"参加文明实践活动：{activity.title}（{day}）", now=now,
                    data={"activity_id": activity.id},
                    notice=f"【积分到账】感谢您参加文明实践活动“{activity.title}”（{day}），获得{activity.points}积分。")
                results.append(Confirmation(holder, True, activity.points))
            return results

    def activity(self, activity_id: int) -> ActivityView:
        """One activity with its number of confirmed attendees.

        Raises:
            ActivityNotFound: No such activity.
        """
        with self._session_factory() as session:
            row = _load(session, activity_id)
            return _view(row, _attendees(session, row.id))

    def recent(self, limit: int = 50) -> list[ActivityView]:
        """The console's list: the last ``limit`` (1–200) activities, newest first (latest ``held_on``, then the
        latest registered)."""
        _check_limit(limit)
        query = (select(VolunteerActivity)
                 .order_by(VolunteerActivity.held_on.desc(), VolunteerActivity.id.desc()).limit(limit))
        with self._session_factory() as session:
            rows = session.execute(query).scalars().all()
            return [_view(row, _attendees(session, row.id)) for row in rows]

    def attendees(self, activity_id: int) -> list[AttendeeView]:
        """An activity's confirmed attendees, in the order confirmed, with their phones when known.

        Raises:
            ActivityNotFound: No such activity.
        """
        with self._session_factory() as session:
            row = _load(session, activity_id)
            rows = session.execute(select(VolunteerAttendance).where(VolunteerAttendance.activity_id == row.id)
                                   .order_by(VolunteerAttendance.id)).scalars().all()
            phones = holder_phones(session, [r.holder_id for r in rows])
            return [AttendeeView(r.holder_id, r.confirmed_at, r.confirmed_by, phones.get(r.holder_id)) for r in rows]

    def holders_by_phone(self, lines: Sequence[str]) -> list[PhoneMatch]:
        """Resolve a sign-in sheet's numbers to holders (rule "Attendees by phone"); blank lines are skipped.

        Returns:
            One :class:`PhoneMatch` per non-blank line, in the order given.

        Raises:
            InvalidPointsAction: More than 500 lines.
        """
        typed = [line.strip() for line in lines if isinstance(line, str) and line.strip()]
        if len(typed) > _MAX_ATTENDEES:
            raise InvalidPointsAction(f"give at most {_MAX_ATTENDEES} numbers", field="phones")
        canonical: list[str | None] = []
        for line in typed:
            try:
                canonical.append(normalize_phone(line))
            except ValueError:
                canonical.append(None)
        wanted = sorted({phone for phone in canonical if phone})
        with self._session_factory() as session:
            found = _holders_of_phones(session, wanted) if wanted else {}
        matches, seen = [], set()
        for line, phone in zip(typed, canonical):
            if phone is None:
                matches.append(PhoneMatch(line, None, None, "invalid"))
            elif phone in seen:
                matches.append(PhoneMatch(line, phone, None, "repeated"))
            else:
                seen.add(phone)
                holder = found.get(phone)
                matches.append(PhoneMatch(line, phone, holder, "found" if holder else "not_found"))
        return matches

    def activities(self, *, since: dt.date | None = None, limit: int = 50) -> list[ActivityView]:
        """Activities held on or after ``since`` (all when None), soonest first, at most ``limit`` (1–200)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
            raise ValueError(f"limit must be from 1 to 200, got {limit!r}")
        query = select(VolunteerActivity).order_by(VolunteerActivity.held_on, VolunteerActivity.id).limit(limit)
        if since is not None:
            query = query.where(VolunteerActivity.held_on >= since)
        with self._session_factory() as session:
            rows = session.execute(query).scalars().all()
            return [_view(row, _attendees(session, row.id)) for row in rows]

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"clock returned naive datetime {now.isoformat()}")
        return now.astimezone(dt.timezone.utc)


def holder_phones(session: Session, holders: Sequence[str]) -> dict[str, str]:
    """``{holder: phone}`` for the holders whose phone is known: the resident bound to the sender id, else the
    ``reporter_phone`` of their latest case that has one. Holders without a known phone are left out."""
    wanted = sorted(set(holders))
    if not wanted:
        return {}
    phones: dict[str, str] = {}
    for reporter, phone in session.execute(
            select(Case.reporter_id, Case.reporter_phone)
            .where(Case.reporter_id.in_(wanted), Case.reporter_phone.isnot(None))
            .order_by(Case.created_at, Case.id)):
        phones[reporter] = phone  # the latest case wins
    for sender_id, phone in session.execute(
            select(ResidentChannel.sender_id, Resident.phone).join(Resident, Resident.id == ResidentChannel.resident_id)
            .where(ResidentChannel.sender_id.in_(wanted), Resident.phone.isnot(None))
            .order_by(ResidentChannel.bound_at, ResidentChannel.id)):
        phones[sender_id] = phone  # a bound resident's number before any case's
    return phones


def _holders_of_phones(session: Session, phones: Sequence[str]) -> dict[str, str]:
    """``{phone: holder}`` for canonical ``phones``: a bound chat of a resident with the number (the latest bound),
    else the reporter of the latest case filed with it."""
    holders: dict[str, str] = {}
    for phone, reporter in session.execute(
            select(Case.reporter_phone, Case.reporter_id).where(Case.reporter_phone.in_(phones))
            .order_by(Case.created_at, Case.id)):
        holders[phone] = reporter  # the latest case wins
    for phone, sender_id in session.execute(
            select(Resident.phone, ResidentChannel.sender_id)
            .join(ResidentChannel, ResidentChannel.resident_id == Resident.id)
            .where(Resident.phone.in_(phones)).order_by(ResidentChannel.bound_at, ResidentChannel.id)):
        holders[phone] = sender_id  # a bound chat before any case; the latest binding wins
    return holders


def _check_limit(limit: Any) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
        raise ValueError(f"limit must be from 1 to 200, got {limit!r}")


def _load(session: Session, activity_id: Any) -> VolunteerActivity:
    row = session.get(VolunteerActivity, activity_id) if isinstance(activity_id, int) else None
    if row is None:
        raise ActivityNotFound(f"no volunteer activity {activity_id!r}", activity_id=activity_id)
    return row


def _attendees(session: Session, activity_id: int) -> int:
    return int(session.execute(select(func.count(VolunteerAttendance.id))
                               .where(VolunteerAttendance.activity_id == activity_id)).scalar_one())


def _view(row: VolunteerActivity, attendees: int) -> ActivityView:
    return ActivityView(row.id, row.title, row.held_on, row.points, row.organiser, row.place, attendees)


def _text(value: Any, name: str, longest: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > longest:
        raise InvalidPointsAction(f"{name} must be 1–{longest} characters", field=name)
    return text
