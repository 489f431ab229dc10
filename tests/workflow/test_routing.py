"""Routing by the responsibility list, from the database and from the in-memory reference data."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete

from workflow.exceptions import ReferenceDataError, UnknownCategory, UnknownTownship
from workflow.models import Unit
from workflow.reference import ReferenceData
from workflow.routing import Routing, UnitRef, dispatch_routing, route

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return ReferenceData.load(DATA_DIR)


EXPECTED = [
    (
        "eco_environment",
        "wanghuzhai_zhen",
        Routing(
            lead=UnitRef("county_ecology", "县生态环境分局"),
            cooperating=[
                UnitRef("wanghuzhai_zhen_gov", "王虎寨镇人民政府"),
                UnitRef("county_urban_management", "县城市管理综合行政执法局"),
            ],
        ),
    ),
    (
        "public_security",
        "guanting_zhen",
        Routing(
            lead=UnitRef("county_public_security", "县公安局"),
            cooperating=[UnitRef("guanting_zhen_zongzhi", "官亭镇综治中心")],
        ),
    ),
    (
        "dispute_mediation",
        "dicun_xiang",
        Routing(
            lead=UnitRef("county_justice", "县司法局"),
            cooperating=[UnitRef("dicun_xiang_zongzhi", "堤村乡综治中心"), UnitRef("county_petitions", "县信访局")],
        ),
    ),
    (
        "power_supply",
        "julu_zhen",
        Routing(
            lead=UnitRef("state_grid_julu", "国网巨鹿县供电公司"),
            cooperating=[UnitRef("county_development_reform", "县发展和改革局")],
        ),
    ),
]


@pytest.mark.parametrize("category,township,expected", EXPECTED)
def test_it_routes_by_the_responsibility_list_in_memory(reference, category, township, expected):
    assert route(reference, category, township) == expected


@pytest.mark.parametrize("category,township,expected", EXPECTED)
def test_it_routes_by_the_responsibility_list_from_the_database(session_factory, category, township, expected):
    with session_factory() as session:
        assert route(session, category, township) == expected


def test_database_and_memory_agree_on_every_category_and_township(reference, session_factory):
    with session_factory() as session:
        for category in reference.categories:
            for township in reference.gazetteer.townships:
                assert route(session, category, township.code) == route(reference, category, township.code)


def test_it_never_lists_the_lead_as_cooperating(reference):
    for category in reference.categories:
        routing = route(reference, category, "suying_zhen")
        assert routing.lead not in routing.cooperating
        assert len(set(routing.cooperating)) == len(routing.cooperating)


def test_it_routes_cases_for_a_dispatcher_to_the_dispatch_centre(reference, session_factory):
    expected = Routing(lead=UnitRef("county_dispatch_center", "县社会治理综合服务中心(调度)"), cooperating=[])
    assert dispatch_routing(reference) == expected
    with session_factory() as session:
        assert dispatch_routing(session) == expected


def test_it_rejects_unknown_categories_and_townships(reference, session_factory):
    with session_factory() as session:
        for source in (reference, session):
            with pytest.raises(UnknownCategory) as raised:
                route(source, "weather", "julu_zhen")
            assert raised.value.context == {"category": "weather"}
            with pytest.raises(UnknownTownship) as raised:
                route(source, "agriculture", "王虎寨镇")  # names are resolved by the caller, not here
            assert raised.value.context == {"township": "王虎寨镇"}


def test_it_reports_a_unit_missing_from_the_database(session_factory):
    with session_factory.begin() as session:
        session.execute(delete(Unit).where(Unit.code == "county_commerce"))
    with session_factory() as session:
        with pytest.raises(ReferenceDataError, match="county_commerce"):
            route(session, "market_regulation", "julu_zhen")
