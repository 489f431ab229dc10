"""Pesticides and their pre-harvest intervals (安全间隔期), from ``data/trace/pesticides.yml``.

The file is sample data until the county's agriculture bureau has checked it (``sample: true``, ``checked``); see
its header. Used by :mod:`workflow.traceability` (a harvest inside a spraying's interval is refused) and
:mod:`workflow.sensor_rules` (pest advice quotes each product's interval).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from workflow.field_errors import FieldDataFileError, InvalidFieldData

PESTICIDES_FILE = Path("trace") / "pesticides.yml"
#: Longest pre-harvest interval accepted in the file (days); a longer one is surely a typo.
MAX_PHI_DAYS = 365


class UnknownPesticide(InvalidFieldData):
    """A spraying names a product the pesticide list does not know, so its interval cannot be checked.

    Context: ``product``, ``known`` (the list's names).
    """

    code = "unknown_pesticide"


@dataclass(frozen=True)
class Pesticide:
    """One product: ``name``, ``aliases``, pre-harvest interval ``phi_days`` (days), ``targets`` (pests, diseases)."""

    name: str
    phi_days: int
    aliases: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()

    def earliest_harvest(self, sprayed_on: dt.date) -> dt.date:
        """The first day a harvest may happen after spraying on ``sprayed_on`` (Asia/Shanghai date)."""
        return sprayed_on + dt.timedelta(days=self.phi_days)


@dataclass(frozen=True)
class PesticideList:
    """The products by name; :meth:`find` also takes aliases (case-insensitive, surrounding blanks ignored).

    Attributes:
        products: By name, in file order.
        is_sample: The file says ``sample: true`` (not yet checked by the agriculture bureau).
        version: The file's ``version``.
    """

    products: Mapping[str, Pesticide]
    is_sample: bool = True
    version: str | None = None

    def find(self, name: str) -> Pesticide | None:
        """The product called ``name`` (or one of its aliases), or None."""
        key = _key(name)
        for product in self.products.values():
            if key == _key(product.name) or key in (_key(alias) for alias in product.aliases):
                return product
        return None

    def get(self, name: str) -> Pesticide:
        """Like :meth:`find`, but an unknown name raises.

        Raises:
            UnknownPesticide: No product or alias is called ``name``.
        """
        product = self.find(name)
        if product is None:
            raise UnknownPesticide(
                f"unknown pesticide {name!r}: its pre-harvest interval is not in {PESTICIDES_FILE}",
                product=name, known=list(self.products),
            )
        return product


def load_pesticides(data_dir: Path | str) -> PesticideList:
    """Read and validate ``<data_dir>/trace/pesticides.yml``.

    Raises:
        FieldDataFileError: The file is missing or not YAML; a product without a name, with a duplicate name or
            alias, or with ``phi_days`` not a whole number from 0 to 365.
    """
    path = Path(data_dir) / PESTICIDES_FILE
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise FieldDataFileError(f"cannot read {path}: {error}", file=str(path)) from None
    if not isinstance(document, dict) or not isinstance(document.get("products"), list):
        raise FieldDataFileError(f"{path} needs a list under 'products'", file=str(path), field="products")
    products: dict[str, Pesticide] = {}
    seen: set[str] = set()
    for index, entry in enumerate(document["products"]):
        products_entry = _product(path, index, entry)
        for name in (products_entry.name, *products_entry.aliases):
            if _key(name) in seen:
                raise FieldDataFileError(f"{path}: product #{index + 1}: name or alias {name!r} is used twice",
                                         file=str(path), entry=index + 1, field="name")
            seen.add(_key(name))
        products[products_entry.name] = products_entry
    return PesticideList(products, is_sample=bool(document.get("sample", True)),
                         version=str(document.get("version")) if document.get("version") else None)


def _product(path: Path, index: int, entry: Any) -> Pesticide:
    def fail(field: str, problem: str) -> FieldDataFileError:
        return FieldDataFileError(f"{path}: product #{index + 1}: {field} {problem}", file=str(path),
                                  entry=index + 1, field=field)

    if not isinstance(entry, dict):
        raise fail("entry", "must be a mapping")
    unknown = set(entry) - {"name", "aliases", "phi_days", "targets"}
    if unknown:
        raise fail(", ".join(sorted(unknown)), "is not a known field")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail("name", "must be a non-empty string")
    phi = entry.get("phi_days")
    if isinstance(phi, bool) or not isinstance(phi, int) or not 0 <= phi <= MAX_PHI_DAYS:
        raise fail("phi_days", f"must be a whole number of days from 0 to {MAX_PHI_DAYS}, got {phi!r}")
    lists = {}
    for field in ("aliases", "targets"):
        values = entry.get(field) or []
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            raise fail(field, "must be a list of non-empty strings")
        lists[field] = tuple(str(v).strip() for v in values)
    return Pesticide(name=name.strip(), phi_days=phi, aliases=lists["aliases"], targets=lists["targets"])


def _key(name: str) -> str:
    return (name or "").strip().casefold()
