"""Chinese text normalisation applied before jieba.

Residents type on phones and PCs with every input method: full-width digits and letters (``１３８``, ``ＪＬ``),
ideographic spaces, non-breaking spaces, tabs and line breaks. Jieba and the regex features see half-width text.

``fold_width`` maps character by character, so the result has exactly the length of the input and every character
offset (entity ``start``/``end``, token offsets) stays valid for the original text. ``clean_text`` additionally
collapses whitespace runs and trims, for storing and showing text where offsets do not matter.
"""

from __future__ import annotations

import re
import unicodedata

_FULLWIDTH_OFFSET = 0xFEE0
_WHITESPACE_RUN = re.compile(r"\s+")
# Characters that are not whitespace to ``str.isspace`` but act as spaces or invisible marks in pasted text.
_INVISIBLE = {"\u200b": " ", "\u200c": " ", "\u200d": " ", "\ufeff": " ", "\u2060": " "}


def _fold_char(char: str) -> str:
    code = ord(char)
    if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII variants ！..～
        return chr(code - _FULLWIDTH_OFFSET)
    if char == "\u3000" or (char.isspace() and char not in " "):
        return " "
    return _INVISIBLE.get(char, char)


def fold_width(text: str) -> str:
    """Folds full-width ASCII to half-width and every whitespace or invisible mark to one ASCII space.

    Chinese punctuation (，。？！ are not ASCII variants except ！？ etc.) is kept as typed, except the full-width
    forms of ASCII punctuation, which fold (``！`` → ``!``).

    Args:
        text: any string.

    Returns:
        A string of exactly ``len(text)`` characters.
    """
    return "".join(_fold_char(c) for c in text)


def clean_text(text: str) -> str:
    """Returns ``text`` width-folded, NFC-composed, with whitespace runs collapsed to one space and trimmed.

    Used for case descriptions and lookups (not for NLU offsets, which need ``fold_width``).
    """
    folded = fold_width(unicodedata.normalize("NFC", text or ""))
    return _WHITESPACE_RUN.sub(" ", folded).strip()


def has_meaningful_text(text: str) -> bool:
    """True when ``text`` has at least one letter, digit or CJK character (not only emoji, punctuation, spaces)."""
    return any(unicodedata.category(c)[0] in ("L", "N") for c in text or "")
