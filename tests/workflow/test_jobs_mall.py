"""The worker's sweep returns the points mall's uncollected goods (issue 6: "uncollected after the 14th returned to
stock and points refunded"), with nobody clicking: SQLite and PostgreSQL, a frozen clock. The mall's own rules
(window, refund, races) are tested in test_mall.py; here: that the sweep — :func:`run_due` and the scheduled job
:func:`deadline_sweep` — does it, from 00:00 on the 15th (Asia/Shanghai), once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from workflow.db import make_engine
from workflow.jobs import InMemorySweepLock, build_scheduler, deadline_sweep, run_due
from workflow.lifecycle import CaseLifecycle
from workflow.mall import Mall, load_catalogue
from workflow.models import Notification
from workflow.points import PointsLedger
from workflow.points_models import MallItem
from workflow.settings import Settings

UTC = dt.timezone.utc
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
HOLDER = "wx-openid-7"


def shanghai(year, month, day, hour=10, minute=0, second=0) -> dt.datetime:
    """An Asia/Shanghai wall-clock time as aware UTC."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC) - dt.timedelta(hours=8)


@pytest.fixture
def reserved(session_factory, calendar, clock):
    """A lifecycle on the frozen clock and one redemption of item 1 made on 5 December 2026, never collected."""
    clock.now = shanghai(2026, 12, 5)
    ledger = PointsLedger(session_factory, clock=clock)
    with session_factory.begin() as session:
        load_catalogue(session, DATA_DIR, clock.now)
        ledger.credit(session, HOLDER, 100, kind="activity", source="test:seed", reason="志愿服务", now=clock.now)
    mall = Mall(session_factory, clock=clock, ledger=ledger)
    item = mall.find_item(1)
    redemption = mall.redeem(HOLDER, 1, 1)
    lifecycle = CaseLifecycle(session_factory, calendar, clock=clock)
    return lifecycle, mall, ledger, item, redemption


def _stock(session_factory, code: str) -> int:
    with session_factory() as session:
        return session.get(MallItem, code).stock


def test_the_sweep_returns_uncollected_goods_from_the_15th_and_refunds_once(session_factory, clock, reserved):
    lifecycle, mall, ledger, item, redemption = reserved
    balance_after_redeeming = ledger.balance(HOLDER)
    assert balance_after_redeeming == 100 - item.price

    clock.now = shanghai(2026, 12, 14, 23, 59, 59)  # the last collection day is still open
    assert run_due(lifecycle).returned == []
    assert mall.redemption(redemption.pickup_code).status == "reserved"

    clock.now = shanghai(2026, 12, 15, 0, 0, 30)  # the first sweep after midnight
    result = run_due(lifecycle)  # the default mall: the lifecycle's database and clock
    assert result.returned == [redemption.pickup_code]
    assert result.to_dict()["returned"] == [redemption.pickup_code]
    assert mall.redemption(redemption.pickup_code).status == "returned"
    assert _stock(session_factory, item.code) == item.stock  # back as before the redemption
    assert ledger.balance(HOLDER) == 100
    with session_factory() as session:
        told = session.execute(select(Notification.text).where(Notification.kind == "redemption_returned",
                                                                Notification.recipient_id == HOLDER)).scalars().all()
    assert len(told) == 1 and "已退回" in told[0] and f"返还{item.price}积分" in told[0]

    clock.now = shanghai(2026, 12, 15, 0, 1, 30)
    assert run_due(lifecycle).returned == []  # idempotent: nothing returned or refunded twice
    assert ledger.balance(HOLDER) == 100


def test_the_scheduled_job_returns_them_with_the_workers_mall(database_url, session_factory, clock, reserved):
    lifecycle, mall, ledger, item, redemption = reserved
    engine = make_engine(database_url, future=False)
    try:
        build_scheduler(Settings(database_url=database_url), lifecycle, lock=InMemorySweepLock(),
                        jobstore_engine=engine, mall=mall)
        clock.now = shanghai(2026, 12, 16, 8, 0)  # the worker was down on the 15th: the next sweep catches up
        deadline_sweep()
    finally:
        engine.dispose()
    assert mall.redemption(redemption.pickup_code).status == "returned"
    assert ledger.balance(HOLDER) == 100


def test_a_failing_return_does_not_stop_the_case_jobs(session_factory, clock, reserved, monkeypatch):
    lifecycle, mall, _ledger, _item, redemption = reserved

    def broken(now=None):
        raise RuntimeError("database gone")

    monkeypatch.setattr(mall, "return_uncollected", broken)
    clock.now = shanghai(2026, 12, 15, 1, 0)
    result = run_due(lifecycle, mall=mall)
    assert result.returned == [] and result.errors == [("mall", "RuntimeError: database gone")]
    assert run_due(lifecycle).returned == [redemption.pickup_code]  # the next sweep does it
