"""Actions run against a real ``CaseService`` (the shared database fixtures) with trackers built by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.categories import CategoryNames
from workflow.gazetteer import Gazetteer
from workflow.geo import PlaceLocator

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def svc(case_service, lifecycle):
    gazetteer = Gazetteer.load(DATA)
    built = services.Services(case_service, gazetteer, CategoryNames.load(DATA), lifecycle,
                              PlaceLocator.load(DATA, gazetteer))
    services.configure(built)
    yield built
    services.configure(None)


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
