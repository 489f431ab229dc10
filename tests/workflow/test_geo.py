"""Shared locations resolved to places (workflow/geo.py) with the repository's coordinates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workflow.exceptions import ReferenceDataError
from workflow.geo import COUNTY_RADIUS_KM, PlaceLocator, distance_km

DATA = Path(__file__).resolve().parents[2] / "data"
POINTS = yaml.safe_load((DATA / "reference" / "coordinates.yml").read_text())


@pytest.fixture(scope="module")
def locator() -> PlaceLocator:
    return PlaceLocator.load(DATA)


def test_it_measures_great_circle_distances():
    # One degree of latitude is 111.2 km; one of longitude at 37° N about 88.8 km.
    assert distance_km(37.0, 115.0, 38.0, 115.0) == pytest.approx(111.19, abs=0.05)
    assert distance_km(37.0, 115.0, 37.0, 116.0) == pytest.approx(88.80, abs=0.1)


def test_it_names_the_village_a_resident_stands_in(locator):
    lat, lon = next(point for code, point in POINTS["villages"].items() if code.startswith("yantuan_"))
    place = locator.nearest(lat + 0.002, lon)  # about 220 m away
    assert place.township.name == "阎疃镇" and place.village is not None
    assert place.distance_km < 0.3


def test_between_villages_it_names_the_nearest_township(locator):
    lat, lon = POINTS["townships"]["guanting_zhen"]
    place = locator.nearest(lat, lon)
    assert (place.township.name, place.village) == ("官亭镇", None)
    assert place.describe() == "官亭镇"


def test_far_from_every_place_it_is_outside_the_county(locator):
    place = locator.nearest(38.0428, 114.5149)  # 石家庄
    assert not place.inside_county and place.distance_km > COUNTY_RADIUS_KM and place.describe() == ""


@pytest.mark.parametrize("point", [(91.0, 115.0), (37.0, 181.0), (float("nan"), 115.0), ("37", 115.0)])
def test_it_refuses_a_point_that_is_not_one(locator, point):
    with pytest.raises(ValueError):
        locator.nearest(*point)


def test_it_refuses_coordinates_of_a_place_the_gazetteer_does_not_know(tmp_path):
    (tmp_path / "reference").mkdir()
    for name in ("gazetteer.yml",):
        (tmp_path / "reference" / name).write_text((DATA / "reference" / name).read_text())
    (tmp_path / "reference" / "coordinates.yml").write_text("townships:\n  atlantis_zhen: [37.2, 115.0]\n")
    with pytest.raises(ReferenceDataError, match="atlantis_zhen"):
        PlaceLocator.load(tmp_path)
    (tmp_path / "reference" / "coordinates.yml").write_text("townships:\n  julu_zhen: [137.2, 115.0]\n")
    with pytest.raises(ReferenceDataError, match="julu_zhen"):
        PlaceLocator.load(tmp_path)
