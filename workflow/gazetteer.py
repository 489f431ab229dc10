"""Recognising the county's places (townships 乡镇, villages 村) in what residents say.

Source of the data: ``data/reference/gazetteer.yml`` (townships are real; villages are sample data). The gazetteer
works in memory without a database (:meth:`Gazetteer.load`) or from the loaded tables
(:meth:`Gazetteer.from_session`), so the bot, the services and the NLU export all match places the same way.

Matching rules (why): residents drop the 镇/乡 suffix (王虎寨) or say the wrong one (王虎寨乡 for 王虎寨镇), drop 村
(东关 for 东关村), type full-width characters and stray spaces. Names are compared after
:func:`workflow.textnorm.normalize_text`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.exceptions import ReferenceDataError
from workflow.textnorm import normalize_term, normalize_text

GAZETTEER_FILE = Path("reference") / "gazetteer.yml"

TOWNSHIP_SUFFIXES = ("镇", "乡")
VILLAGE_SUFFIX = "村"
# 「王虎寨镇人民政府」「王虎寨镇政府」 name the township too.
_GOVERNMENT_SUFFIXES = ("人民政府", "政府")
_MIN_FORM_LENGTH = 2  # a one-character alias would match inside unrelated words
# libyaml's safe loader when PyYAML was built with it: the pure-Python one is ~20x slower on our files.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Township:
    """A township (乡镇). ``aliases`` are other names residents use (巨鹿县城 for 巨鹿镇)."""

    code: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()

    @property
    def stem(self) -> str:
        """The name without its 镇/乡 suffix (王虎寨镇 → 王虎寨)."""
        return _strip_suffix(self.name, TOWNSHIP_SUFFIXES)

    def surface_forms(self) -> tuple[str, ...]:
        """Name, aliases and stem, de-duplicated, in that order."""
        return _unique((self.name, *self.aliases, self.stem))


@dataclass(frozen=True)
class Village:
    """A village (行政村) of ``township_code``; ``is_sample`` marks made-up development data."""

    code: str
    name: str
    township_code: str
    aliases: tuple[str, ...] = ()
    is_sample: bool = False

    @property
    def stem(self) -> str:
        """The name without 村 when at least two characters remain (东关村 → 东关)."""
        stem = _strip_suffix(self.name, (VILLAGE_SUFFIX,))
        return stem if len(stem) >= _MIN_FORM_LENGTH else self.name

    def surface_forms(self) -> tuple[str, ...]:
        """Name, aliases and stem, de-duplicated, in that order."""
        return _unique((self.name, *self.aliases, self.stem))


@dataclass(frozen=True)
class PlaceMatch:
    """Places found in a text: either may be None. A village always lies in ``township`` when both are set."""

    township: Township | None = None
    village: Village | None = None


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    kind: str  # "county", "township" or "village"
    form: str

    @property
    def length(self) -> int:
        return self.end - self.start


class Gazetteer:
    """The county's townships and villages, with lookups by name, alias or code.

    Args:
        townships: All townships.
        villages: All villages; each ``township_code`` must be one of ``townships``.
        county_names: Names of the county itself (巨鹿县); :meth:`find_places` skips them so 「巨鹿县王虎寨镇」 is
            not read as 巨鹿(镇).
        source: File or other origin named in errors.

    Raises:
        ReferenceDataError: Duplicate codes, an unknown township of a village, a form shorter than two characters,
            two townships sharing a form, a township form that is a county name, two villages of one township
            sharing a form, or a village form that is also a township or county form.
    """

    def __init__(
        self,
        townships: Sequence[Township],
        villages: Sequence[Village] = (),
        county_names: Sequence[str] = (),
        source: str = "gazetteer",
    ) -> None:
        self.source = source
        self._townships: dict[str, Township] = {}
        self._villages: dict[str, Village] = {}
        self._township_forms: dict[str, Township] = {}
        self._village_forms: dict[str, list[Village]] = defaultdict(list)
        self._county_forms = {normalize_text(name) for name in county_names}
        for township in townships:
            self._add_township(township)
        for village in villages:
            self._add_village(village)
        self._max_form_length = max(
            (len(form) for form in (*self._township_forms, *self._village_forms, *self._county_forms)), default=0
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, data_dir: Path) -> Gazetteer:
        """Read ``<data_dir>/reference/gazetteer.yml``.

        Raises:
            ReferenceDataError: The file is missing, is not valid YAML, or breaks the rules above; the error names
                the file and the entry.
        """
        path = Path(data_dir) / GAZETTEER_FILE
        townships, villages, county_names = parse_gazetteer(path)
        return cls(townships, villages, county_names, source=str(path))

    @classmethod
    def from_session(cls, session: Session) -> Gazetteer:
        """Build from the ``townships`` and ``villages`` tables (as loaded by ``load_reference``).

        The county's own names are not stored in the database, so :meth:`find_places` on this instance does not
        skip them; name resolution (:meth:`resolve_township`, :meth:`resolve_village`) is unaffected.
        """
        from workflow.models import Township as TownshipRow
        from workflow.models import Village as VillageRow

        townships = [
            Township(code=row.code, name=row.name, kind=row.kind, aliases=tuple(row.aliases or ()))
            for row in session.execute(select(TownshipRow).order_by(TownshipRow.code)).scalars()
        ]
        villages = [
            Village(
                code=row.code,
                name=row.name,
                township_code=row.township_code,
                aliases=tuple(row.aliases or ()),
                is_sample=row.is_sample,
            )
            for row in session.execute(select(VillageRow).order_by(VillageRow.code)).scalars()
        ]
        return cls(townships, villages, source="database")

    def _error(self, message: str, entry: str) -> ReferenceDataError:
        return ReferenceDataError(f"{self.source}: {entry}: {message}", file=self.source, entry=entry)

    def _add_township(self, township: Township) -> None:
        entry = f"township {township.code}"
        if township.code in self._townships:
            raise self._error("duplicate township code", entry)
        self._townships[township.code] = township
        for form in township.surface_forms():
            key = self._checked_form(form, entry)
            if key in self._county_forms:
                raise self._error(f"name or alias {form!r} is also a name of the county", entry)
            other = self._township_forms.get(key)
            if other is not None and other.code != township.code:
                raise self._error(f"name or alias {form!r} is also used by township {other.code}", entry)
            self._township_forms[key] = township

    def _add_village(self, village: Village) -> None:
        entry = f"village {village.code}"
        if village.code in self._villages:
            raise self._error("duplicate village code", entry)
        if village.township_code not in self._townships:
            raise self._error(f"unknown township {village.township_code!r}", entry)
        self._villages[village.code] = village
        for form in village.surface_forms():
            key = self._checked_form(form, entry)
            if key in self._township_forms or key in self._county_forms:
                raise self._error(f"name or alias {form!r} is also a township or county name", entry)
            same_township = [v for v in self._village_forms[key] if v.township_code == village.township_code]
            if same_township:
                raise self._error(
                    f"name or alias {form!r} is also used by {same_township[0].code} in the same township", entry
                )
            self._village_forms[key].append(village)

    def _checked_form(self, form: str, entry: str) -> str:
        key = normalize_text(form)
        if len(key) < _MIN_FORM_LENGTH:
            raise self._error(f"name or alias {form!r} is shorter than {_MIN_FORM_LENGTH} characters", entry)
        return key

    # ------------------------------------------------------------------ lookups
    @property
    def townships(self) -> tuple[Township, ...]:
        """All townships, in file order."""
        return tuple(self._townships.values())

    @property
    def villages(self) -> tuple[Village, ...]:
        """All villages, in file order."""
        return tuple(self._villages.values())

    @property
    def county_names(self) -> tuple[str, ...]:
        """The county's own names (normalised), sorted."""
        return tuple(sorted(self._county_forms))

    def township(self, code: str) -> Township | None:
        """Return the township with ``code``, or None."""
        return self._townships.get(code)

    def village(self, code: str) -> Village | None:
        """Return the village with ``code``, or None."""
        return self._villages.get(code)

    def villages_of(self, township_code: str) -> tuple[Village, ...]:
        """Villages of one township, in file order (empty for an unknown code)."""
        return tuple(v for v in self._villages.values() if v.township_code == township_code)

    def resolve_township(self, text: str) -> Township | None:
        """Resolve a whole answer naming one township; None when it names none.

        Accepts the code (``wanghuzhai_zhen``), the name (王虎寨镇), an alias (王虎寨, 王虎寨乡), the name with the
        other or no suffix, or with 政府/人民政府 appended. Full-width characters, whitespace and punctuation at the
        ends are ignored. Free text (「我在王虎寨镇住」) is for :meth:`find_places`.
        """
        term = normalize_term(text)
        if not term:
            return None
        if term in self._townships:
            return self._townships[term]
        for candidate in _township_candidates(term):
            township = self._township_forms.get(candidate)
            if township is not None:
                return township
        return None

    def villages_named(self, text: str, township_code: str | None = None) -> list[Village]:
        """All villages a whole answer may mean (a name can repeat across townships), optionally in one township."""
        term = normalize_term(text)
        if not term:
            return []
        if term in self._villages:
            found = [self._villages[term]]
        else:
            found = list(self._village_forms.get(term, ()))
            if not found and term.endswith(VILLAGE_SUFFIX):
                found = list(self._village_forms.get(term[: -len(VILLAGE_SUFFIX)], ()))
        if township_code is not None:
            found = [v for v in found if v.township_code == township_code]
        return found

    def resolve_village(self, text: str, township_code: str | None = None) -> Village | None:
        """Resolve a whole answer naming one village: code, name (东关村) or alias (东关).

        Returns None when nothing matches or when the name is ambiguous (前营村 exists in two townships) and
        ``township_code`` does not settle it.
        """
        found = self.villages_named(text, township_code)
        return found[0] if len(found) == 1 else None

    def find_places(self, text: str) -> PlaceMatch:
        """Find the township and village mentioned anywhere in free text.

        Every known form is searched; where matches overlap the longest wins (南田庄村 over 田庄村, 巨鹿县城 over
        巨鹿县 over 巨鹿). Of the townships mentioned, the longest mention wins (ties: the earliest). A village then
        must lie in that township; with no township mentioned, the earliest unambiguous village implies its
        township.
        """
        hits = self._select_longest(self._scan(normalize_text(text)))
        township_hits = [h for h in hits if h.kind == "township"]
        village_hits = sorted((h for h in hits if h.kind == "village"), key=lambda h: h.start)
        if township_hits:
            best = min(township_hits, key=lambda h: (-h.length, h.start))
            township = self._township_forms[best.form]
            for hit in village_hits:
                in_township = [v for v in self._village_forms[hit.form] if v.township_code == township.code]
                if len(in_township) == 1:
                    return PlaceMatch(township=township, village=in_township[0])
            return PlaceMatch(township=township)
        for hit in village_hits:
            candidates = self._village_forms[hit.form]
            if len(candidates) == 1:
                village = candidates[0]
                return PlaceMatch(township=self._townships[village.township_code], village=village)
        return PlaceMatch()

    def _scan(self, text: str) -> list[_Hit]:
        hits = []
        for start in range(len(text)):
            for length in range(_MIN_FORM_LENGTH, min(self._max_form_length, len(text) - start) + 1):
                form = text[start : start + length]
                if form in self._county_forms:
                    hits.append(_Hit(start, start + length, "county", form))
                elif form in self._township_forms:
                    hits.append(_Hit(start, start + length, "township", form))
                elif form in self._village_forms:
                    hits.append(_Hit(start, start + length, "village", form))
        return hits

    @staticmethod
    def _select_longest(hits: Iterable[_Hit]) -> list[_Hit]:
        chosen: list[_Hit] = []
        for hit in sorted(hits, key=lambda h: (-h.length, h.start)):
            if all(hit.end <= c.start or hit.start >= c.end for c in chosen):
                chosen.append(hit)
        return chosen


def _strip_suffix(name: str, suffixes: Sequence[str]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _township_candidates(term: str) -> list[str]:
    """The term, then without 政府/人民政府, then each of those without its 镇/乡 suffix."""
    bases = [term]
    for suffix in _GOVERNMENT_SUFFIXES:
        if term.endswith(suffix) and len(term) > len(suffix):
            bases.append(term[: -len(suffix)])
            break
    candidates = list(bases)
    for base in bases:
        stripped = _strip_suffix(base, TOWNSHIP_SUFFIXES)
        if stripped != base:
            candidates.append(stripped)
    return candidates


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


# ---------------------------------------------------------------------- YAML
def parse_gazetteer(path: Path) -> tuple[list[Township], list[Village], list[str]]:
    """Parse and check the shape of a gazetteer file; returns (townships, villages, county names).

    Raises:
        ReferenceDataError: Missing file, invalid YAML, or a missing/mistyped field; names the file and entry.
    """
    document = read_reference_yaml(path)
    townships: list[Township] = []
    villages: list[Village] = []
    county_names: list[str] = []
    county = document.get("county")
    if county is not None:
        county_map = _mapping(county, path, "county")
        county_names = [_text(county_map, "name", path, "county"), *text_list_field(county_map, "aliases", path, "county")]
    entries = document.get("townships")
    if not isinstance(entries, list) or not entries:
        raise ReferenceDataError(f"{path}: 'townships' must be a non-empty list", file=str(path), entry="townships")
    for index, raw in enumerate(entries):
        entry = f"townships[{index}]"
        item = _mapping(raw, path, entry)
        code = _text(item, "code", path, entry)
        entry = f"townships[{index}] ({code})"
        townships.append(
            Township(
                code=code,
                name=_text(item, "name", path, entry),
                kind=_choice(item, "kind", TOWNSHIP_SUFFIXES, path, entry),
                aliases=tuple(text_list_field(item, "aliases", path, entry)),
            )
        )
        for v_index, v_raw in enumerate(item.get("villages") or []):
            v_entry = f"{entry}.villages[{v_index}]"
            v_item = _mapping(v_raw, path, v_entry)
            v_code = _text(v_item, "code", path, v_entry)
            v_entry = f"{entry}.villages[{v_index}] ({v_code})"
            sample = v_item.get("sample", False)
            if not isinstance(sample, bool):
                raise ReferenceDataError(
                    f"{path}: {v_entry}: 'sample' must be true or false", file=str(path), entry=v_entry
                )
            villages.append(
                Village(
                    code=v_code,
                    name=_text(v_item, "name", path, v_entry),
                    township_code=code,
                    aliases=tuple(text_list_field(v_item, "aliases", path, v_entry)),
                    is_sample=sample,
                )
            )
    return townships, villages, county_names


def read_reference_yaml(path: Path) -> dict[str, Any]:
    """Read a reference YAML file whose top level is a mapping.

    Raises:
        ReferenceDataError: Missing file, invalid YAML, or a top level that is not a mapping.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReferenceDataError(f"{path}: file not found", file=str(path), entry="(file)") from None
    try:
        document = yaml.load(text, Loader=_SafeLoader)
    except yaml.YAMLError as exc:
        raise ReferenceDataError(f"{path}: invalid YAML: {exc}", file=str(path), entry="(file)") from exc
    if not isinstance(document, dict):
        raise ReferenceDataError(f"{path}: top level must be a mapping", file=str(path), entry="(file)")
    return document


def _mapping(value: Any, path: Path, entry: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ReferenceDataError(f"{path}: {entry}: must be a mapping", file=str(path), entry=entry)
    return value


def _text(item: dict[str, Any], key: str, path: Path, entry: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ReferenceDataError(
            f"{path}: {entry}: missing or empty field {key!r}", file=str(path), entry=entry, field=key
        )
    return value.strip()


def text_list_field(item: dict[str, Any], key: str, path: Path, entry: str) -> list[str]:
    """The stripped strings of an optional list field of a reference YAML entry (missing or null → []).

    Raises:
        ReferenceDataError: the value is not a list of non-empty strings (names the file, entry and field).
    """
    value = item.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ReferenceDataError(
            f"{path}: {entry}: field {key!r} must be a list of non-empty strings",
            file=str(path),
            entry=entry,
            field=key,
        )
    return [v.strip() for v in value]


def _choice(item: dict[str, Any], key: str, choices: Sequence[str], path: Path, entry: str) -> str:
    value = _text(item, key, path, entry)
    if value not in choices:
        raise ReferenceDataError(
            f"{path}: {entry}: field {key!r} must be one of {list(choices)}, got {value!r}",
            file=str(path),
            entry=entry,
            field=key,
        )
    return value
