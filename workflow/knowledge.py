"""The knowledge bases the bot answers from: honeysuckle cultivation (金银花种植) and policy questions (政策问答).

Source of the data: ``data/knowledge/<name>.yml`` (``honeysuckle``, ``policy``), edited by the county; the header of
each file says who edits it and what must be re-checked every year. Retrieval over the entries is in
:mod:`workflow.retrieval`.

Two ways in:

* :meth:`KnowledgeBase.load` reads and validates one file (start-up, tests, the benchmark). Any problem raises
  :class:`KnowledgeBaseError` naming the file, the entry (its id, or its position when the id is missing) and the
  field, so whoever edited the file can fix it from the message alone.
* :class:`KnowledgeStore` is what the running bot holds: "editable without a release". Every access compares the
  file's modification time and size with those of the version in memory and re-loads (and re-indexes) a changed
  file. A bad edit is logged once and the last good version keeps answering; the bot never crashes on it. The
  experts' approved answers (``expert_answers.yml``, written by :mod:`workflow.experts`) are searched with the
  honeysuckle base when the file exists (:data:`SUPPLEMENTS`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

from workflow.exceptions import JuhaobanError

logger = logging.getLogger(__name__)

KNOWLEDGE_DIR = Path("knowledge")
HONEYSUCKLE = "honeysuckle"
POLICY = "policy"
BASE_NAMES = (HONEYSUCKLE, POLICY)
EXPERT_ANSWERS = "expert_answers"
# Files searched together with a base when they exist: the experts' approved answers (workflow/experts.py writes
# <data_dir>/knowledge/expert_answers.yml) are honeysuckle knowledge.
SUPPLEMENTS = {HONEYSUCKLE: (EXPERT_ANSWERS,)}

KIND_FARMING = "farming"
KIND_POLICY = "policy"
KINDS = (KIND_FARMING, KIND_POLICY)

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_ENTRY_FIELDS = {"id", "topic", "question", "alternatives", "answer", "source", "checked", "office"}
_FILE_FIELDS = {"kind", "title", "terms", "entries"}
# libyaml's safe loader when PyYAML was built with it (much faster on large files).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KnowledgeBaseError(JuhaobanError):
    """A knowledge-base file is malformed. Context: ``file``, and ``entry`` (id or ``#<position>``) and ``field``
    when the problem is in one entry."""

    code = "knowledge_base_error"


@dataclass(frozen=True)
class Entry:
    """One question and its answer.

    Attributes:
        id: Stable snake_case slug (evaluation files and logs refer to it).
        question: The question as a grower or resident would ask it.
        alternatives: Other phrasings of the same question.
        answer: The answer in plain Chinese.
        source: The public document or institution the answer is based on.
        checked: The date the entry was last checked.
        office: Where to ask or apply (required in a policy base, optional otherwise).
        topic: The part of the domain it belongs to (修剪, 医保 …), informative.
    """

    id: str
    question: str
    alternatives: tuple[str, ...]
    answer: str
    source: str
    checked: dt.date
    office: str | None = None
    topic: str | None = None

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The question followed by its alternatives."""
        return (self.question, *self.alternatives)


@dataclass(frozen=True)
class KnowledgeBase:
    """One validated knowledge-base file.

    Attributes:
        name: The file's stem (``honeysuckle``, ``policy``).
        kind: ``farming`` or ``policy`` (a policy entry must name its office).
        title: Chinese title of the base.
        entries: The entries in file order.
        terms: Domain words retrieval keeps whole (二白期, 高龄补贴 …), from the file's ``terms``.
        path: Where it was read from (None when built from a mapping).
    """

    name: str
    kind: str
    title: str
    entries: tuple[Entry, ...]
    terms: tuple[str, ...] = ()
    path: Path | None = None
    _by_id: Mapping[str, Entry] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {entry.id: entry for entry in self.entries})

    @classmethod
    def load(cls, data_dir: Path | str, name: str) -> KnowledgeBase:
        """Read and validate ``<data_dir>/knowledge/<name>.yml``.

        Raises:
            KnowledgeBaseError: the file is missing, is not YAML, or any entry is invalid.
        """
        return cls.from_file(Path(data_dir) / KNOWLEDGE_DIR / f"{name}.yml")

    @classmethod
    def from_file(cls, path: Path | str) -> KnowledgeBase:
        """Read and validate one knowledge-base file (its stem is the base's name).

        Raises:
            KnowledgeBaseError: the file is missing, is not YAML, or any entry is invalid.
        """
        path = Path(path)
        try:
            content = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)
        except OSError as error:
            raise KnowledgeBaseError(f"cannot read {path}: {error.strerror or error}", file=str(path)) from error
        except yaml.YAMLError as error:
            raise KnowledgeBaseError(f"{path} is not valid YAML: {error}", file=str(path)) from error
        return cls.from_mapping(content, name=path.stem, path=path)

    @classmethod
    def from_mapping(cls, content: Any, *, name: str, path: Path | None = None) -> KnowledgeBase:
        """Validate already-parsed YAML content (see the file headers for the fields).

        Raises:
            KnowledgeBaseError: naming the file, entry and field of the first problem found.
        """
        file = str(path) if path is not None else f"<{name}>"
        if not isinstance(content, Mapping):
            raise KnowledgeBaseError(f"{file}: the file must be a mapping with kind, title and entries", file=file)
        unknown = sorted(set(content) - _FILE_FIELDS)
        if unknown:
            raise KnowledgeBaseError(f"{file}: unknown top-level field {unknown[0]!r}", file=file, field=unknown[0])
        kind = content.get("kind")
        if kind not in KINDS:
            raise KnowledgeBaseError(
                f"{file}: field kind must be one of {', '.join(KINDS)}, not {kind!r}", file=file, field="kind"
            )
        title = _text(content.get("title"))
        if title is None:
            raise KnowledgeBaseError(f"{file}: field title must be a non-empty string", file=file, field="title")
        terms = content.get("terms", [])
        if not isinstance(terms, list) or any(_text(term) is None for term in terms):
            raise KnowledgeBaseError(
                f"{file}: field terms must be a list of non-empty strings", file=file, field="terms"
            )
        raw_entries = content.get("entries")
        if not isinstance(raw_entries, list) or not raw_entries:
            raise KnowledgeBaseError(f"{file}: field entries must be a non-empty list", file=file, field="entries")

        entries: list[Entry] = []
        seen_ids: dict[str, int] = {}
        seen_phrasings: dict[str, str] = {}
        for index, raw in enumerate(raw_entries, start=1):
            entry = _entry(file, index, raw, kind)
            if entry.id in seen_ids:
                raise KnowledgeBaseError(
                    f"{file}: entry {entry.id} (#{index}): field id: duplicate of entry #{seen_ids[entry.id]}",
                    file=file,
                    entry=entry.id,
                    field="id",
                )
            seen_ids[entry.id] = index
            for phrasing in entry.phrasings:
                key = _phrasing_key(phrasing)
                other = seen_phrasings.get(key)
                if other is not None and other != entry.id:
                    raise KnowledgeBaseError(
                        f"{file}: entry {entry.id}: phrasing {phrasing!r} is also a phrasing of entry {other}",
                        file=file,
                        entry=entry.id,
                        field="alternatives",
                    )
                seen_phrasings[key] = entry.id
            entries.append(entry)
        return cls(
            name=name,
            kind=kind,
            title=title,
            entries=tuple(entries),
            terms=tuple(t.strip() for t in terms),
            path=path,
        )

    def entry(self, entry_id: str) -> Entry:
        """The entry with ``entry_id``.

        Raises:
            KeyError: no such entry.
        """
        return self._by_id[entry_id]

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._by_id

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _phrasing_key(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _entry(file: str, index: int, raw: Any, kind: str) -> Entry:
    label = f"#{index}"
    if isinstance(raw, Mapping) and isinstance(raw.get("id"), str) and raw["id"].strip():
        label = f"{raw['id'].strip()} (#{index})"
    entry_ref = raw["id"].strip() if label != f"#{index}" else f"#{index}"

    def fail(field_name: str, problem: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(
            f"{file}: entry {label}: field {field_name}: {problem}", file=file, entry=entry_ref, field=field_name
        )

    if not isinstance(raw, Mapping):
        raise fail("-", "an entry must be a mapping of fields")
    unknown = sorted(set(raw) - _ENTRY_FIELDS)
    if unknown:
        raise fail(unknown[0], "unknown field (a typo?)")

    entry_id = _text(raw.get("id"))
    if entry_id is None:
        raise fail("id", "required, a non-empty string")
    if not _ID.match(entry_id):
        raise fail("id", f"{entry_id!r} is not a snake_case slug (a-z, 0-9, _; starting with a letter)")

    values: dict[str, str] = {}
    for name in ("question", "answer", "source"):
        value = _text(raw.get(name))
        if value is None:
            raise fail(name, "required, a non-empty string")
        values[name] = value

    # May be empty: an expert's approved answer (workflow/experts.py) arrives without phrasings; an editor adds them.
    alternatives = raw.get("alternatives")
    if not isinstance(alternatives, list):
        raise fail("alternatives", "required, a list of phrasings (may be empty: [])")
    cleaned = []
    for position, alternative in enumerate(alternatives, start=1):
        text = _text(alternative)
        if text is None:
            raise fail("alternatives", f"phrasing {position} must be a non-empty string")
        cleaned.append(text)

    checked = _date(raw.get("checked"))
    if checked is None:
        raise fail("checked", f"required, an ISO date YYYY-MM-DD, not {raw.get('checked')!r}")

    office = None
    if "office" in raw or kind == KIND_POLICY:
        office = _text(raw.get("office"))
        if office is None:
            raise fail("office", "required in a policy base, a non-empty string naming where to ask")

    topic = None
    if "topic" in raw:
        topic = _text(raw.get("topic"))
        if topic is None:
            raise fail("topic", "must be a non-empty string when present")

    return Entry(
        id=entry_id,
        question=values["question"],
        alternatives=tuple(cleaned),
        answer=values["answer"],
        source=values["source"],
        checked=checked,
        office=office,
        topic=topic,
    )


def _date(value: Any) -> dt.date | None:
    # YAML parses an unquoted 2026-12-07 to a date, a quoted one stays a string; a timestamp is not a date.
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


T = TypeVar("T")


@dataclass(frozen=True)
class _Loaded(Generic[T]):
    base: KnowledgeBase
    derived: T
    signature: tuple[int, ...]


class KnowledgeStore(Generic[T]):
    """The knowledge bases of a data directory, re-loaded when their files change.

    Each base is validated and indexed once per version of its file (``build`` turns a :class:`KnowledgeBase` into
    what callers search, by default a :class:`workflow.retrieval.KnowledgeIndex`). Every access stats the file; a
    changed modification time or size triggers a re-load. A re-load that fails keeps the last good version and logs
    the error once per bad version of the file.

    Args:
        data_dir: The data directory (``data/``); files are ``<data_dir>/knowledge/<name>.yml``.
        names: The bases to hold.
        build: Derives the searchable object from a base (default: the BM25 index of :mod:`workflow.retrieval`).

    Raises:
        KnowledgeBaseError: at construction, when a file is invalid and there is no good version yet (start-up
            validation: a broken file is found before the bot serves anyone).
    """

    def __init__(
        self,
        data_dir: Path | str,
        names: Sequence[str] = BASE_NAMES,
        *,
        build: Callable[[KnowledgeBase], T] | None = None,
    ) -> None:
        if build is None:
            from workflow.retrieval import KnowledgeIndex  # retrieval imports this module

            build = KnowledgeIndex  # type: ignore[assignment]
        self._dir = Path(data_dir) / KNOWLEDGE_DIR
        self._build = build
        self._lock = threading.Lock()
        self._loaded: dict[str, _Loaded[T]] = {}
        self._failed: dict[str, tuple[int, ...]] = {}
        for name in names:
            self._loaded[name] = self._load(name, self._signature(name))

    def names(self) -> tuple[str, ...]:
        """The names of the bases held."""
        return tuple(self._loaded)

    def search(self, text: str, *, base: str, k: int = 3) -> list:
        """``index(base).search(text, k)``: the ``k`` best hits (:class:`workflow.retrieval.Hit`)."""
        return self.index(base).search(text, k=k)  # type: ignore[attr-defined]

    def answer(self, text: str, *, base: str):
        """``index(base).answer(text)``: a :class:`workflow.retrieval.Answer`, or None below the threshold."""
        return self.index(base).answer(text)  # type: ignore[attr-defined]

    def base(self, name: str) -> KnowledgeBase:
        """The current version of base ``name`` (re-loaded first if its file changed)."""
        return self._current(name).base

    def index(self, name: str) -> T:
        """What ``build`` made of the current version of base ``name``."""
        return self._current(name).derived

    def _current(self, name: str) -> _Loaded[T]:
        loaded = self._loaded[name]  # KeyError for a base this store does not hold
        try:
            signature = self._signature(name)
        except KnowledgeBaseError as error:
            self._log_once(name, (-1, -1), error)
            return loaded
        if signature == loaded.signature or self._failed.get(name) == signature:
            return loaded
        with self._lock:
            loaded = self._loaded[name]
            if signature == loaded.signature:
                return loaded
            try:
                fresh = self._load(name, signature)
            except KnowledgeBaseError as error:
                self._log_once(name, signature, error)
                return loaded
            self._loaded[name] = fresh
            self._failed.pop(name, None)
            logger.info("Knowledge base %s re-loaded: %d entries.", name, len(fresh.base))
            return fresh

    def _log_once(self, name: str, signature: tuple[int, ...], error: KnowledgeBaseError) -> None:
        if self._failed.get(name) != signature:
            self._failed[name] = signature
            logger.error("Knowledge base %s not re-loaded, keeping the last good version: %s", name, error)

    def _signature(self, name: str) -> tuple[int, ...]:
        path = self._dir / f"{name}.yml"
        try:
            stat = path.stat()
        except OSError as error:
            raise KnowledgeBaseError(f"cannot read {path}: {error.strerror or error}", file=str(path)) from error
        signature = [stat.st_mtime_ns, stat.st_size]
        for supplement in SUPPLEMENTS.get(name, ()):
            try:
                extra = (self._dir / f"{supplement}.yml").stat()
                signature += [extra.st_mtime_ns, extra.st_size]
            except FileNotFoundError:
                signature += [0, 0]
        return tuple(signature)

    def _load(self, name: str, signature: tuple[int, ...]) -> _Loaded[T]:
        base = KnowledgeBase.from_file(self._dir / f"{name}.yml")
        for supplement in SUPPLEMENTS.get(name, ()):
            path = self._dir / f"{supplement}.yml"
            if path.exists():
                base = _merged(base, KnowledgeBase.from_file(path))
        return _Loaded(base=base, derived=self._build(base), signature=signature)


def _merged(base: KnowledgeBase, extra: KnowledgeBase) -> KnowledgeBase:
    """``base`` with the entries and terms of ``extra`` (same kind, no id in both) appended."""
    file = str(extra.path)
    if extra.kind != base.kind:
        raise KnowledgeBaseError(f"{file}: field kind must be {base.kind} to join {base.name}", file=file, field="kind")
    for entry in extra.entries:
        if entry.id in base:
            raise KnowledgeBaseError(
                f"{file}: entry {entry.id}: field id: already an entry of {base.name}", file=file, entry=entry.id,
                field="id",
            )
    return KnowledgeBase(
        name=base.name,
        kind=base.kind,
        title=base.title,
        entries=base.entries + extra.entries,
        terms=base.terms + tuple(t for t in extra.terms if t not in base.terms),
        path=base.path,
    )
