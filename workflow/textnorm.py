"""Normalisation of what residents type before it is compared with reference data."""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
# Punctuation residents put around a place name or a number: 「王虎寨镇。」 or 『后彭村』.
_EDGE_PUNCTUATION = "。，、；：！？.,;:!?\"'“”‘’「」『』()（）【】[]<>《》~～…-—"


def normalize_text(text: str) -> str:
    """Return ``text`` in the form used for matching.

    NFKC folds full-width letters, digits and punctuation to half-width (１３８ → 138, （ → ( ); all whitespace is
    removed (Chinese text has no spaces between words, and ASR or typing adds stray ones); Latin letters are
    lower-cased. Chinese characters are unchanged.
    """
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).lower()


def normalize_term(text: str) -> str:
    """Return ``text`` normalised like :func:`normalize_text` and stripped of punctuation at both ends.

    Used for a whole answer that should be one name (「在王虎寨镇。」 is not handled here; 「王虎寨镇。」 is).
    """
    return normalize_text(text).strip(_EDGE_PUNCTUATION)
