"""Routing a case to its lead unit (主体责任) and cooperating units (配合责任).

Source of the rule: the county's responsibility list (``data/reference/responsibility_list.yml``, loaded by
:mod:`workflow.reference`). Placeholders are resolved in the township where the matter happened (属地):
``@township`` → ``<township>_gov`` (e.g. 王虎寨镇人民政府), ``@township_zongzhi`` → ``<township>_zongzhi``
(王虎寨镇综治中心).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.exceptions import ReferenceDataError, UnknownCategory, UnknownTownship
from workflow.models import Category, Township, Unit
from workflow.reference import (
    DISPATCH_CENTER_CODE,
    ReferenceData,
    is_placeholder,
    township_unit_code,
)


@dataclass(frozen=True)
class UnitRef:
    """A unit as shown to residents and staff."""

    code: str
    name: str

    def to_dict(self) -> dict[str, str]:
        """``{"code", "name"}``."""
        return {"code": self.code, "name": self.name}


@dataclass(frozen=True)
class Routing:
    """Where a case goes: one lead unit and the cooperating units (without duplicates, never the lead)."""

    lead: UnitRef
    cooperating: list[UnitRef]


def route(source: Session | ReferenceData, category_code: str, township_code: str) -> Routing:
    """Route a matter of ``category_code`` that happened in ``township_code``.

    Args:
        source: A session over the loaded reference tables, or in-memory :class:`ReferenceData` (no database).
        category_code: One of the 28 category codes (e.g. ``eco_environment``).
        township_code: A township code (e.g. ``wanghuzhai_zhen``); names and aliases are resolved by the caller.

    Returns:
        The lead and cooperating units, placeholders resolved in the township.

    Raises:
        UnknownCategory: No category has ``category_code``.
        UnknownTownship: No township has ``township_code``.
        ReferenceDataError: The category names a unit that does not exist (database edited by hand).
    """
    if isinstance(source, ReferenceData):
        category = source.categories.get(category_code)
        if category is None:
            raise UnknownCategory(f"unknown category {category_code!r}", category=category_code)
        if source.gazetteer.township(township_code) is None:
            raise UnknownTownship(f"unknown township {township_code!r}", township=township_code)
        refs = [category.lead, *category.cooperating]
        names = {code: unit.name for code, unit in source.units.items()}
        origin = "reference data"
    else:
        row = source.get(Category, category_code) if category_code else None
        if row is None:
            raise UnknownCategory(f"unknown category {category_code!r}", category=category_code)
        if not township_code or source.get(Township, township_code) is None:
            raise UnknownTownship(f"unknown township {township_code!r}", township=township_code)
        refs = [row.lead_unit_code, *(row.cooperating or [])]
        codes = [_resolve_ref(ref, township_code) for ref in refs]
        names = dict(source.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all())
        origin = "database"
    units = [_unit_ref(_resolve_ref(ref, township_code), names, category_code, origin) for ref in refs]
    lead, cooperating = units[0], []
    for unit in units[1:]:
        if unit.code != lead.code and unit not in cooperating:
            cooperating.append(unit)
    return Routing(lead=lead, cooperating=cooperating)


def dispatch_routing(source: Session | ReferenceData) -> Routing:
    """Routing of a case whose category a dispatcher must choose: the county dispatch centre, no cooperating units.

    Raises:
        ReferenceDataError: The dispatch centre unit is missing (reference data not loaded).
    """
    if isinstance(source, ReferenceData):
        names = {code: unit.name for code, unit in source.units.items()}
        origin = "reference data"
    else:
        unit = source.get(Unit, DISPATCH_CENTER_CODE)
        names = {unit.code: unit.name} if unit is not None else {}
        origin = "database"
    return Routing(lead=_unit_ref(DISPATCH_CENTER_CODE, names, None, origin), cooperating=[])


def _resolve_ref(ref: str, township_code: str) -> str:
    return township_unit_code(ref, township_code) if is_placeholder(ref) else ref


def _unit_ref(code: str, names: Mapping[str, str], category_code: str | None, origin: str) -> UnitRef:
    name = names.get(code)
    if name is None:
        entry = f"category {category_code}" if category_code else f"unit {code}"
        raise ReferenceDataError(f"{origin}: {entry}: unit {code!r} does not exist", file=origin, entry=entry)
    return UnitRef(code=code, name=name)
