"""Understanding a resident's answer to "which of these categories is it?".

After "不对", the bot lists up to three other categories, numbered, plus a last option to let a dispatcher decide.
Residents answer with a digit (``2``), a Chinese numeral or ordinal (``第二个``, ``二``, ``头一个``), the category's
name (``城市管理那个``) or a hand-over phrase (``都不是``, ``你们看着办``).
"""

from __future__ import annotations

import re
from typing import Callable, Optional, Sequence

from bot.nlu.normalize import clean_text
from actions.constants import CHOICE_DISPATCHER

_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "头": 1}
_NUMBER = re.compile(r"(?<!\d)([1-9])(?!\d)")
_ORDINAL = re.compile(r"第?([一二两三四五头])(?:个|项|条|种|类)?")
_HAND_OVER = ("都不是", "都不对", "不知道", "不清楚", "不确定", "说不好", "看着办", "你们定", "工作人员", "人工",
              "调度", "你们判断", "随便")


def parse_choice(
    text: str, options: Sequence[str], find_category: Callable[[str], Optional[str]]
) -> Optional[str]:
    """Maps an answer to one of ``options`` (category codes), to ``CHOICE_DISPATCHER``, or to None.

    Args:
        text: the resident's answer.
        options: the category codes offered, in the order they were numbered (1-based); the number after the
            last one means "hand over to a dispatcher".
        find_category: returns the category code whose Chinese name the text mentions, or None.

    Returns:
        A code from ``options``, any other category code the resident named, ``CHOICE_DISPATCHER``, or None when
        the answer cannot be understood.
    """
    answer = clean_text(text)
    if not answer:
        return None
    named = find_category(answer)
    if named:
        return named
    if any(phrase in answer for phrase in _HAND_OVER):
        return CHOICE_DISPATCHER
    number = None
    digit = _NUMBER.search(answer)
    if digit:
        number = int(digit.group(1))
    else:
        ordinal = _ORDINAL.search(answer)
        if ordinal and len(answer) <= 8:  # "第二个吧", not a sentence that happens to contain 一
            number = _NUMERALS[ordinal.group(1)]
    if number is None:
        return None
    if 1 <= number <= len(options):
        return options[number - 1]
    if number == len(options) + 1:
        return CHOICE_DISPATCHER
    return None
