"""Phone numbers and "call me" phrases, cut out of what the category and matter-type classifiers read.

A report such as ``路灯坏了 有事打我电话13912345678`` is about a street lamp; the phrase ``打我电话`` and the digits
would pull it towards the telecom category (电话, 手机, 号码 are that category's words). The classifiers therefore
featurise the text without

* phone numbers: mainland mobiles (``13912345678``, ``139 1234 5678``, ``139-1234-5678``, ``+86 139…``), landlines
  with an area code (``0319-5123456``, ``(0319)5123456``), and local 7–8-digit numbers right after a lead-in;
* the lead-in right before a number that only says where to call (``联系电话：``, ``我的电话是``, ``手机号``,
  ``有事打我电话``, ``打这个``) and a short trailer after it (``微信同号``, ``随时打``);
* a few standalone phrases that can only mean "call me back" (``有事打我电话``, ``有事联系我``, ``请回个电话``).

Words about telephones as the subject of a report stay: ``手机没信号``, ``电话打不出去``, ``手机号突然被停了``,
``骚扰电话``, ``打10086转人工`` (lead-ins are cut only when a number follows them; service numbers are no phone
numbers). Nothing here changes the message: :func:`contact_spans` gives character spans of the (width-folded) text,
the classifiers drop the characters and the tokens inside them from their own copy.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Sequence, Tuple

from bot.nlu.normalize import fold_width

Span = Tuple[int, int]

_MOBILE = r"(?:(?:\+|00)?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}"
_LANDLINE = r"(?:\(0\d{2,3}\)|0\d{2,3})[- ]?[2-9]\d{6,7}"
_LOCAL = r"[2-9]\d{6,7}"
_NUMBER = rf"(?<![\d+])(?:{_MOBILE}|{_LANDLINE})(?!\d)"

# Who and how ("有事请打我的", "麻烦联系俺", "打这个"), then what ("电话号码", "手机", "联系方式"), then "是/:".
_WHO = r"(?:有事|有啥事|有什么事|有问题|需要的话|方便的话|如有疑问)?(?:请|麻烦|可以|就)?"
_HOW = r"(?:打|拨打|拨|联系|找|call|给|致电)?(?:我|俺|本人|我们|俺们)?(?:的|这个|这个号|这个号码)?"
_WHAT = (r"(?:联系电话|联系方式|联系号码|电话号码|手机号码|手机号|座机号|座机|电话|手机|号码|微信)?")
_SEP = r"[\s:：,，是为]*"
_LEAD_IN = rf"{_WHO}{_HOW}{_WHAT}{_SEP}"
_TRAILER = (r"(?:\s*[,，]?\s*(?:微信同号|同微信|微信也是这个|随时打|随时联系|白天打|晚上打|都能打通|能打通"
            r"|这个能打通|找我就行|打这个就行|联系我|找我|24小时开机))?")
# A lead-in that names a phone ("电话", "手机号"…) may be followed by a local number without an area code.
_NAMED_LEAD_IN = (rf"{_WHO}{_HOW}(?:联系电话|电话号码|电话|座机号|座机|号码){_SEP}")

_WITH_NUMBER = re.compile(
    rf"(?:{_LEAD_IN}{_NUMBER}|{_NAMED_LEAD_IN}(?<![\d+]){_LOCAL}(?!\d)){_TRAILER}", re.IGNORECASE
)
# "Call me back" without a number: only phrases that cannot be a report's subject.
_STANDALONE = re.compile(
    r"(?:有事|有啥事|有什么事|有问题|需要的话)(?:请|可以|就)?(?:打|拨打|拨|call)(?:我|俺)的?(?:电话|手机)"
    r"|(?:有事|有啥事|有什么事|有问题|需要的话)(?:请|可以|就)?(?:给我|给俺)(?:打|拨)(?:个)?(?:电话|手机)"
    r"|(?:有事|有啥事|有什么事|有问题|需要的话)(?:请|可以|就)?(?:联系我|联系俺|找我|找俺)"
    r"|(?:请|麻烦)(?:给我|给俺)?回(?:个)?电话(?:给我|给俺)?"
    r"|(?:请|麻烦)?电话联系我",
    re.IGNORECASE,
)
_PUNCTUATION = " \t,，.。;；、!！?？:："


def contact_spans(text: str) -> List[Span]:
    """Character spans ``[start, end)`` of ``text`` holding phone numbers and call-me phrases, sorted, merged.

    A span also takes the punctuation and spaces right around it (``，联系电话：139…。``), so that what is left reads
    as if the phrase had never been written. Offsets are those of ``text`` (width folding keeps lengths).
    """
    folded = fold_width(text or "")
    spans = [m.span() for m in _WITH_NUMBER.finditer(folded)]
    spans += [m.span() for m in _STANDALONE.finditer(folded)]
    widened = []
    for start, end in spans:
        while start > 0 and folded[start - 1] in _PUNCTUATION:
            start -= 1
        while end < len(folded) and folded[end] in _PUNCTUATION:
            end += 1
        widened.append((start, end))
    return _merge(widened)


def _merge(spans: Iterable[Span]) -> List[Span]:
    merged: List[List[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def strip_contact(text: str, spans: Sequence[Span] | None = None) -> str:
    """``text`` without its :func:`contact_spans`: one space for a span inside the text, nothing at either end.

    The rest of the text is kept character for character (a message without a phone number comes back as it is).
    """
    text = text or ""
    spans = contact_spans(text) if spans is None else spans
    pieces, position = [], 0
    for start, end in spans:
        pieces.append(text[position:start])
        if start > 0 and end < len(text):
            pieces.append(" ")
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def outside(spans: Sequence[Span], start: int, end: int) -> bool:
    """True when ``[start, end)`` (a token) overlaps none of ``spans``."""
    return all(end <= s or start >= e for s, e in spans)
