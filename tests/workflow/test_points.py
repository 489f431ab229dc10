"""The points ledger on SQLite and PostgreSQL: awards for accepted reports through CaseLifecycle (10/20/30, in the
acceptance's transaction, idempotent), nothing for rejected or duplicate reports, reversal of a report found false
(never below zero: the shortfall is owed and settled from later credits), the daily cap per Asia/Shanghai filing day,
the resident's notices, and the policy file."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflow.exceptions import IllegalTransition
from workflow.lifecycle import CaseLifecycle
from workflow.models import Case
from workflow.points import (
    InsufficientPoints,
    InvalidPointsAction,
    PointsLedger,
    PointsPolicy,
    load_points_policy,
)
from workflow.exceptions import ReferenceDataError
from workflow.points_models import PointsAccount, PointsEntry
from workflow.transitions import Actor
from workflow_support import report

UTC = dt.timezone.utc
DISPATCHER = Actor.dispatcher("dispatcher-li")
HOLDER = "wx-openid-1"
DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def ledger(session_factory, clock) -> PointsLedger:
    return PointsLedger(session_factory, clock=clock)


def accepted(case_service, lifecycle, level: int = 1, **overrides) -> str:
    case_id = case_service.file_report(report(**overrides)).case_id
    lifecycle.accept(case_id, DISPATCHER, importance_level=level)
    return case_id


def ledger_sum(session_factory, holder: str = HOLDER) -> int:
    with session_factory() as session:
        return int(session.execute(select(func.coalesce(func.sum(PointsEntry.amount), 0))
                                   .where(PointsEntry.holder_id == holder)).scalar_one())


def post(session_factory, clock, action):
    with session_factory.begin() as session:
        return action(session, clock.now)


# ---------------------------------------------------------------------- awards
@pytest.mark.parametrize("level,points", [(1, 10), (2, 20), (3, 30)])
def test_an_accepted_report_earns_points_by_its_importance_level(case_service, lifecycle, ledger, level, points):
    case_id = accepted(case_service, lifecycle, level)
    assert ledger.balance(HOLDER) == points
    (entry,) = ledger.entries(HOLDER)
    assert (entry.amount, entry.kind, entry.source, entry.balance_after) == (
        points, "report", f"case:{case_id}:report", points)
    assert case_id in entry.reason and f"{level}级" in entry.reason
    assert entry.data["importance_level"] == level


def test_the_award_is_told_with_the_acceptance_in_one_message(case_service, lifecycle, outbox):
    case_id = accepted(case_service, lifecycle, 3)
    (message,) = outbox.messages_for_resident(HOLDER)
    assert message.kind == "accepted"
    assert message.text.endswith("本次反映获得30积分。当前积分余额30分。")
    assert message.data["points"]["amount"] == 30 and message.data["points"]["source"] == f"case:{case_id}:report"


def test_an_auto_accepted_report_earns_level_one_points(case_service, lifecycle, ledger):
    case_id = case_service.file_report(report(category_confidence=0.95)).case_id
    assert lifecycle.auto_accept(case_id).status.value == "accepted"
    assert ledger.balance(HOLDER) == 10


def test_an_accepted_emergency_earns_points_too(case_service, lifecycle, ledger):
    accepted(case_service, lifecycle, 3, matter_type="emergency")
    assert ledger.balance(HOLDER) == 30


def test_a_report_not_yet_accepted_earns_nothing(case_service, lifecycle, ledger):
    case_service.file_report(report())
    assert ledger.balance(HOLDER) == 0 and ledger.entries(HOLDER) == []


@pytest.mark.parametrize("reason", ["invalid", "out_of_scope", "duplicate"])
def test_a_report_rejected_before_acceptance_earns_nothing(case_service, lifecycle, ledger, outbox, reason):
    original = case_service.file_report(report(reporter_id="wx-other")).case_id
    case_id = case_service.file_report(report()).case_id
    lifecycle.reject(case_id, DISPATCHER, reason=reason, note="说明",
                     duplicate_of=original if reason == "duplicate" else None)
    assert ledger.balance(HOLDER) == 0 and ledger.entries(HOLDER) == []
    (message,) = outbox.messages_for_resident(HOLDER)
    assert "积分" not in message.text


def test_the_award_is_idempotent_on_its_source(case_service, lifecycle, ledger, session_factory, clock, outbox):
    case_id = accepted(case_service, lifecycle, 2)
    with session_factory.begin() as session:
        case = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()
        again = ledger.award_for_case(session, case, clock.now)
    assert again is not None and not again.created and again.entry.amount == 20
    assert ledger.balance(HOLDER) == 20 and len(ledger.entries(HOLDER)) == 1
    assert len(outbox.messages_for_resident(HOLDER)) == 1  # nobody told twice


def test_a_second_acceptance_is_refused_and_awards_nothing_more(case_service, lifecycle, ledger):
    case_id = accepted(case_service, lifecycle, 1)
    with pytest.raises(IllegalTransition):
        lifecycle.accept(case_id, DISPATCHER, importance_level=3)
    assert ledger.balance(HOLDER) == 10


def test_the_award_is_written_in_the_acceptance_transaction(case_service, session_factory, calendar, clock):
    # A ledger failing during the award leaves the case unaccepted: one transaction.
    class Broken(PointsLedger):
        def award_for_case(self, session, case, now=None, **kwargs):
            super().award_for_case(session, case, now, **kwargs)
            raise RuntimeError("disk full")

    lifecycle = CaseLifecycle(session_factory, calendar, clock=clock, points=Broken(session_factory, clock=clock))
    case_id = case_service.file_report(report()).case_id
    with pytest.raises(RuntimeError):
        lifecycle.accept(case_id, DISPATCHER, importance_level=1)
    assert lifecycle.get(case_id).status.value == "reported"
    assert PointsLedger(session_factory).balance(HOLDER) == 0 and ledger_sum(session_factory) == 0


# ---------------------------------------------------------------------- reversal
@pytest.mark.parametrize("reason", ["invalid", "duplicate"])
def test_a_report_found_false_after_acceptance_is_reversed(case_service, lifecycle, ledger, outbox, reason):
    original = case_service.file_report(report(reporter_id="wx-other")).case_id
    accepted(case_service, lifecycle, 1)  # 10 points stay
    case_id = accepted(case_service, lifecycle, 2)
    lifecycle.reject(case_id, DISPATCHER, reason=reason, note="经核实不属实",
                     duplicate_of=original if reason == "duplicate" else None)
    assert ledger.balance(HOLDER) == 10
    newest = ledger.entries(HOLDER, limit=1)[0]
    assert (newest.kind, newest.amount, newest.source, newest.data["shortfall"]) == (
        "reversal", -20, f"case:{case_id}:reversal", 0)
    rejected = outbox.messages_for_resident(HOLDER)[-1]
    assert rejected.kind == "rejected" and "此前因该工单获得的20积分已撤回。当前积分余额10分。" in rejected.text


def test_a_reversal_is_idempotent(case_service, lifecycle, ledger, session_factory, clock):
    case_id = accepted(case_service, lifecycle, 3)
    lifecycle.reject(case_id, DISPATCHER, reason="invalid", note="虚假")
    with session_factory.begin() as session:
        case = session.execute(select(Case).where(Case.case_id == case_id)).scalar_one()
        again = ledger.reverse_for_case(session, case, clock.now)
        award = ledger.award_for_case(session, case, clock.now)
    assert again is not None and not again.created
    assert award is None  # rejected: no new award
    assert ledger.balance(HOLDER) == 0 and [e.kind for e in ledger.entries(HOLDER)] == ["reversal", "report"]


def test_a_reversal_never_takes_the_balance_below_zero_and_the_rest_is_owed(
    case_service, lifecycle, ledger, session_factory, clock
):
    case_id = accepted(case_service, lifecycle, 3)  # 30
    post(session_factory, clock, lambda s, now: ledger.spend(s, HOLDER, 25, source="test:spend", reason="兑换", now=now))
    lifecycle.reject(case_id, DISPATCHER, reason="invalid", note="虚假")
    summary = ledger.summary(HOLDER)
    assert (summary.balance, summary.owed) == (0, 25)
    reversal = summary.entries[0]
    assert (reversal.amount, reversal.data["shortfall"], reversal.balance_after) == (-5, 25, 0)
    # The next credit pays the owed points off first.
    posted = post(session_factory, clock, lambda s, now: ledger.credit(
        s, HOLDER, 40, kind="activity", source="test:activity", reason="志愿服务", now=now, notice="【积分到账】志愿服务获得40积分。"))
    assert posted.entry.balance_after == 15 and posted.entry.data["settled"] == 25
    summary = ledger.summary(HOLDER)
    assert (summary.balance, summary.owed) == (15, 0)
    assert [(e.kind, e.amount) for e in summary.entries[:2]] == [("settlement", -25), ("activity", 40)]
    assert ledger_sum(session_factory) == 15


def test_a_reversal_with_nothing_left_records_the_whole_award_as_owed(
    case_service, lifecycle, ledger, session_factory, clock, outbox
):
    case_id = accepted(case_service, lifecycle, 1)
    post(session_factory, clock, lambda s, now: ledger.spend(s, HOLDER, 10, source="test:spend", reason="兑换", now=now))
    lifecycle.reject(case_id, DISPATCHER, reason="invalid", note="虚假")
    assert ledger.summary(HOLDER).owed == 10 and ledger.balance(HOLDER) == 0
    assert "还差10分，将从您以后获得的积分中扣除" in outbox.messages_for_resident(HOLDER)[-1].text


# ---------------------------------------------------------------------- daily cap
def test_the_daily_cap_cuts_report_points_of_one_filing_day(case_service, lifecycle, ledger, outbox):
    for level in (3, 2):
        accepted(case_service, lifecycle, level)  # 30 + 20 = 50
    third = accepted(case_service, lifecycle, 2)  # 20 → 10 (cap 60)
    fourth = accepted(case_service, lifecycle, 1)  # 10 → 0
    assert ledger.balance(HOLDER) == 60
    amounts = [(e.source, e.amount, e.data.get("capped")) for e in ledger.entries(HOLDER, limit=2)]
    assert amounts == [(f"case:{fourth}:report", 0, 10), (f"case:{third}:report", 10, 10)]
    texts = [m.text for m in outbox.messages_for_resident(HOLDER)]
    assert "每日上限60分，本次获得10积分" in texts[2] and "本次不再加分" in texts[3]


def test_the_cap_counts_by_the_shanghai_day_the_report_was_filed(case_service, lifecycle, ledger, clock):
    # 23:59 on the 30th and 00:00 on 1 December, Asia/Shanghai: two days, two caps.
    clock.now = dt.datetime(2026, 11, 30, 15, 59, tzinfo=UTC)
    late = [case_service.file_report(report()).case_id for _ in range(3)]
    clock.now = dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    early = [case_service.file_report(report()).case_id for _ in range(3)]
    clock.now = dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # all accepted the next morning
    for case_id in late + early:
        lifecycle.accept(case_id, DISPATCHER, importance_level=3)
    assert ledger.balance(HOLDER) == 120
    days = {e.source: e.amount for e in ledger.entries(HOLDER, limit=10)}
    assert [days[f"case:{c}:report"] for c in late] == [30, 30, 0]
    assert [days[f"case:{c}:report"] for c in early] == [30, 30, 0]


def test_the_cap_is_per_holder(case_service, lifecycle, ledger):
    for _ in range(3):
        accepted(case_service, lifecycle, 3)
    accepted(case_service, lifecycle, 3, reporter_id="wx-neighbour")
    assert ledger.balance(HOLDER) == 60 and ledger.balance("wx-neighbour") == 30


def test_a_reversal_gives_no_cap_room_back(case_service, lifecycle, ledger):
    first = accepted(case_service, lifecycle, 3)
    accepted(case_service, lifecycle, 3)
    lifecycle.reject(first, DISPATCHER, reason="invalid", note="虚假")
    accepted(case_service, lifecycle, 3)
    assert ledger.balance(HOLDER) == 30


# ---------------------------------------------------------------------- balance, spending, concurrency
def test_balance_is_the_sum_of_entries_and_the_account_refuses_to_go_negative(
    case_service, lifecycle, ledger, session_factory, clock
):
    accepted(case_service, lifecycle, 2)
    with pytest.raises(InsufficientPoints) as raised:
        post(session_factory, clock, lambda s, now: ledger.spend(s, HOLDER, 21, source="x:1", reason="兑换", now=now))
    assert raised.value.context == {"holder": HOLDER, "balance": 20, "needed": 21}
    assert ledger.balance(HOLDER) == ledger_sum(session_factory) == 20
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError):  # the CHECK, as the last line of defence
        with session_factory.begin() as session:
            session.execute(update(PointsAccount).where(PointsAccount.holder_id == HOLDER).values(balance=-1))


def test_a_spend_is_idempotent_on_its_source(ledger, session_factory, clock):
    post(session_factory, clock, lambda s, now: ledger.credit(s, HOLDER, 50, kind="activity", source="a:1",
                                                              reason="志愿服务", now=now))
    for _ in range(2):
        post(session_factory, clock, lambda s, now: ledger.spend(s, HOLDER, 30, source="r:1", reason="兑换", now=now))
    assert ledger.balance(HOLDER) == 20


@pytest.mark.parametrize("bad", ["", "   ", "x" * 129, None])
def test_a_holder_id_must_be_given(ledger, session_factory, clock, bad):
    with pytest.raises(InvalidPointsAction):
        post(session_factory, clock, lambda s, now: ledger.credit(s, bad, 5, kind="activity", source="a:x",
                                                                  reason="志愿服务", now=now))


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_credits_and_spends_are_whole_positive_points(ledger, session_factory, clock, amount):
    with pytest.raises(InvalidPointsAction):
        post(session_factory, clock, lambda s, now: ledger.spend(s, HOLDER, amount, source="r", reason="兑换", now=now))


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_spends_never_spend_the_same_points_twice(ledger, session_factory, clock):
    post(session_factory, clock, lambda s, now: ledger.credit(s, HOLDER, 30, kind="activity", source="a:1",
                                                              reason="志愿服务", now=now))
    barrier, outcomes = threading.Barrier(8), []

    def spend(n: int) -> None:
        barrier.wait()
        try:
            post(session_factory, clock, lambda s, now: ledger.spend(s, HOLDER, 10, source=f"r:{n}", reason="兑换",
                                                                     now=now))
            outcomes.append("ok")
        except InsufficientPoints:
            outcomes.append("refused")

    threads = [threading.Thread(target=spend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 5
    assert ledger.balance(HOLDER) == ledger_sum(session_factory) == 0


def test_reading_limits(ledger):
    with pytest.raises(ValueError):
        ledger.entries(HOLDER, limit=0)
    assert ledger.summary("nobody").balance == 0


# ---------------------------------------------------------------------- policy
def test_the_repository_policy_is_the_issue_s_numbers():
    policy = load_points_policy(DATA_DIR)
    assert policy == PointsPolicy()
    assert (dict(policy.report_points), policy.daily_report_cap, policy.exchange_day, policy.collection_days) == (
        {1: 10, 2: 20, 3: 30}, 60, 5, (7, 14))


def test_a_custom_policy_is_read_and_a_wrong_one_refused(tmp_path):
    (tmp_path / "points").mkdir()
    path = tmp_path / "points" / "policy.yml"
    path.write_text("report_points: {1: 5, 2: 10, 3: 15}\ndaily_report_cap: 20\nmall: {exchange_day: 1}\n",
                    encoding="utf-8")
    policy = load_points_policy(tmp_path)
    assert policy.report_points == {1: 5, 2: 10, 3: 15} and policy.daily_report_cap == 20
    assert policy.exchange_day == 1 and policy.collection_days == (7, 14)
    for wrong in ("daily_report_cap: -1\n", "mall: {exchange_day: 8}\n", "bonus: 3\n", "report_points: {1: 5}\n",
                  "[1, 2"):
        path.write_text(wrong, encoding="utf-8")
        with pytest.raises(ReferenceDataError):
            load_points_policy(tmp_path)
    assert load_points_policy(tmp_path / "none") == PointsPolicy()


def test_a_custom_policy_reaches_the_lifecycle(case_service, session_factory, calendar, clock):
    points = PointsLedger(session_factory, clock=clock,
                          policy=PointsPolicy(report_points={1: 1, 2: 2, 3: 3}, daily_report_cap=100))
    lifecycle = CaseLifecycle(session_factory, calendar, clock=clock, points=points)
    accepted(case_service, lifecycle, 3)
    assert points.balance(HOLDER) == 3


def test_a_report_a_unit_returned_and_the_dispatcher_then_rejects_is_reversed(case_service, lifecycle, ledger):
    case_id = accepted(case_service, lifecycle, 2)
    lifecycle.assign(case_id, DISPATCHER)
    lifecycle.return_case(case_id, Actor.unit("county_ecology", "staff-zhang"), reason="现场核实无此事")
    lifecycle.reject(case_id, DISPATCHER, reason="invalid", note="经核实不属实")
    assert ledger.balance(HOLDER) == 0
    assert [(e.kind, e.amount) for e in ledger.entries(HOLDER)] == [("reversal", -20), ("report", 20)]
