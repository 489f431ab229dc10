"""Threshold rules of the field sensors, as data: ``data/sensors/rules.yml`` (its header documents the fields).

A rule watches one kind of reading (and, for soil moisture, one depth; for pest counts, one species) in some growth
stages, and holds when the value — the reading itself, or the plot's total of the Asia/Shanghai day for rainfall
and pest counts — is strictly below or above its threshold. :mod:`workflow.sensors` evaluates the rules on ingestion
and pushes a holding rule's advice to the plot's growers at most once per rule per plot per day.

The file also lists the pest species a trap may report (``pest_species``). Everything is validated on load
(:func:`load_sensor_config`); a bad file raises :class:`workflow.field_errors.FieldDataFileError` naming the rule
and the field, so a typo stops start-up rather than silently disabling a rule.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workflow.field_errors import FieldDataFileError
from workflow.pesticides import PesticideList
from workflow.sensor_models import GROWTH_STAGES

RULES_FILE = Path("sensors") / "rules.yml"
#: Kinds a rule may watch (a snapshot has no value) and the unit of each, as shown in messages.
RULE_KINDS = {"air_temperature": "°C", "humidity": "%", "rainfall": "mm", "soil_moisture": "%", "pest_count": "头"}
AGGREGATES = ("reading", "day_total")
#: Kinds whose readings add up over a day (a day_total rule is allowed only for these).
SUMMABLE_KINDS = ("rainfall", "pest_count")
PLACEHOLDERS = frozenset({"plot", "value", "threshold", "depth_cm", "species"})
_RULE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FIELDS = {"id", "name", "kind", "below", "above", "aggregate", "depth_cm", "species", "stages", "products", "advice"}


@dataclass(frozen=True)
class Rule:
    """One threshold rule (see the module docstring and the file's header).

    Attributes:
        id: Stable id; the de-duplication key of ``field_alerts``.
        name: Chinese name.
        kind: The reading kind watched.
        threshold: The level; ``direction`` says whether the rule holds strictly ``below`` or ``above`` it.
        direction: ``below`` or ``above``.
        aggregate: ``reading`` or ``day_total``.
        depth_cm: Soil moisture: the depth watched; None otherwise.
        species: Pest counts: the species watched; None otherwise.
        stages: Growth stages in which it applies; empty = all.
        products: Suggested pesticides, with their pre-harvest intervals (days), in file order.
        advice: The message template.
    """

    id: str
    name: str
    kind: str
    threshold: float
    direction: str
    aggregate: str
    advice: str
    depth_cm: int | None = None
    species: str | None = None
    stages: tuple[str, ...] = ()
    products: tuple[tuple[str, int], ...] = ()

    @property
    def series(self) -> str:
        """The series of readings it watches (as ``sensor_readings.series``): ``20cm``, ``蚜虫`` or ``""``."""
        return series_of(self.kind, self.depth_cm, self.species)

    def applies(self, kind: str, series: str, growth_stage: str) -> bool:
        """Whether a reading of ``kind``/``series`` in a plot at ``growth_stage`` concerns this rule."""
        return kind == self.kind and series == self.series and (not self.stages or growth_stage in self.stages)

    def holds(self, value: float) -> bool:
        """Whether ``value`` is strictly past the threshold."""
        return value < self.threshold if self.direction == "below" else value > self.threshold

    def message(self, plot_name: str, value: float) -> str:
        """The advice for ``value`` in plot ``plot_name``, with the suggested products' intervals appended."""
        text = self.advice.format(plot=plot_name, value=_number(value), threshold=_number(self.threshold),
                                  depth_cm=self.depth_cm if self.depth_cm is not None else "",
                                  species=self.species or "")
        if self.products:
            listed = "、".join(f"{name}（安全间隔期 {days} 天）" for name, days in self.products)
            text += f"可选药剂：{listed}，按标签用量使用，安全间隔期内不要采收。"
        return text


@dataclass(frozen=True)
class SensorConfig:
    """The rules and the known pest species of ``data/sensors/rules.yml``."""

    rules: tuple[Rule, ...]
    pest_species: tuple[str, ...]


def series_of(kind: str, depth_cm: int | None, species: str | None) -> str:
    """The series key of a reading: ``<depth>cm`` for soil moisture, the species for pest counts, else ``""``."""
    if kind == "soil_moisture":
        return f"{depth_cm}cm"
    if kind == "pest_count":
        return species or ""
    return ""


def load_sensor_config(data_dir: Path | str, pesticides: PesticideList) -> SensorConfig:
    """Read and validate ``<data_dir>/sensors/rules.yml``.

    Args:
        data_dir: The data directory (``data/``).
        pesticides: The pesticide list (:func:`workflow.pesticides.load_pesticides`): a rule's products must be in it.

    Raises:
        FieldDataFileError: Missing or malformed file; an unknown field, kind, stage, species, aggregate or product;
            a duplicate or malformed id; not exactly one of ``below``/``above``; a depth or species missing or given
            where it does not belong; an advice with an unknown placeholder.
    """
    path = Path(data_dir) / RULES_FILE
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise FieldDataFileError(f"cannot read {path}: {error}", file=str(path)) from None
    if not isinstance(document, dict):
        raise FieldDataFileError(f"{path} must be a mapping with pest_species and rules", file=str(path))
    species = document.get("pest_species")
    if not isinstance(species, list) or not species or not all(isinstance(s, str) and s.strip() for s in species):
        raise FieldDataFileError(f"{path}: pest_species must be a non-empty list of names", file=str(path),
                                 field="pest_species")
    pest_species = tuple(s.strip() for s in species)
    entries = document.get("rules")
    if not isinstance(entries, list):
        raise FieldDataFileError(f"{path} needs a list under 'rules'", file=str(path), field="rules")
    rules: list[Rule] = []
    for index, entry in enumerate(entries):
        rule = _rule(path, index, entry, pest_species, pesticides)
        if any(other.id == rule.id for other in rules):
            raise FieldDataFileError(f"{path}: rule #{index + 1}: id {rule.id!r} is used twice", file=str(path),
                                     entry=rule.id, field="id")
        rules.append(rule)
    return SensorConfig(rules=tuple(rules), pest_species=pest_species)


def _rule(path: Path, index: int, entry: Any, pest_species: tuple[str, ...], pesticides: PesticideList) -> Rule:
    label = entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else f"#{index + 1}"

    def fail(field: str, problem: str) -> FieldDataFileError:
        return FieldDataFileError(f"{path}: rule {label}: {field} {problem}", file=str(path), entry=label,
                                  field=field)

    if not isinstance(entry, dict):
        raise fail("entry", "must be a mapping")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise fail(", ".join(unknown), f"is not a known field (known: {', '.join(sorted(_FIELDS))})")
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
        raise fail("id", "must be snake_case ASCII, 1–64 characters")
    for field in ("name", "advice"):
        if not isinstance(entry.get(field), str) or not entry[field].strip():
            raise fail(field, "must be a non-empty string")
    kind = entry.get("kind")
    if kind not in RULE_KINDS:
        raise fail("kind", f"must be one of {', '.join(RULE_KINDS)}, got {kind!r}")
    given = [d for d in ("below", "above") if d in entry]
    if len(given) != 1:
        raise fail("below/above", "exactly one of the two is required")
    direction = given[0]
    threshold = entry[direction]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise fail(direction, f"must be a number, got {threshold!r}")
    aggregate = entry.get("aggregate", "reading")
    if aggregate not in AGGREGATES:
        raise fail("aggregate", f"must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
    if aggregate == "day_total" and kind not in SUMMABLE_KINDS:
        raise fail("aggregate", f"day_total is only for {', '.join(SUMMABLE_KINDS)}")
    depth = entry.get("depth_cm")
    if kind == "soil_moisture":
        if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= 200:
            raise fail("depth_cm", "is required for soil_moisture: whole centimetres from 0 to 200")
    elif depth is not None:
        raise fail("depth_cm", "is only for soil_moisture")
    species = entry.get("species")
    if kind == "pest_count":
        if species not in pest_species:
            raise fail("species", f"is required for pest_count and must be one of pest_species, got {species!r}")
    elif species is not None:
        raise fail("species", "is only for pest_count")
    stages = entry.get("stages") or []
    if not isinstance(stages, list) or any(stage not in GROWTH_STAGES for stage in stages):
        raise fail("stages", f"must be a list of {', '.join(GROWTH_STAGES)}, got {stages!r}")
    products = entry.get("products") or []
    if not isinstance(products, list):
        raise fail("products", "must be a list of pesticide names")
    resolved = []
    for name in products:
        product = pesticides.find(name) if isinstance(name, str) else None
        if product is None:
            raise fail("products", f"{name!r} is not in data/trace/pesticides.yml")
        resolved.append((product.name, product.phi_days))
    advice = "".join(line.strip() for line in entry["advice"].splitlines())
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(advice) if name is not None}
    except ValueError as error:
        raise fail("advice", f"is not a valid template: {error}") from None
    if not fields <= PLACEHOLDERS:
        raise fail("advice", f"uses unknown placeholder(s) {sorted(fields - PLACEHOLDERS)}; "
                             f"known: {', '.join(sorted(PLACEHOLDERS))}")
    return Rule(id=rule_id, name=entry["name"].strip(), kind=kind, threshold=float(threshold), direction=direction,
                aggregate=aggregate, advice=advice, depth_cm=depth, species=species, stages=tuple(stages),
                products=tuple(resolved))


def _number(value: float) -> str:
    """``15`` for 15.0, ``14.5`` for 14.5 (one decimal at most)."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"
