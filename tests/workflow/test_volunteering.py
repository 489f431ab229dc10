"""Volunteer activities (文明实践) on SQLite and PostgreSQL: registration, confirmation by the organiser only and not
before the day, each attendee credited once (idempotent, also under concurrent confirmations), notices."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from workflow.points import InvalidPointsAction, PointsLedger
from workflow.volunteering import ActivityNotFound, ActivityNotHeld, NotOrganiser, Volunteering

UTC = dt.timezone.utc
ORGANISER = "王虎寨镇文明实践所-李"
# Saturday 5 December 2026, 10:00 Asia/Shanghai.
SATURDAY = dt.date(2026, 12, 5)


@pytest.fixture
def volunteering(session_factory, clock) -> Volunteering:
    return Volunteering(session_factory, clock=clock)


@pytest.fixture
def ledger(session_factory, clock) -> PointsLedger:
    return PointsLedger(session_factory, clock=clock)


def cleanup(volunteering, points=20):
    return volunteering.register(title="清理村内垃圾", held_on=SATURDAY, points=points, organiser=ORGANISER,
                                 place="王虎寨村")


def test_an_organiser_registers_an_activity(volunteering):
    activity = cleanup(volunteering)
    assert (activity.title, activity.held_on, activity.points, activity.attendees) == ("清理村内垃圾", SATURDAY, 20, 0)
    assert volunteering.activity(activity.id) == activity
    assert volunteering.activities(since=SATURDAY) == [activity]
    assert volunteering.activities(since=SATURDAY + dt.timedelta(days=1)) == []


@pytest.mark.parametrize(
    "overrides,field",
    [(dict(points=0), "points"), (dict(points=101), "points"), (dict(points=2.5), "points"),
     (dict(title=" "), "title"), (dict(organiser=""), "organiser"), (dict(held_on="2026-12-05"), "held_on")],
)
def test_registration_refuses_bad_values(volunteering, overrides, field):
    values = dict(title="义务植树", held_on=SATURDAY, points=10, organiser=ORGANISER)
    values.update(overrides)
    with pytest.raises(InvalidPointsAction) as raised:
        volunteering.register(**values)
    assert raised.value.context["field"] == field


def test_confirmed_attendees_are_credited_once_each(volunteering, ledger, clock, outbox):
    activity = cleanup(volunteering)
    clock.now = dt.datetime(2026, 12, 5, 8, 0, tzinfo=UTC)  # 16:00 on the day
    results = volunteering.confirm_attendees(activity.id, ["wx-b", "wx-a", " wx-a "], by=ORGANISER)
    assert [(r.holder_id, r.credited, r.points) for r in results] == [("wx-a", True, 20), ("wx-b", True, 20)]
    again = volunteering.confirm_attendees(activity.id, ["wx-a", "wx-c"], by=ORGANISER)
    assert [(r.holder_id, r.credited) for r in again] == [("wx-a", False), ("wx-c", True)]
    assert [ledger.balance(h) for h in ("wx-a", "wx-b", "wx-c")] == [20, 20, 20]
    (entry,) = ledger.entries("wx-a")
    assert (entry.kind, entry.source, entry.amount) == ("activity", f"activity:{activity.id}:wx-a", 20)
    assert volunteering.activity(activity.id).attendees == 3
    (notice,) = outbox.messages_for_resident("wx-a")
    assert notice.kind == "points_awarded"
    assert notice.text == "【积分到账】感谢您参加文明实践活动“清理村内垃圾”（12月5日），获得20积分。当前积分余额20分。"


def test_two_activities_credit_the_same_attendee_twice(volunteering, ledger, clock):
    clock.now = dt.datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    first, second = cleanup(volunteering, 20), cleanup(volunteering, 100)
    volunteering.confirm_attendees(first.id, ["wx-a"], by=ORGANISER)
    volunteering.confirm_attendees(second.id, ["wx-a"], by=ORGANISER)
    assert ledger.balance("wx-a") == 120  # activity points are not capped like report points


def test_only_the_organiser_confirms(volunteering, clock):
    activity = cleanup(volunteering)
    clock.now = dt.datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    with pytest.raises(NotOrganiser):
        volunteering.confirm_attendees(activity.id, ["wx-a"], by="somebody-else")
    with pytest.raises(ActivityNotFound):
        volunteering.confirm_attendees(activity.id + 99, ["wx-a"], by=ORGANISER)


def test_attendees_are_not_confirmed_before_the_shanghai_day_of_the_activity(volunteering, clock, ledger):
    activity = cleanup(volunteering)
    clock.now = dt.datetime(2026, 12, 4, 15, 59, tzinfo=UTC)  # 23:59 on the 4th in Shanghai
    with pytest.raises(ActivityNotHeld):
        volunteering.confirm_attendees(activity.id, ["wx-a"], by=ORGANISER)
    clock.now = dt.datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # 00:00 on the 5th
    assert volunteering.confirm_attendees(activity.id, ["wx-a"], by=ORGANISER)[0].credited
    assert ledger.balance("wx-a") == 20


@pytest.mark.parametrize("holders", [[], [""], "wx-a", ["x" * 129]])
def test_confirmation_needs_proper_holder_ids(volunteering, clock, holders):
    activity = cleanup(volunteering)
    clock.now = dt.datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    with pytest.raises(InvalidPointsAction):
        volunteering.confirm_attendees(activity.id, holders, by=ORGANISER)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_confirmations_credit_each_attendee_once(volunteering, ledger, clock):
    activity = cleanup(volunteering)
    clock.now = dt.datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    barrier, credited, errors = threading.Barrier(6), [], []

    def confirm() -> None:
        barrier.wait()
        try:
            results = volunteering.confirm_attendees(activity.id, ["wx-a", "wx-b", "wx-c"], by=ORGANISER)
            credited.extend(r.holder_id for r in results if r.credited)
        except Exception as error:  # noqa: BLE001 - the test reports any
            errors.append(error)

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(credited) == ["wx-a", "wx-b", "wx-c"]
    assert [ledger.balance(h) for h in ("wx-a", "wx-b", "wx-c")] == [20, 20, 20]
