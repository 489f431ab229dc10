"""Canned replies (常用回复) of the dispatcher console: short codes for common answers in a taken-over conversation.

The county edits ``data/console/canned_replies.yml``::

    version: 1
    replies:
      - code: loc                # 1–12 lower-case letters or digits, unique
        title: 请提供具体位置      # the console's label, 1–40 characters
        text: 请您提供具体位置：…  # what the resident receives, 1–500 characters

:func:`load_canned_replies` validates the whole file when the console starts (a typo is a start-up error naming the
file and the entry, not a wrong answer sent to a resident). :meth:`CannedReplies.expand` turns what a dispatcher
typed into what is sent:

- ``/loc`` → the text of ``loc``;
- ``/loc 东关村南头那段路`` → the text of ``loc``, a line break, then ``东关村南头那段路``; the space may be left out
  before Chinese (``/loc东关村``: a code is ASCII, so where it ends is clear);
- ``/LOC`` and the full-width ``／loc`` (a Chinese input method's slash) work the same;
- ``//text`` sends ``/text`` as typed (the escape for a message that really starts with a slash);
- anything else is sent unchanged: a slash not followed by a letter or digit (``/ 你好``), or a code run on into
  ASCII punctuation (``/api/cases``);
- ``/nosuch`` raises :class:`UnknownCannedReply` (nothing is sent; the console shows the codes it knows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from workflow.exceptions import JuhaobanError, ReferenceDataError

#: The file under the data directory.
CANNED_REPLIES_FILE = Path("console") / "canned_replies.yml"
#: What a code looks like.
CODE_PATTERN = re.compile(r"^[a-z0-9]{1,12}$")
MAX_TEXT = 500
MAX_TITLE = 40
_SLASHES = ("/", "／")
# After the slash: a run of ASCII letters/digits, then the end, whitespace or a non-ASCII character, and the rest.
_COMMAND = re.compile(r"^([A-Za-z0-9]+)(?:\s+|(?=[^\x00-\x7f])|$)(.*)$", re.DOTALL)
_KEYS = {"code", "title", "text"}


class InvalidCannedReplies(ReferenceDataError):
    """The canned replies file is malformed. Context: ``file`` and, for one entry, ``entry`` (``replies[3]`` or
    the entry's code) and ``field``."""

    code = "invalid_canned_replies"


class UnknownCannedReply(JuhaobanError):
    """A message starts with ``/code`` and no canned reply has that code. Context: ``code`` (as typed, lower-cased),
    ``known`` (the codes there are)."""

    code = "unknown_canned_reply"


@dataclass(frozen=True)
class CannedReply:
    """One canned reply: ``code`` (what follows the slash), ``title`` (the console's label), ``text`` (sent)."""

    code: str
    title: str
    text: str

    def to_dict(self) -> dict[str, str]:
        """``{"code", "title", "text"}``."""
        return {"code": self.code, "title": self.title, "text": self.text}


class CannedReplies:
    """The validated canned replies, in file order.

    Args:
        replies: The replies; codes must be unique (:func:`load_canned_replies` checks it with a better message).

    Raises:
        ValueError: A code appears twice.
    """

    def __init__(self, replies: list[CannedReply]) -> None:
        self._by_code = {reply.code: reply for reply in replies}
        if len(self._by_code) != len(replies):
            raise ValueError("canned reply codes must be unique")
        self._replies = tuple(replies)

    def items(self) -> list[CannedReply]:
        """Every reply in file order (for the console's list)."""
        return list(self._replies)

    def get(self, code: str) -> CannedReply | None:
        """The reply with ``code`` (case-insensitive), or None."""
        return self._by_code.get((code or "").lower())

    def __len__(self) -> int:
        return len(self._replies)

    def __iter__(self) -> Iterator[CannedReply]:
        return iter(self._replies)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.lower() in self._by_code

    def expand(self, text: str) -> str:
        """What to send for a message the dispatcher typed (rules in the module docstring).

        Leading and trailing whitespace of ``text`` is dropped. The result is not checked for length: a reply of
        500 characters plus the dispatcher's words may be longer, and the sender applies its own limit.

        Raises:
            UnknownCannedReply: ``text`` is ``/code`` or ``/code …`` and no reply has that code.
        """
        message = (text or "").strip()
        if not message or message[0] not in _SLASHES:
            return message
        rest = message[1:]
        if rest[:1] in _SLASHES:
            return rest
        match = _COMMAND.match(rest)
        if match is None:
            return message
        code = match.group(1).lower()
        reply = self._by_code.get(code)
        if reply is None:
            raise UnknownCannedReply(f"no canned reply has the code {code!r}", code=code,
                                     known=sorted(self._by_code))
        extra = (match.group(2) or "").strip()
        return f"{reply.text}\n{extra}" if extra else reply.text


def load_canned_replies(data_dir: Path | str) -> CannedReplies:
    """Read and validate ``<data_dir>/console/canned_replies.yml``.

    Raises:
        InvalidCannedReplies: The file is missing or not YAML; ``version`` is not 1; ``replies`` is not a non-empty
            list; an entry is not a mapping, has unknown keys, or a code, title or text that breaks the rules in the
            module docstring (not a string, empty, too long, a code not matching ``^[a-z0-9]{1,12}$``, a code used
            twice). The message names the file and the entry.
    """
    path = Path(data_dir) / CANNED_REPLIES_FILE
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidCannedReplies(f"{path}: cannot be read: {error.strerror or error}", file=str(path)) from None
    except yaml.YAMLError as error:
        raise InvalidCannedReplies(f"{path}: not valid YAML: {error}", file=str(path)) from None
    if not isinstance(document, dict):
        raise InvalidCannedReplies(f"{path}: expected a mapping with 'version' and 'replies'", file=str(path))
    if document.get("version") != 1:
        raise InvalidCannedReplies(f"{path}: 'version' must be 1", file=str(path), field="version")
    unknown = sorted(set(document) - {"version", "replies"})
    if unknown:
        raise InvalidCannedReplies(f"{path}: unknown keys {unknown}", file=str(path), field=unknown[0])
    raw_replies = document.get("replies")
    if not isinstance(raw_replies, list) or not raw_replies:
        raise InvalidCannedReplies(f"{path}: 'replies' must be a non-empty list", file=str(path), field="replies")
    replies: list[CannedReply] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(raw_replies):
        entry = f"replies[{index}]"
        if not isinstance(raw, dict):
            raise InvalidCannedReplies(f"{path}: {entry}: expected a mapping with code, title and text",
                                       file=str(path), entry=entry)
        if isinstance(raw.get("code"), str) and raw["code"].strip():
            entry = f"{entry} ({raw['code'].strip()})"
        unknown = sorted(set(map(str, raw)) - _KEYS)
        if unknown:
            raise InvalidCannedReplies(f"{path}: {entry}: unknown keys {unknown}; allowed code, title, text",
                                       file=str(path), entry=entry, field=unknown[0])
        code = _text(raw, "code", 64, path, entry)
        if not CODE_PATTERN.match(code):
            raise InvalidCannedReplies(f"{path}: {entry}: code {code!r} must be 1–12 lower-case letters or digits",
                                       file=str(path), entry=entry, field="code")
        if code in seen:
            raise InvalidCannedReplies(f"{path}: {entry}: code {code!r} is already used by {seen[code]}",
                                       file=str(path), entry=entry, field="code")
        seen[code] = entry
        title = _text(raw, "title", MAX_TITLE, path, entry)
        text = _text(raw, "text", MAX_TEXT, path, entry)
        replies.append(CannedReply(code=code, title=title, text=text))
    return CannedReplies(replies)


def _text(raw: dict[str, Any], key: str, limit: int, path: Path, entry: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidCannedReplies(f"{path}: {entry}: missing or empty {key!r}", file=str(path), entry=entry,
                                   field=key)
    value = value.strip()
    if len(value) > limit:
        raise InvalidCannedReplies(f"{path}: {entry}: {key!r} has {len(value)} characters, at most {limit}",
                                   file=str(path), entry=entry, field=key)
    return value
