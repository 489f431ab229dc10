"""Where a shared location lies: the nearest village or township of the gazetteer (WeChat location messages).

Positions come from ``data/reference/coordinates.yml`` (township seats approximate, villages sample data: see the
file's header), checked against the gazetteer on load. Distances are great-circle (haversine) in kilometres on a
6,371 km sphere: at county scale the error is far below the uncertainty of the positions themselves.

Rules (the county's practice for grid reports: a place is named by its village when the reporter stands in or by
it, else by its township):
- the nearest village within :data:`VILLAGE_RADIUS_KM` names the village and its township;
- otherwise the nearest township seat names the township;
- nothing within :data:`COUNTY_RADIUS_KM` of any known place: the location is outside the county.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.exceptions import ReferenceDataError
from workflow.gazetteer import Gazetteer, Township, Village, read_reference_yaml

COORDINATES_FILE = Path("reference") / "coordinates.yml"
EARTH_RADIUS_KM = 6371.0
#: A village counts as the place when the point is this close to it (km): half the typical spacing of 行政村 on the
#: North China plain (2–3 km).
VILLAGE_RADIUS_KM = 1.5
#: Farther than this (km) from every known place, the point is not in the county (巨鹿县 spans about 35 × 30 km).
COUNTY_RADIUS_KM = 15.0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two WGS-84 points given in decimal degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class NearestPlace:
    """Where a point lies. ``township`` is None when the point is outside the county (``distance_km`` is then the
    distance to the nearest known place); ``village`` is set when a village is within the village radius."""

    township: Township | None
    village: Village | None
    distance_km: float

    @property
    def inside_county(self) -> bool:
        """True when the point resolved to a township."""
        return self.township is not None

    def describe(self) -> str:
        """``王虎寨镇小韩寨村`` / ``王虎寨镇`` / ``''`` (outside)."""
        if self.township is None:
            return ""
        return self.township.name + (self.village.name if self.village else "")


class PlaceLocator:
    """Resolves points to places.

    Args:
        gazetteer: The places.
        townships: ``{township code: (latitude, longitude)}``.
        villages: ``{village code: (latitude, longitude)}``.

    Raises:
        ReferenceDataError: A code is not in the gazetteer, or a position is not a pair of degrees in range.
    """

    def __init__(self, gazetteer: Gazetteer, townships: dict[str, tuple[float, float]],
                 villages: dict[str, tuple[float, float]]) -> None:
        self._gazetteer = gazetteer
        self._townships = [(gazetteer.township(code), point) for code, point in townships.items()]
        self._villages = [(gazetteer.village(code), point) for code, point in villages.items()]
        for (place, _), code in zip(self._townships + self._villages, [*townships, *villages]):
            if place is None:
                raise ReferenceDataError(f"coordinates for unknown place {code!r}", file=str(COORDINATES_FILE),
                                         entry=code)

    @classmethod
    def load(cls, data_dir: Path, gazetteer: Gazetteer | None = None) -> PlaceLocator:
        """Reads ``<data_dir>/reference/coordinates.yml`` (and the gazetteer, unless given).

        Raises:
            ReferenceDataError: Missing or malformed file, or a code the gazetteer does not know.
        """
        path = data_dir / COORDINATES_FILE
        document = read_reference_yaml(path)
        gazetteer = gazetteer or Gazetteer.load(data_dir)
        return cls(gazetteer, _points(document, "townships", path), _points(document, "villages", path))

    def nearest(self, latitude: float, longitude: float) -> NearestPlace:
        """The place of a point (decimal degrees, WGS-84) by the rules in the module docstring.

        Raises:
            ValueError: Latitude outside ±90 or longitude outside ±180, or not finite numbers.
        """
        _check_point(latitude, longitude)
        village, village_km = _closest(self._villages, latitude, longitude)
        if village is not None and village_km <= VILLAGE_RADIUS_KM:
            return NearestPlace(self._gazetteer.township(village.township_code), village, village_km)
        township, township_km = _closest(self._townships, latitude, longitude)
        nearest_km = min(village_km, township_km)
        if township is None or nearest_km > COUNTY_RADIUS_KM:
            return NearestPlace(None, None, nearest_km)
        return NearestPlace(township, None, township_km)


def _closest(places, latitude: float, longitude: float):
    best, best_km = None, math.inf
    for place, (lat, lon) in places:
        km = distance_km(latitude, longitude, lat, lon)
        if km < best_km:
            best, best_km = place, km
    return best, best_km


#: The coordinates of a point and their bounds in degrees.
COORDINATE_BOUNDS = (("latitude", 90.0), ("longitude", 180.0))


def check_coordinate(name: str, value: Any) -> None:
    """Checks one coordinate (``name`` from :data:`COORDINATE_BOUNDS`): a finite number, not a bool, in range.

    Raises:
        ValueError: It is not; the message starts with ``name``.
    """
    bound = dict(COORDINATE_BOUNDS)[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not -bound <= value <= bound:
        raise ValueError(f"{name} must be a number between -{bound:g} and {bound:g}, got {value!r}")


def _check_point(latitude: Any, longitude: Any) -> None:
    check_coordinate("latitude", latitude)
    check_coordinate("longitude", longitude)


def _points(document: dict[str, Any], key: str, path: Path) -> dict[str, tuple[float, float]]:
    raw = document.get(key) or {}
    if not isinstance(raw, dict):
        raise ReferenceDataError(f"{path}: '{key}' must be a mapping of code → [latitude, longitude]",
                                 file=str(path), entry=key)
    points = {}
    for code, value in raw.items():
        if not (isinstance(value, list) and len(value) == 2):
            raise ReferenceDataError(f"{path}: {key}.{code} must be [latitude, longitude]", file=str(path),
                                     entry=f"{key}.{code}")
        try:
            _check_point(*value)
        except ValueError as error:
            raise ReferenceDataError(f"{path}: {key}.{code}: {error}", file=str(path), entry=f"{key}.{code}") from None
        points[str(code)] = (float(value[0]), float(value[1]))
    return points
