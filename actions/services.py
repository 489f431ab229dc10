"""The ``workflow`` services the actions use, built once per action-server process from the environment.

Actions hold no SQL: they call ``CaseService`` and the gazetteer. ``configure`` lets tests inject services.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Optional

from actions.categories import CategoryNames
from workflow.cases import CaseService
from workflow.db import make_engine, make_session_factory
from workflow.gazetteer import Gazetteer
from workflow.geo import PlaceLocator
from workflow.lifecycle import CaseLifecycle
from workflow.mall import Mall
from workflow.points import PointsLedger, load_points_policy
from workflow.policy import load_policy
from workflow.settings import Settings
from workflow.workcalendar import WorkingCalendar


@dataclass
class Services:
    """What the actions need: filing and reading cases, the closed loop, the gazetteer, the category names, the
    place locator (shared locations → village/township), the points ledger and mall, and the grid workers' view
    (:class:`workflow.grid_work.GridWork`: who is a grid worker, their grids' open cases, chat binding)."""

    cases: CaseService
    gazetteer: Gazetteer
    categories: CategoryNames
    lifecycle: CaseLifecycle
    locator: PlaceLocator
    points: Optional[PointsLedger] = None
    mall: Optional[Mall] = None
    grid_work: Optional[Any] = None
    #: issue 7: the knowledge bases (workflow.knowledge.KnowledgeStore), the expert desk (workflow.experts.ExpertDesk),
    #: field sensors (workflow.sensors.SensorService) and traceability (workflow.traceability.Traceability)
    knowledge: Optional[Any] = None
    experts: Optional[Any] = None
    sensors: Optional[Any] = None
    trace: Optional[Any] = None


_lock = threading.Lock()
_services: Optional[Services] = None


def build(settings: Settings) -> Services:
    """Builds the services for ``settings`` (engine, calendar, gazetteer, category names, lifecycle)."""
    engine = make_engine(settings.database_url)
    calendar = WorkingCalendar.default(settings.data_dir)
    session_factory = make_session_factory(engine)
    policy = load_policy(settings.data_dir)
    gazetteer = Gazetteer.load(settings.data_dir)
    from workflow.experts import ExpertDesk
    from workflow.grid_work import GridWork
    from workflow.knowledge import KnowledgeStore
    from workflow.pesticides import load_pesticides
    from workflow.sensors import SensorService
    from workflow.traceability import Traceability

    ledger = PointsLedger(session_factory, policy=load_points_policy(settings.data_dir))
    return Services(
        cases=CaseService(session_factory, calendar, policy=policy),
        gazetteer=gazetteer,
        locator=PlaceLocator.load(settings.data_dir, gazetteer),
        categories=CategoryNames.load(settings.data_dir),
        lifecycle=CaseLifecycle(session_factory, calendar, policy=policy,
                                auto_accept_threshold=settings.auto_accept_threshold),
        points=ledger,
        mall=Mall(session_factory, ledger=ledger),
        grid_work=GridWork(session_factory, calendar),
        knowledge=KnowledgeStore(settings.data_dir),
        experts=ExpertDesk(session_factory, calendar, policy=policy, knowledge_dir=settings.data_dir / "knowledge"),
        sensors=SensorService.from_data_dir(session_factory, settings.data_dir),
        trace=Traceability(session_factory, load_pesticides(settings.data_dir)),
    )


def get() -> Services:
    """Returns the process-wide services, building them from ``Settings.from_env()`` on first use."""
    global _services
    with _lock:
        if _services is None:
            _services = build(Settings.from_env())
        return _services


def configure(services: Optional[Services]) -> None:
    """Replaces the process-wide services (tests); ``None`` rebuilds from the environment on next use."""
    global _services
    with _lock:
        _services = services
