"""Reference data: the responsibility list (责任清单) and the gazetteer, validated and loaded into the database.

Sources:

- ``data/reference/responsibility_list.yml``: county and enterprise units, and the 28 categories with their lead and
  cooperating units (the county's 责任清单, ../shared/DESIGN.md "Responsibility list"). A unit may carry
  ``level: enterprise``; it defaults to ``county``.
- ``data/reference/gazetteer.yml``: townships (real) and villages (sample data).

Generated from those: for every township ``<code>_gov`` (``王虎寨镇人民政府``) and ``<code>_zongzhi``
(``王虎寨镇综治中心``), the targets of the ``@township`` and ``@township_zongzhi`` placeholders; and the county
dispatch centre ``county_dispatch_center``, which receives cases whose category a dispatcher must choose.

The data is edited by the county without a release: :func:`load_reference` upserts it (run twice, it changes
nothing), and :func:`export_nlu_lookups` regenerates the NLU lookup table and jieba dictionary of place names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.exceptions import ReferenceDataError
from workflow.gazetteer import Gazetteer, Township, read_reference_yaml, text_list_field
from workflow.models import Category, Unit
from workflow.models import Township as TownshipRow
from workflow.models import Village as VillageRow

RESPONSIBILITY_FILE = Path("reference") / "responsibility_list.yml"
PLACES_LOOKUP_FILE = Path("nlu") / "lookups" / "places.yml"
JIEBA_USERDICT_FILE = Path("nlu") / "jieba" / "userdict.txt"

#: The responsibility list has exactly this many categories (the county's 责任清单).
EXPECTED_CATEGORY_COUNT = 28

#: Placeholder for the government of the township where the matter happened (属地乡镇).
TOWNSHIP_PLACEHOLDER = "@township"
#: Placeholder for that township's comprehensive governance centre (属地乡镇综治中心).
TOWNSHIP_ZONGZHI_PLACEHOLDER = "@township_zongzhi"
_PLACEHOLDER_SUFFIXES = {TOWNSHIP_PLACEHOLDER: "_gov", TOWNSHIP_ZONGZHI_PLACEHOLDER: "_zongzhi"}
_PLACEHOLDER_NAMES = {TOWNSHIP_PLACEHOLDER: "{name}人民政府", TOWNSHIP_ZONGZHI_PLACEHOLDER: "{name}综治中心"}

#: Receives cases the resident asked a dispatcher to classify (needs_review); the dispatcher picks the category.
DISPATCH_CENTER_CODE = "county_dispatch_center"
DISPATCH_CENTER_NAME = "县社会治理综合服务中心(调度)"

FILE_UNIT_LEVELS = ("county", "enterprise")  # township units are generated, never listed
_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

# jieba user dictionary: a frequency far above ordinary two-character words, so a place name stays one token.
JIEBA_FREQUENCY = 50000
JIEBA_TAG = "ns"  # jieba's tag for place names


@dataclass(frozen=True)
class UnitSpec:
    """A unit as defined by the reference data. ``level`` is county, township or enterprise."""

    code: str
    name: str
    level: str = "county"
    township_code: str | None = None


@dataclass(frozen=True)
class CategorySpec:
    """A category of the responsibility list; unit references are codes or ``@township``-style placeholders."""

    code: str
    name: str
    lead: str
    cooperating: tuple[str, ...]
    typical_matters: tuple[str, ...]
    position: int


def township_unit_code(placeholder: str, township_code: str) -> str:
    """Return the generated unit code a placeholder means in a township (``@township`` → ``<tcode>_gov``).

    Raises:
        ValueError: ``placeholder`` is not ``@township`` or ``@township_zongzhi``.
    """
    try:
        return township_code + _PLACEHOLDER_SUFFIXES[placeholder]
    except KeyError:
        raise ValueError(f"unknown unit placeholder {placeholder!r}") from None


def is_placeholder(ref: str) -> bool:
    """True for a unit reference resolved per township (``@township``, ``@township_zongzhi``)."""
    return ref.startswith("@")


def township_units(township: Township) -> list[UnitSpec]:
    """The generated units of one township: its government and its comprehensive governance centre."""
    return [
        UnitSpec(
            code=township_unit_code(placeholder, township.code),
            name=template.format(name=township.name),
            level="township",
            township_code=township.code,
        )
        for placeholder, template in _PLACEHOLDER_NAMES.items()
    ]


def dispatch_center_unit() -> UnitSpec:
    """The county dispatch centre, lead unit of cases waiting for a dispatcher to choose the category."""
    return UnitSpec(code=DISPATCH_CENTER_CODE, name=DISPATCH_CENTER_NAME, level="county")


@dataclass(frozen=True)
class ReferenceData:
    """All reference data, validated, in memory.

    Attributes:
        units: Every unit by code: listed county/enterprise units, generated township units, the dispatch centre.
        categories: The 28 categories by code, in file order.
        gazetteer: Townships and villages.
    """

    units: Mapping[str, UnitSpec]
    categories: Mapping[str, CategorySpec]
    gazetteer: Gazetteer

    @classmethod
    def load(cls, data_dir: Path) -> ReferenceData:
        """Read and validate ``<data_dir>/reference/*.yml``.

        Raises:
            ReferenceDataError: Missing file or field, invalid YAML, duplicate code, unknown unit code or
                placeholder, a category count other than 28; the error names the file and the entry.
        """
        data_dir = Path(data_dir)
        gazetteer = Gazetteer.load(data_dir)
        path = data_dir / RESPONSIBILITY_FILE
        listed_units, categories = _parse_responsibility_list(path)
        units: dict[str, UnitSpec] = {}
        generated = [dispatch_center_unit()]
        for township in gazetteer.townships:
            generated.extend(township_units(township))
        for unit in generated:
            if unit.code in listed_units:
                raise ReferenceDataError(
                    f"{path}: unit {unit.code}: code is reserved for a generated unit ({unit.name})",
                    file=str(path),
                    entry=f"unit {unit.code}",
                )
            units[unit.code] = unit
        units.update(listed_units)
        return cls(units=units, categories=categories, gazetteer=gazetteer)


def _parse_responsibility_list(path: Path) -> tuple[dict[str, UnitSpec], dict[str, CategorySpec]]:
    document = read_reference_yaml(path)

    def fail(message: str, entry: str, **context: Any) -> ReferenceDataError:
        return ReferenceDataError(f"{path}: {entry}: {message}", file=str(path), entry=entry, **context)

    raw_units = document.get("units")
    if not isinstance(raw_units, list) or not raw_units:
        raise fail("must be a non-empty list", "units")
    units: dict[str, UnitSpec] = {}
    for index, raw in enumerate(raw_units):
        entry = f"units[{index}]"
        if not isinstance(raw, dict):
            raise fail("must be a mapping", entry)
        code = _required_code(raw, path, entry)
        entry = f"units[{index}] ({code})"
        if code in units:
            raise fail("duplicate unit code", entry)
        level = raw.get("level", "county")
        if level not in FILE_UNIT_LEVELS:
            raise fail(f"'level' must be one of {list(FILE_UNIT_LEVELS)}, got {level!r}", entry, field="level")
        units[code] = UnitSpec(code=code, name=_required_text(raw, "name", path, entry), level=level)

    raw_categories = document.get("categories")
    if not isinstance(raw_categories, list):
        raise fail("must be a list", "categories")
    categories: dict[str, CategorySpec] = {}
    names: dict[str, str] = {}
    for index, raw in enumerate(raw_categories):
        entry = f"categories[{index}]"
        if not isinstance(raw, dict):
            raise fail("must be a mapping", entry)
        code = _required_code(raw, path, entry)
        entry = f"categories[{index}] ({code})"
        if code in categories:
            raise fail("duplicate category code", entry)
        name = _required_text(raw, "name", path, entry)
        if name in names:
            raise fail(f"category name {name!r} is also used by {names[name]}", entry, field="name")
        names[name] = code
        lead = _required_text(raw, "lead", path, entry)
        cooperating = _text_list(raw, "cooperating", path, entry)
        for ref in (lead, *cooperating):
            if is_placeholder(ref):
                if ref not in _PLACEHOLDER_SUFFIXES:
                    raise fail(f"unknown unit placeholder {ref!r}", entry, unit=ref)
            elif ref not in units:
                raise fail(f"unknown unit code {ref!r}", entry, unit=ref)
        if lead in cooperating:
            raise fail(f"lead unit {lead!r} is also listed as cooperating", entry, unit=lead)
        categories[code] = CategorySpec(
            code=code,
            name=name,
            lead=lead,
            cooperating=tuple(cooperating),
            typical_matters=tuple(_text_list(raw, "typical_matters", path, entry)),
            position=index + 1,
        )
    if len(categories) != EXPECTED_CATEGORY_COUNT:
        raise fail(
            f"expected {EXPECTED_CATEGORY_COUNT} categories, found {len(categories)}",
            "categories",
            count=len(categories),
        )
    return units, categories


def _required_text(raw: dict[str, Any], key: str, path: Path, entry: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ReferenceDataError(
            f"{path}: {entry}: missing or empty field {key!r}", file=str(path), entry=entry, field=key
        )
    return value.strip()


def _required_code(raw: dict[str, Any], path: Path, entry: str) -> str:
    code = _required_text(raw, "code", path, entry)
    if not _CODE_PATTERN.match(code):
        raise ReferenceDataError(
            f"{path}: {entry}: code {code!r} must be lower-case snake_case", file=str(path), entry=entry, field="code"
        )
    return code


def _text_list(raw: dict[str, Any], key: str, path: Path, entry: str) -> list[str]:
    if key not in raw:
        raise ReferenceDataError(f"{path}: {entry}: missing field {key!r}", file=str(path), entry=entry, field=key)
    return text_list_field(raw, key, path, entry)


# ---------------------------------------------------------------------- loading into the database
@dataclass
class TableStats:
    """What :func:`load_reference` did to one table.

    Attributes:
        inserted, updated, unchanged: Rows of the reference data, by outcome.
        deactivated: Units no longer listed, marked ``active = false`` (kept: cases refer to them).
        stale: Codes of rows in the database but no longer in the data, left in place (cases may refer to them).
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    stale: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.deactivated)


@dataclass
class ReferenceStats:
    """Per-table outcome of :func:`load_reference`."""

    townships: TableStats = field(default_factory=TableStats)
    villages: TableStats = field(default_factory=TableStats)
    units: TableStats = field(default_factory=TableStats)
    categories: TableStats = field(default_factory=TableStats)

    @property
    def changed(self) -> bool:
        """True when any row was inserted, updated or deactivated."""
        return any(t.changed for t in (self.townships, self.villages, self.units, self.categories))


def load_reference(session: Session, data_dir: Path) -> ReferenceStats:
    """Validate the reference data in ``data_dir`` and upsert it into the database in the caller's transaction.

    Idempotent: loading the same data again inserts and updates nothing. Rows missing from the data are not
    deleted (cases refer to them): units are deactivated, other tables report them as ``stale``. The caller
    commits, e.g. ``with session_factory.begin() as session: load_reference(session, data_dir)``.

    Raises:
        ReferenceDataError: The data is invalid (see :meth:`ReferenceData.load`); nothing is written.
    """
    data = ReferenceData.load(data_dir)
    stats = ReferenceStats()
    gazetteer = data.gazetteer
    stats.townships = _upsert(
        session,
        TownshipRow,
        {
            t.code: {"name": t.name, "kind": t.kind, "aliases": list(t.aliases)}
            for t in gazetteer.townships
        },
    )
    stats.villages = _upsert(
        session,
        VillageRow,
        {
            v.code: {
                "name": v.name,
                "township_code": v.township_code,
                "aliases": list(v.aliases),
                "is_sample": v.is_sample,
            }
            for v in gazetteer.villages
        },
    )
    stats.units = _upsert(
        session,
        Unit,
        {
            u.code: {"name": u.name, "level": u.level, "township_code": u.township_code, "active": True}
            for u in data.units.values()
        },
        deactivate=True,
    )
    stats.categories = _upsert(
        session,
        Category,
        {
            c.code: {
                "name": c.name,
                "lead_unit_code": c.lead,
                "cooperating": list(c.cooperating),
                "typical_matters": list(c.typical_matters),
                "position": c.position,
            }
            for c in data.categories.values()
        },
    )
    return stats


def _upsert(
    session: Session, model: type, rows: Mapping[str, Mapping[str, Any]], *, deactivate: bool = False
) -> TableStats:
    stats = TableStats()
    existing = {obj.code: obj for obj in session.execute(select(model)).scalars()}
    for code, values in rows.items():
        obj = existing.get(code)
        if obj is None:
            session.add(model(code=code, **values))
            stats.inserted += 1
            continue
        changed = False
        for key, value in values.items():
            if getattr(obj, key) != value:
                setattr(obj, key, value)
                changed = True
        if changed:
            stats.updated += 1
        else:
            stats.unchanged += 1
    missing = sorted(set(existing) - set(rows))
    if deactivate:
        for code in missing:
            if existing[code].active:
                existing[code].active = False
                stats.deactivated += 1
    else:
        stats.stale = tuple(missing)
    # Flush table by table: the tables have foreign keys but no ORM relationships ordering the inserts.
    session.flush()
    return stats


# ---------------------------------------------------------------------- NLU export
_GENERATED_NOTE = "Generated by workflow.reference.export_nlu_lookups from data/reference/gazetteer.yml"


def _longest_first(terms: set[str]) -> list[str]:
    # Rasa joins a lookup table into one regex alternation, which takes the FIRST alternative that matches, not the
    # longest: 西郭城 before 西郭城镇 would cut the name short. Longest first, then alphabetical for stable output.
    return sorted(terms, key=lambda term: (-len(term), term))


def township_lookup_terms(gazetteer: Gazetteer) -> list[str]:
    """Every township name, alias and stem, longest first (the ``township`` lookup table)."""
    return _longest_first({form for t in gazetteer.townships for form in t.surface_forms()})


def village_lookup_terms(gazetteer: Gazetteer) -> list[str]:
    """Every village name, alias and stem, longest first (the ``village`` lookup table)."""
    return _longest_first({form for v in gazetteer.villages for form in v.surface_forms()})


def render_places_lookup(gazetteer: Gazetteer) -> str:
    """Rasa 3.1 NLU YAML with ``lookup: township`` and ``lookup: village`` tables."""
    lines = [
        f"# {_GENERATED_NOTE} — do not edit by hand.",
        "# Village names are sample data (see the gazetteer's header).",
        'version: "3.1"',
        "nlu:",
    ]
    for name, terms in (("township", township_lookup_terms(gazetteer)), ("village", village_lookup_terms(gazetteer))):
        lines.append(f"- lookup: {name}")
        lines.append("  examples: |")
        lines.extend(f"    - {term}" for term in terms)
    return "\n".join(lines) + "\n"


def render_jieba_userdict(gazetteer: Gazetteer) -> str:
    """jieba user dictionary: ``<word> <frequency> ns`` per place name (county, townships, villages), sorted.

    jieba has no comment syntax: every line is read as a word. The header is therefore one space-free token
    (``#generated-by-…``); loading it adds a harmless "word" residents never type.
    """
    words = sorted(
        {*gazetteer.county_names, *township_lookup_terms(gazetteer), *village_lookup_terms(gazetteer)}
    )
    header = "#generated-by-workflow.reference.export_nlu_lookups-from-data/reference/gazetteer.yml-do-not-edit"
    return "\n".join([header, *(f"{word} {JIEBA_FREQUENCY} {JIEBA_TAG}" for word in words)]) + "\n"


def export_nlu_lookups(data_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Write the place-name lookup table and jieba dictionary generated from the gazetteer.

    Files (under ``out_dir``, default ``data_dir``): ``nlu/lookups/places.yml`` and ``nlu/jieba/userdict.txt``.
    Output is sorted and deterministic, so the files are checked in and a test asserts they are up to date.

    Returns:
        The paths written.

    Raises:
        ReferenceDataError: The gazetteer is invalid.
    """
    gazetteer = Gazetteer.load(Path(data_dir))
    out = Path(out_dir) if out_dir is not None else Path(data_dir)
    outputs = {
        out / PLACES_LOOKUP_FILE: render_places_lookup(gazetteer),
        out / JIEBA_USERDICT_FILE: render_jieba_userdict(gazetteer),
    }
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(outputs)
