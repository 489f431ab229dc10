"""Actions run against a real ``CaseService`` (the shared database fixtures) with trackers built by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.categories import CategoryNames
from workflow.gazetteer import Gazetteer
from workflow.geo import PlaceLocator
from workflow.accounts import AccountService
from workflow.experts import ExpertDesk
from workflow.grid_work import GridWork
from workflow.knowledge import KnowledgeStore
from workflow.pesticides import load_pesticides
from workflow.sensors import SensorService
from workflow.traceability import Traceability
from workflow.mall import Mall, load_catalogue
from workflow.models import Grid
from workflow.points import PointsLedger

DATA = Path(__file__).resolve().parents[2] / "data"


_STORE = []


def knowledge_store() -> KnowledgeStore:
    """One knowledge store for the session (the bases are read-only in these tests; indexing costs ~1 s)."""
    if not _STORE:
        _STORE.append(KnowledgeStore(DATA))
    return _STORE[0]


@pytest.fixture
def svc(case_service, lifecycle, session_factory, calendar, clock):
    """The actions' services over the test database, every clock the frozen ``clock``; the mall's sample
    catalogue loaded."""
    gazetteer = Gazetteer.load(DATA)
    ledger = PointsLedger(session_factory, clock=clock)
    with session_factory.begin() as session:
        load_catalogue(session, DATA, clock.now)
    built = services.Services(case_service, gazetteer, CategoryNames.load(DATA), lifecycle,
                              PlaceLocator.load(DATA, gazetteer), points=ledger,
                              mall=Mall(session_factory, clock=clock, ledger=ledger),
                              grid_work=GridWork(session_factory, calendar, clock=clock),
                              knowledge=knowledge_store(),
                              experts=ExpertDesk(session_factory, calendar, clock=clock),
                              sensors=SensorService.from_data_dir(session_factory, DATA, clock=clock),
                              trace=Traceability(session_factory, load_pesticides(DATA), clock=clock))
    services.configure(built)
    yield built
    services.configure(None)


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def houpeng_worker(session_factory):
    """刘秀兰 (console password ``Julu2026console``), grid worker of 后彭村's only grid (官亭镇)."""
    account = AccountService(session_factory).create("liuxl", "Julu2026console", role="grid_worker",
                                                     display_name="刘秀兰", village_code="guanting_houpeng")
    with session_factory.begin() as session:
        session.add(Grid(code="guanting_houpeng_g1", name="第一网格", village_code="guanting_houpeng", kind="rural",
                         worker_account_id=account.id, is_sample=False))
    return account
