"""The deadline jobs on SQLite and PostgreSQL: the 80% warning, overdue marks, auto-close after 3 days; each exactly
once (twice run, two racing instances); a new round after reopening; the scheduler's job kept in the database and
a restarted scheduler catching up; the sweep lock (in memory and Redis)."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import threading
import time
import uuid
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from sqlalchemy import func, inspect, select, text

import workflow.jobs.scheduler
import workflow.jobs.sweep
from workflow.db import make_engine, make_session_factory
from workflow.jobs import (
    JOB_ID,
    JOBSTORE_TABLE,
    InMemorySweepLock,
    RedisSweepLock,
    SweepLock,
    build_scheduler,
    deadline_sweep,
    run_due,
    sweep_lock,
)
from workflow.lifecycle import CaseLifecycle
from workflow.migrate import alembic_config, include_object, upgrade
from workflow.models import Case, Notification, metadata
from workflow.notifications import DISPATCH, Outbox
from workflow.settings import Settings
from workflow.status import CaseStatus
from workflow.transitions import Actor, Rating
from workflow_support import report

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
S = CaseStatus
REDIS_URL = os.environ.get("JUHAOBAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

DISPATCHER = Actor.dispatcher("dispatcher-li")
RESIDENT = Actor.resident("wx-openid-1")
ECOLOGY = Actor.unit("county_ecology", "staff-zhang")

#: The clock fixture's time (tests/conftest.py): Monday 30 November 2026, 09:30 in Asia/Shanghai.
MONDAY_MORNING = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
#: Deadlines of cases accepted then, and 80% of the wall-clock span from acceptance to them.
DEADLINES = {
    matter_type: (dt.datetime(*deadline, tzinfo=SHANGHAI), dt.datetime(*warning, tzinfo=SHANGHAI))
    for matter_type, deadline, warning in [
        ("emergency", (2026, 11, 30, 11, 30), (2026, 11, 30, 11, 6)),
        ("policy_consultation", (2026, 11, 30, 17, 30), (2026, 11, 30, 15, 54)),
        ("public_service", (2026, 12, 2, 17, 30), (2026, 12, 2, 6, 18)),
        ("other", (2026, 12, 9, 17, 30), (2026, 12, 7, 20, 42)),
    ]
}
OTHER_DEADLINE, OTHER_WARNING = DEADLINES["other"]
SECOND = dt.timedelta(seconds=1)


STEPS = {
    "accept": lambda lc, case_id: lc.accept(case_id, DISPATCHER, importance_level=2),
    "assign": lambda lc, case_id: lc.assign(case_id, DISPATCHER),
    "acknowledge": lambda lc, case_id: lc.acknowledge(case_id, ECOLOGY),
    "return": lambda lc, case_id: lc.return_case(case_id, ECOLOGY, reason="不属于本单位职责"),
    "resolve": lambda lc, case_id: lc.resolve(case_id, ECOLOGY, result="已制止焚烧"),
    "satisfied": lambda lc, case_id: lc.rate(case_id, RESIDENT, "satisfied"),
    "unsatisfied": lambda lc, case_id: lc.rate(case_id, RESIDENT, "unsatisfied"),
    "reject": lambda lc, case_id: lc.reject(case_id, DISPATCHER, reason="invalid", note="测试"),
}
TO_RESOLVED = ["accept", "assign", "acknowledge", "resolve"]
PATHS = {
    "reported": [],
    "accepted": ["accept"],
    "assigned": ["accept", "assign"],
    "in_progress": ["accept", "assign", "acknowledge"],
    "returned": ["accept", "assign", "return"],
    "reopened": [*TO_RESOLVED, "unsatisfied"],
    "review": [*TO_RESOLVED, "unsatisfied", "acknowledge", "resolve", "unsatisfied"],
    "resolved": TO_RESOLVED,
    "closed": [*TO_RESOLVED, "satisfied"],
    "rejected": ["reject"],
}


def drive(lifecycle, case_service, situation: str, **overrides) -> str:
    case_id = case_service.file_report(report(**overrides)).case_id
    for step in PATHS[situation]:
        STEPS[step](lifecycle, case_id)
    return case_id


def kinds(outbox: Outbox, role: str, recipient: str, case_id: str | None = None) -> list[str]:
    return [m.kind for m in outbox.messages_for(role, recipient, limit=500) if case_id in (None, m.case_id)]


def case_row(session_factory, case_id: str) -> Case:
    with session_factory() as session:
        return session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()


def count(session_factory, kind: str) -> int:
    with session_factory() as session:
        query = select(func.count()).select_from(Notification).where(Notification.kind == kind)
        return session.execute(query).scalar_one()


# ---------------------------------------------------------------------- the 80% warning
@pytest.mark.parametrize("matter_type", list(DEADLINES))
def test_the_unit_is_warned_at_80_percent_of_the_wall_clock_time(lifecycle, case_service, outbox, matter_type):
    deadline, warning = DEADLINES[matter_type]
    case_id = drive(lifecycle, case_service, "assigned", matter_type=matter_type)
    assert lifecycle.get(case_id).deadline == deadline
    assert warning - MONDAY_MORNING == (deadline - MONDAY_MORNING) * 0.8

    assert run_due(lifecycle, warning - SECOND).warned == []
    assert run_due(lifecycle, warning).warned == [case_id]

    (message,) = outbox.messages_for("unit", "county_ecology")[-1:]
    assert (message.kind, message.case_id, message.created_at) == ("deadline_warning", case_id, warning)
    assert "已用去80%的办理时间" in message.text
    assert outbox.messages_for("dispatcher", DISPATCH) == []


def test_the_warning_names_the_deadline_and_the_time_left(lifecycle, case_service, outbox):
    case_id = drive(lifecycle, case_service, "in_progress")

    run_due(lifecycle, OTHER_WARNING)

    assert outbox.messages_for("unit", "county_ecology")[-1].text == (
        f"【临期提醒】工单{case_id}的办理时限为2026年12月9日(星期三)17:30前，已用去80%的办理时间（还剩约45小时），"
        "请抓紧办理。"
    )


@pytest.mark.parametrize(
    "situation,warned",
    [
        ("assigned", True), ("in_progress", True), ("reopened", True),
        ("reported", False), ("accepted", False), ("returned", False), ("review", False), ("resolved", False),
        ("closed", False), ("rejected", False),
    ],
)  # fmt: skip
def test_only_a_unit_holding_the_case_is_warned(lifecycle, case_service, situation, warned):
    case_id = drive(lifecycle, case_service, situation)
    assert run_due(lifecycle, OTHER_WARNING).warned == ([case_id] if warned else [])


def test_a_case_reaching_the_unit_late_is_warned_then_but_not_after_its_deadline(
    lifecycle, case_service, outbox, clock
):
    in_time = drive(lifecycle, case_service, "accepted")
    too_late = drive(lifecycle, case_service, "accepted")
    clock.now = (OTHER_WARNING + dt.timedelta(hours=12)).astimezone(UTC)
    assert run_due(lifecycle).warned == []

    lifecycle.assign(in_time, DISPATCHER)
    assert run_due(lifecycle).warned == [in_time]

    clock.now = (OTHER_DEADLINE + dt.timedelta(hours=1)).astimezone(UTC)
    lifecycle.assign(too_late, DISPATCHER)
    result = run_due(lifecycle)
    assert (result.warned, result.overdue) == ([], [in_time, too_late])
    assert kinds(outbox, "unit", "county_ecology", too_late) == ["assigned"]


# ---------------------------------------------------------------------- overdue
def test_an_open_case_is_marked_overdue_at_its_deadline_and_the_dispatchers_told(
    lifecycle, case_service, outbox, session_factory
):
    deadline, _ = DEADLINES["policy_consultation"]
    case_id = drive(lifecycle, case_service, "in_progress", matter_type="policy_consultation")

    assert run_due(lifecycle, deadline - SECOND).overdue == []
    assert run_due(lifecycle, deadline).overdue == [case_id]

    assert case_row(session_factory, case_id).overdue_at == deadline
    seen = lifecycle.get(case_id)
    assert seen.status is S.IN_PROGRESS  # a mark, not a status
    assert seen.to_dict()["overdue"] is True and seen.overdue_at == deadline  # what consoles and the API show
    (message,) = outbox.messages_for("dispatcher", DISPATCH)
    assert (message.kind, message.case_id, message.recipient_id) == ("overdue", case_id, "dispatch")
    assert message.text == (
        f"【超期】工单{case_id}的办理时限为2026年11月30日(星期一)17:30前，现已超期未办结。"
        "承办单位：县生态环境分局；当前状态：正在办理。请督办。"
    )


@pytest.mark.parametrize(
    "situation,overdue",
    [
        ("accepted", True), ("assigned", True), ("in_progress", True), ("returned", True), ("reopened", True),
        ("reported", False), ("review", False), ("resolved", False), ("closed", False), ("rejected", False),
    ],
)  # fmt: skip
def test_accepted_unresolved_cases_become_overdue(lifecycle, case_service, situation, overdue):
    case_id = drive(lifecycle, case_service, situation)
    result = run_due(lifecycle, OTHER_DEADLINE + dt.timedelta(days=30))
    assert result.overdue == ([case_id] if overdue else [])


# ---------------------------------------------------------------------- auto-close
def test_an_unrated_case_is_closed_three_days_after_resolution_and_not_before(
    lifecycle, case_service, outbox, clock
):
    case_id = drive(lifecycle, case_service, "in_progress")
    clock.advance(dt.timedelta(hours=5))
    resolved_at = clock.now
    lifecycle.resolve(case_id, ECOLOGY, result="已制止焚烧")
    resident_messages = outbox.messages_for_resident("wx-openid-1")

    clock.now = resolved_at + dt.timedelta(days=3) - SECOND
    assert run_due(lifecycle).closed == []
    assert lifecycle.get(case_id).status is S.RESOLVED
    clock.advance(SECOND)
    assert run_due(lifecycle).closed == [case_id]

    view = lifecycle.get(case_id)
    assert (view.status, view.rating, view.closed_at) == (S.CLOSED, Rating.NO_RATING, clock.now)
    row = lifecycle.history(case_id)[-1]
    assert (row.event, row.actor, row.actor_role) == ("closed_unrated", "system", "system")
    assert outbox.messages_for_resident("wx-openid-1") == resident_messages  # nobody is told


def test_a_rated_case_is_left_alone(lifecycle, case_service, clock):
    case_id = drive(lifecycle, case_service, "closed")
    clock.advance(dt.timedelta(days=10))
    assert run_due(lifecycle).closed == []
    assert lifecycle.get(case_id).rating is Rating.SATISFIED


# ---------------------------------------------------------------------- exactly once
def test_nothing_happens_twice_when_the_sweep_runs_again(lifecycle, case_service, outbox, session_factory, clock):
    warned = drive(lifecycle, case_service, "assigned", matter_type="other")
    overdue = drive(lifecycle, case_service, "assigned", matter_type="emergency")
    closed = drive(lifecycle, case_service, "resolved", matter_type="emergency")
    clock.now = (OTHER_WARNING + dt.timedelta(hours=1)).astimezone(UTC)  # all three are due

    first = run_due(lifecycle)
    again = run_due(lifecycle)
    clock.advance(dt.timedelta(hours=1))
    later = run_due(lifecycle)

    assert (first.warned, first.overdue, first.closed, first.errors) == ([warned], [overdue], [closed], [])
    for result in (again, later):
        assert (result.warned, result.overdue, result.closed, result.errors) == ([], [], [], [])
    assert (count(session_factory, "deadline_warning"), count(session_factory, "overdue")) == (1, 1)
    assert [e.event for e in lifecycle.history(closed)].count("closed_unrated") == 1


def test_racing_sweeps_of_two_instances_do_each_thing_once(database_url, session_factory, calendar, clock,
                                                           case_service, lifecycle, monkeypatch):  # fmt: skip
    # Three cases of each kind, all due at once; both instances read the same due cases before either acts.
    closable = [drive(lifecycle, case_service, "resolved") for _ in range(3)]
    clock.now = dt.datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
    overdue = [drive(lifecycle, case_service, "assigned", matter_type="emergency") for _ in range(3)]  # due 12:00
    warned = [drive(lifecycle, case_service, "assigned", matter_type="policy_consultation") for _ in range(3)]
    clock.now = dt.datetime(2026, 12, 3, 16, 30, tzinfo=SHANGHAI).astimezone(UTC)  # warnings due at 16:00

    barrier = threading.Barrier(2)
    due = workflow.jobs.sweep._due

    def due_then_wait(*args, **kwargs):
        found = list(due(*args, **kwargs))
        barrier.wait(timeout=60)
        return iter(found)

    monkeypatch.setattr(workflow.jobs.sweep, "_due", due_then_wait)
    engines = [make_engine(database_url) for _ in range(2)]
    instances = [CaseLifecycle(make_session_factory(engine), calendar, clock=clock) for engine in engines]
    results: list[object] = [None, None]

    def sweep(n: int) -> None:
        try:
            results[n] = run_due(instances[n])
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[n] = exc

    threads = [threading.Thread(target=sweep, args=(n,)) for n in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for engine in engines:
            engine.dispose()

    assert all(not isinstance(r, BaseException) and r.errors == [] for r in results), results
    for attribute, expected in (("warned", warned), ("overdue", overdue), ("closed", closable)):
        done = [case_id for r in results for case_id in getattr(r, attribute)]
        assert sorted(done) == sorted(expected), attribute  # every case once, by one instance or the other
    assert (count(session_factory, "deadline_warning"), count(session_factory, "overdue")) == (3, 3)
    for case_id in closable:
        assert [e.event for e in lifecycle.history(case_id)].count("closed_unrated") == 1


def test_a_failing_case_does_not_stop_the_sweep_and_is_retried(lifecycle, case_service, monkeypatch):
    first, second = (drive(lifecycle, case_service, "assigned") for _ in range(2))
    real = workflow.jobs.sweep.notify_deadline_warning

    def fail_for_the_first(session, case_pk, view, now, fraction):
        if view.case_id == first:
            raise RuntimeError("disk full")
        return real(session, case_pk, view, now, fraction)

    monkeypatch.setattr(workflow.jobs.sweep, "notify_deadline_warning", fail_for_the_first)
    result = run_due(lifecycle, OTHER_WARNING)
    assert result.warned == [second]
    assert result.errors == [(first, "RuntimeError: disk full")]

    monkeypatch.undo()
    assert run_due(lifecycle, OTHER_WARNING).warned == [first]  # its mark was rolled back with the message


def test_the_sweep_reads_due_cases_page_by_page(lifecycle, case_service):
    case_ids = [drive(lifecycle, case_service, "assigned") for _ in range(5)]
    assert run_due(lifecycle, OTHER_WARNING, batch_size=2).warned == case_ids
    with pytest.raises(ValueError):
        run_due(lifecycle, OTHER_WARNING, batch_size=0)
    with pytest.raises(ValueError):
        run_due(lifecycle, dt.datetime(2026, 12, 7, 12, 0))


# ---------------------------------------------------------------------- rounds
def test_a_reopened_case_starts_a_new_round_with_its_own_warning_and_overdue(
    lifecycle, case_service, outbox, clock, session_factory
):
    case_id = drive(lifecycle, case_service, "in_progress")
    clock.now = (OTHER_DEADLINE + dt.timedelta(hours=1)).astimezone(UTC)
    run_due(lifecycle)
    assert kinds(outbox, "unit", "county_ecology") == ["assigned"]  # the warning came too late to send
    lifecycle.resolve(case_id, ECOLOGY, result="已制止焚烧")  # late
    reopened_at = dt.datetime(2026, 12, 11, 9, 0, tzinfo=SHANGHAI)
    clock.now = reopened_at.astimezone(UTC)

    view = lifecycle.rate(case_id, RESIDENT, "unsatisfied")

    row = case_row(session_factory, case_id)
    assert (row.warned_at, row.overdue_at) == (None, None)
    assert row.warn_at == reopened_at + (view.deadline - reopened_at) * 0.8
    assert run_due(lifecycle, row.warn_at - SECOND).warned == []
    assert run_due(lifecycle, row.warn_at).warned == [case_id]
    assert run_due(lifecycle, view.deadline).overdue == [case_id]
    assert kinds(outbox, "unit", "county_ecology") == ["assigned", "reopened", "deadline_warning"]
    assert kinds(outbox, "dispatcher", DISPATCH) == ["overdue", "overdue"]


def test_reassigning_a_returned_case_keeps_its_round(lifecycle, case_service, outbox):
    case_id = drive(lifecycle, case_service, "in_progress")
    run_due(lifecycle, OTHER_WARNING)
    lifecycle.return_case(case_id, ECOLOGY, reason="不属于本单位职责")
    lifecycle.assign(case_id, DISPATCHER, category_code="agriculture")

    assert run_due(lifecycle, OTHER_WARNING + dt.timedelta(hours=1)).warned == []
    assert kinds(outbox, "unit", "county_agriculture") == ["assigned"]


# ---------------------------------------------------------------------- the scheduler
def _await_sweep(scheduler) -> threading.Event:
    done = threading.Event()
    scheduler.add_listener(lambda event: done.set(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    return done


def _stored_jobs(engine) -> list[tuple[str, dict]]:
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT id, job_state FROM {JOBSTORE_TABLE}")).all()
    return [(row.id, pickle.loads(row.job_state)) for row in rows]


def test_a_restarted_scheduler_catches_up_with_what_fell_due_while_it_was_down(
    database_url, engine, calendar, clock, case_service, lifecycle, outbox
):
    settings = Settings(database_url=database_url)
    warned = drive(lifecycle, case_service, "assigned")
    overdue = drive(lifecycle, case_service, "accepted", matter_type="emergency")
    closed = drive(lifecycle, case_service, "resolved")

    first = build_scheduler(settings, lifecycle, lock=InMemorySweepLock())
    swept = _await_sweep(first)
    first.start()
    assert swept.wait(timeout=30)  # the start-up sweep: nothing due yet
    first.shutdown()
    assert lifecycle.get(closed).status is S.RESOLVED

    ((job_id, state),) = _stored_jobs(engine)
    assert (job_id, state["func"], state["args"]) == (JOB_ID, "workflow.jobs.scheduler:deadline_sweep", ())
    assert state["trigger"].interval == dt.timedelta(seconds=60)
    assert (state["coalesce"], state["max_instances"], state["misfire_grace_time"]) == (True, 1, None)

    clock.now = (OTHER_WARNING + dt.timedelta(hours=1)).astimezone(UTC)  # four warm days later …
    # … a new process: its own engine, sessions and lifecycle
    restarted_engine = make_engine(database_url)
    restarted = CaseLifecycle(make_session_factory(restarted_engine), calendar, clock=clock)
    second = build_scheduler(settings, restarted, lock=InMemorySweepLock())
    swept = _await_sweep(second)
    second.start()
    try:
        assert swept.wait(timeout=30)
        assert second.get_job(JOB_ID).trigger.interval == dt.timedelta(seconds=60)
    finally:
        second.shutdown()
        restarted_engine.dispose()

    assert kinds(outbox, "unit", "county_ecology", warned)[-1] == "deadline_warning"
    assert kinds(outbox, "dispatcher", DISPATCH) == ["overdue"]
    assert outbox.messages_for("dispatcher", DISPATCH)[0].case_id == overdue
    assert lifecycle.get(closed).rating is Rating.NO_RATING
    assert [job_id for job_id, _ in _stored_jobs(engine)] == [JOB_ID]  # one job, however often restarted


def test_the_interval_is_configuration(database_url, engine, lifecycle):
    settings = Settings.from_env({"DATABASE_URL": database_url, "JUHAOBAN_JOBS_INTERVAL_SECONDS": "15"})
    scheduler = build_scheduler(settings, lifecycle, lock=InMemorySweepLock(), run_at_start=False)
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job(JOB_ID).trigger.interval == dt.timedelta(seconds=15)
    finally:
        scheduler.shutdown()
    assert Settings.from_env({}).jobs_interval_seconds == 60
    for bad in ("0", "-5", "1.5", "soon"):
        with pytest.raises(ValueError, match="(?i)jobs_interval"):
            Settings.from_env({"JUHAOBAN_JOBS_INTERVAL_SECONDS": bad})


def test_alembic_leaves_the_schedulers_table_alone(database_url, engine, lifecycle):
    scheduler = build_scheduler(Settings(database_url=database_url), lifecycle, run_at_start=False)
    scheduler.start(paused=True)
    scheduler.shutdown()
    assert JOBSTORE_TABLE in inspect(engine).get_table_names()

    upgrade(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
        assert compare_metadata(context, metadata) == []
    with engine.begin() as connection:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert JOBSTORE_TABLE in inspect(engine).get_table_names()


def test_cases_accepted_before_the_jobs_existed_are_watched_too(database_url, engine, lifecycle, case_service):
    case_id = drive(lifecycle, case_service, "assigned")
    with engine.begin() as connection:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0002_case_lifecycle")

    upgrade(database_url)

    assert run_due(lifecycle, OTHER_WARNING - SECOND).warned == []
    assert run_due(lifecycle, OTHER_WARNING).warned == [case_id]


# ---------------------------------------------------------------------- the job function and its lock
class _HeldElsewhere(SweepLock):
    def acquire(self):
        return None

    def release(self, token):
        return False


class _Unreachable(SweepLock):
    def acquire(self):
        raise ConnectionError("redis is down")

    def release(self, token):
        raise ConnectionError("redis is down")


@pytest.fixture
def registered(database_url, lifecycle):
    """Registers ``lifecycle`` with a given lock for :func:`deadline_sweep` (the scheduler itself is not started)."""
    engines = []

    def register(lock: SweepLock) -> None:
        engines.append(make_engine(database_url, future=False))
        build_scheduler(Settings(database_url=database_url), lifecycle, lock=lock, jobstore_engine=engines[-1])

    yield register
    for engine in engines:
        engine.dispose()


def test_the_job_skips_while_another_instance_holds_the_lock(registered, lifecycle, case_service, clock):
    case_id = drive(lifecycle, case_service, "assigned")
    clock.now = OTHER_WARNING.astimezone(UTC)
    registered(_HeldElsewhere())
    deadline_sweep()
    assert run_due(lifecycle).warned == [case_id]  # the skipped run left it for later


def test_the_job_sweeps_without_the_lock_when_the_lock_is_unreachable(registered, lifecycle, case_service, clock):
    case_id = drive(lifecycle, case_service, "assigned")
    clock.now = OTHER_WARNING.astimezone(UTC)
    registered(_Unreachable())
    deadline_sweep()
    assert run_due(lifecycle).warned == []
    assert lifecycle.get(case_id).status is S.ASSIGNED


def test_the_job_never_raises_and_frees_its_lock(registered, lifecycle, monkeypatch):
    lock = InMemorySweepLock()
    registered(lock)

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(workflow.jobs.scheduler, "run_due", broken)
    deadline_sweep()
    assert lock.acquire() is not None
    monkeypatch.setattr(workflow.jobs.scheduler, "_runtime", None)
    deadline_sweep()  # nothing registered: logged, not raised


@pytest.fixture(params=["memory", "redis"])
def make_lock(request):
    """Makes sweep locks sharing one store: the process (in memory) or one Redis key."""
    if request.param == "memory":
        shared: dict[float, InMemorySweepLock] = {}
        yield lambda ttl=60.0: shared.setdefault(ttl, InMemorySweepLock(ttl))
        return
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    key = f"juhaoban:test:sweep:{uuid.uuid4().hex}"
    yield lambda ttl=60.0: RedisSweepLock(client=client, key=key, ttl_seconds=ttl)
    client.delete(key)
    client.close()


def test_the_lock_has_one_holder_at_a_time(make_lock):
    mine, theirs = make_lock(), make_lock()
    token = mine.acquire()
    assert token and theirs.acquire() is None
    assert theirs.release("not-the-token") is False and theirs.acquire() is None
    assert mine.release(token) is True
    assert mine.release(token) is False
    assert theirs.acquire() not in (None, token)


def test_the_lock_frees_itself_after_its_time_to_live(make_lock):
    lock = make_lock(0.2)
    stale = lock.acquire()
    time.sleep(0.35)
    fresh = lock.acquire()
    assert fresh and fresh != stale
    assert lock.release(stale) is False  # a holder whose time ran out cannot free the new holder's lock
    assert lock.release(fresh) is True


def test_settings_choose_the_lock():
    assert isinstance(sweep_lock(Settings(database_url="sqlite://")), InMemorySweepLock)
    assert isinstance(sweep_lock(Settings(database_url="sqlite://", redis_url=REDIS_URL)), RedisSweepLock)
    with pytest.raises(ValueError):
        InMemorySweepLock(ttl_seconds=0)
    with pytest.raises(ValueError):
        RedisSweepLock()
