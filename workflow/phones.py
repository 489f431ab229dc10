"""Mainland China phone numbers as residents type or say them (全角数字, spaces, dashes, +86)."""

from __future__ import annotations

import re

from workflow.textnorm import normalize_text

_SEPARATORS = re.compile(r"[\s\-‐‑–—()（）.]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Area code 0 + 2–3 digits; local numbers are 7–8 digits and never start with 0 or 1.
_LANDLINE = re.compile(r"^0\d{9,11}$")
_LOCAL = re.compile(r"^[2-9]\d{6,7}$")
_COUNTRY_PREFIXES = ("+86", "0086")


def normalize_phone(raw: str) -> str:
    """Return a mainland mobile or landline number in canonical form.

    Canonical forms: mobile ``13812345678``; landline with area code ``0319-5123456`` (3-digit area codes are 010
    and 02x, all others 4 digits); local landline without area code ``5123456`` (the county's own area code applies).
    Full-width digits are folded, spaces/dashes/parentheses dropped, a ``+86``/``0086``/``86`` country prefix
    removed (the area code's leading 0 is restored for landlines dialled internationally).

    Raises:
        ValueError: ``raw`` is not a mainland mobile or landline number (service numbers like 12345 or 400… too).
    """
    digits = _SEPARATORS.sub("", normalize_text(raw))
    international = False
    for prefix in _COUNTRY_PREFIXES:
        if digits.startswith(prefix):
            digits, international = digits[len(prefix) :], True
            break
    else:
        if digits.startswith("86") and len(digits) == 13 and _MOBILE.match(digits[2:]):
            digits, international = digits[2:], True
    if international and digits and not digits.startswith(("0", "1")):
        digits = "0" + digits
    if not digits.isdigit():
        raise ValueError(f"not a phone number: {raw!r}")
    if _MOBILE.match(digits):
        return digits
    if _LANDLINE.match(digits):
        area_length = 3 if digits.startswith(("010", "02")) else 4
        area, local = digits[:area_length], digits[area_length:]
        if _LOCAL.match(local):
            return f"{area}-{local}"
    elif _LOCAL.match(digits) and not international:
        return digits
    raise ValueError(f"not a mainland mobile or landline number: {raw!r}")


_FULL_WIDTH_DIGITS = {0xFF10 + i: ord("0") + i for i in range(10)}
# Residents write numbers in groups too ("138-1234-9999", "139 8765 4321", "+86 138…"): one space or dash between
# the groups of 3-4-4 (and after an area code) is part of the number.
_MASK_MOBILE = re.compile(r"(?<![\d])(1[3-9]\d[ \-]?)(\d{4})([ \-]?\d{4})(?![\d])")
_MASK_LANDLINE = re.compile(r"(?<![\d])(0\d{2,3}[ \-]?)(\d{3,4})(\d{4})(?![\d])")


def mask_phone(phone: str) -> str:
    """A phone number with its middle digits hidden, the way lists and logs show it.

    ``13812345678`` → ``138****5678``; ``0319-5123456`` → ``0319-***3456``; a local ``5123456`` → ``***3456``. A
    value that is not a phone number keeps only its last 4 characters (never the whole value).
    """
    text = (phone or "").strip()
    masked = mask_phones_in(text)
    if masked != text:
        return masked
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * min(len(text) - 4, 7) + text[-4:]


def mask_phones_in(text: str) -> str:
    """``text`` with every mainland mobile and landline number in it masked as :func:`mask_phone` does.

    For log lines and free text (a case description may quote a number): grouped numbers (``138-1234-9999``,
    ``139 8765 4321``) and full-width digits are masked too; digits that are part of a longer number (an id, a
    timestamp) are left alone. Full-width digits come back as ASCII digits.
    """
    text = (text or "").translate(_FULL_WIDTH_DIGITS)  # "１３８…" is a number too (shown as ASCII digits after)
    text = _MASK_MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _MASK_LANDLINE.sub(lambda m: f"{m.group(1)}{'*' * len(m.group(2))}{m.group(3)}", text)
