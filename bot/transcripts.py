"""Hotline call transcripts (ASR) made readable and split into matters.

Not under ``bot/nlu/``: that folder is part of the trained model's fingerprint, and nothing here changes what the
model does; it changes what the model is given.

Clean-up of one turn (:func:`clean_turn`), in this order:

1. Width and whitespace (:func:`bot.nlu.normalize.clean_text`); an ASR space between words becomes a pause ``，``
   (it separates clauses; digits split by a pause are joined again: ``幺三八 幺二三四`` is one number).
2. Fillers (:func:`remove_fillers`): interjections 嗯 呃 啊 哦 唉, greetings-on-the-line 喂喂, 对对对, and phrases
   that carry nothing: 就是说, 然后呢, 怎么说呢, 你知道吧, 那什么; 那个/这个/就是/然后 only where they fill (at the
   start of a clause before a pronoun or a pause, or before a pause): 「那个厂子」 keeps its 那个.
3. Stutters (:func:`collapse_repeats`): 我我我 → 我, 那个那个 → 那个, 崔庄，崔庄村 → 崔庄村; reduplicated words
   (天天, 慢慢, 看看) and sound words (嗡嗡嗡, 咚咚咚) stay.
4. Place names misheard by the ASR (:class:`PlaceCorrector`): matched to the gazetteer by pinyin, tone-insensitive,
   with near-homophones (王湖寨 → 王虎寨镇, 眼瞳镇 → 阎疃镇); see the class for what counts as a match.
5. Spoken numbers (:func:`spoken_numbers`, ``cn2an``): digit strings (幺三八… → 138…), amounts and durations
   before a unit (两万三千块 → 23000块, 三天了 → 3天了). Place and school names (三村, 一中), approximations
   (七八个人, 两三回) and words (一直, 一下, 统一, 万一, 千万) stay as they are.

Matters (:func:`read_call`): caller turns only (the agent's words serve only to find a township), split at cue
phrases (还有一个事, 另外, 还有就是, 第二个, 再一个 …); each piece is parsed by the NLU and taken as chatter
(greetings, thanks, yes/no: ignored), a status question, a rating (回访 calls only), a short detail (belongs to the
matter being told: 「常庄村的」 answers the agent's question) or a report. Adjacent report pieces of the same
category, or where either category is unsure, are one matter; a cue phrase between them separates them when it says
outright that another matter begins (还有一个事, 第二个, 再一个) or when they name different places (另外 …). Each
matter of several pieces is parsed again as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

import cn2an
from pypinyin import Style, lazy_pinyin

from actions.rating import explicit_rating
from bot.nlu.normalize import clean_text
from workflow.gazetteer import Gazetteer, Township
from workflow.hotline import CallReading, Matter, NotFiled, RatingStatement, StatusQuestion, Turn
from workflow.phones import normalize_phone
from workflow.transitions import Rating

Parse = Callable[[str], Awaitable[Dict[str, Any]]]

_CJK = "\u4e00-\u9fff"
_PAUSE = "，"
_PUNCT = "，。！？!?,.;；:：、"
# "." "," ":" between digits are part of a number (1.5万, 8:30), not punctuation.
_NUMBER_MARKS = ".,:"
_BOUNDARY = rf"(?:^|(?<=[{_PUNCT}]))"
_MEANINGFUL = re.compile(rf"[{_CJK}A-Za-z0-9]")


def meaningful_length(text: str) -> int:
    """Chinese characters, letters and digits in ``text`` (punctuation and spaces do not count)."""
    return len(_MEANINGFUL.findall(text or ""))


# ---------------------------------------------------------------------- 1. width, whitespace, pauses
_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千万亿幺"
_DIGIT_CHARS = "0-9零〇一二两三四五六七八九幺"
# A space inside a number said digit by digit (幺三八 幺二三四): two digits on each side, so 统一 一下 stays apart.
_SPACE_IN_NUMBER = re.compile(rf"(?<=[{_DIGIT_CHARS}]{{2}}) (?=[{_DIGIT_CHARS}]{{2}})")
_PUNCT_RUN = re.compile(rf"[{_PUNCT}]+")
_STRONG = "。！？!?"


def normalize_speech(text: str) -> str:
    """Width-fold and tidy one ASR text: whitespace between words becomes the pause ``，``; digits split by spaces
    are joined; runs of punctuation become one mark (the strongest: 。？！ over ，); none at the start.

    Args:
        text: Any string (full-width characters, ideographic spaces, line breaks).

    Returns:
        The tidied text; ``""`` for nothing but spaces and punctuation.
    """
    text = clean_text(text)
    text = _SPACE_IN_NUMBER.sub("", text)
    text = text.replace(" ", _PAUSE)
    return _tidy(text)


def _tidy(text: str) -> str:
    def one_mark(match: re.Match) -> str:
        run, start, end = match.group(0), match.start(), match.end()
        if (run in _NUMBER_MARKS and 0 < start and end < len(match.string) and match.string[start - 1].isdigit()
                and match.string[end].isdigit()):
            return run
        strong = [c for c in run if c in _STRONG]
        if strong:
            return {"!": "！", "?": "？"}.get(strong[-1], strong[-1])
        return _PAUSE

    text = _PUNCT_RUN.sub(one_mark, text)
    text = text.lstrip(_PUNCT)
    return text.rstrip(_PAUSE + ",;；:：、")


# ---------------------------------------------------------------------- 2. fillers
_FILLERS = [
    # Interjections: never words of their own in a report.
    re.compile(r"[嗯呃唔哦噢喔]+"),
    re.compile(r"啊+"),
    re.compile(rf"{_BOUNDARY}[哎唉诶欸额]+(?=[{_PUNCT}]|$)"),
    re.compile(rf"{_BOUNDARY}喂+|喂{{2,}}"),
    re.compile(r"对{2,}"),
    re.compile(rf"{_BOUNDARY}对(?=[{_PUNCT}]|$)"),
    # Phrases that carry nothing.
    re.compile(r"就是说|然后呢|怎么说呢|你知道吧|你知道吗|你晓得吧|那个什么|那什么|是吧(?=[，。？]|$)"),
    # Announcing a report is not the report (「我想反映个事儿」, 「我反映几个事」).
    re.compile(rf"{_BOUNDARY}(?:我|俺)?(?:想|要)?反映(?:一?个|几个|一下)?(?:事儿?|情况|问题)?(?:啊|哈)?(?=[{_PUNCT}]|$)"),
    # 那个 / 这个 / 就是 / 然后 only where they fill: before a pause, or opening a clause before a pronoun.
    re.compile(rf"(?:那个|这个|就是|然后)(?=[{_PUNCT}])"),
    re.compile(rf"{_BOUNDARY}(?:那个|这个|就是)(?=[我你他她俺咱就是在有那这])"),
    # A greeting opening a clause of a longer turn (「你好，我是…」); said alone it is chatter.
    re.compile(rf"{_BOUNDARY}(?:你好|您好)(?=[{_PUNCT}])"),
]


def remove_fillers(text: str) -> str:
    """Remove fillers (see the module docstring) from a :func:`normalize_speech` text; punctuation is tidied."""
    previous = None
    while previous != text:  # 「嗯，那个，我」: removing one filler can put the next at a clause start
        previous = text
        for pattern in _FILLERS:
            text = _tidy(pattern.sub("", text))
    return text


# ---------------------------------------------------------------------- 3. stutters
#: Sound words describing noise (嗡嗡嗡, 咚咚咚): their repeats are the description, not a stutter.
_SOUND_CHARS = "嗡咚哗突轰叮当嘟滴砰吱哐啪呜嘀隆哒咣嗒噔"
#: Function words whose doubling is a stutter (我我要, 就就是); content words double on purpose (天天, 慢慢).
_STUTTER_ONCE = "我你他她它俺咱这那就是在有的也都还要把被给跟和"
_TRIPLE = re.compile(rf"([{_CJK}])\1{{2,}}")
_DOUBLE = re.compile(rf"([{_STUTTER_ONCE}])\1")
_PHRASE = re.compile(rf"([{_CJK}]{{2,4}})\1+")
_ACROSS_PAUSE = re.compile(rf"{_BOUNDARY}([{_CJK}]{{1,4}})(?:{_PAUSE}\1)+")


def collapse_repeats(text: str) -> str:
    """Collapse stutter repeats: 我我我 → 我, 我我 → 我, 那个那个 → 那个, 崔庄，崔庄村 → 崔庄村.

    A character said three or more times is a stutter unless it is a sound word (嗡嗡嗡 stays); twice only for
    function words (我我 → 我; 天天, 常常 stay). A repeated 2–4 character phrase is said once. Digits are never
    touched (a phone number may hold 8888).
    """
    text = _TRIPLE.sub(lambda m: m.group(0) if m.group(1) in _SOUND_CHARS else m.group(1), text)
    text = _DOUBLE.sub(r"\1", text)
    text = _PHRASE.sub(lambda m: m.group(0) if m.group(1)[0] in _SOUND_CHARS else m.group(1), text)
    text = _ACROSS_PAUSE.sub(r"\1", text)
    return _tidy(text)


# ---------------------------------------------------------------------- 5. spoken numbers
_DIGITS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5",
           "六": "6", "七": "7", "八": "8", "九": "9"}
_UNITS_CHARS = "十百千万亿"
_NUMERAL_RUN = re.compile(rf"[{_NUMERAL_CHARS}]+")
#: What may follow a spoken number for it to be a quantity (longest first where one is a prefix of another).
_QUANTITY_UNITS = (
    "个多月", "个月", "个星期", "个礼拜", "个小时", "个钟头", "多天", "多月", "多年", "多块", "多万", "多岁", "多小时",
    "年级", "号楼", "单元", "小时", "钟头", "分钟", "公里", "公斤", "平米", "平方", "千瓦", "口人", "星期", "礼拜",
    "天", "年", "月", "周", "秒", "号", "点", "块", "元", "毛", "万", "千", "百", "户", "家", "次", "回", "遍", "趟",
    "层", "楼", "栋", "米", "亩", "斤", "吨", "岁", "辆", "台", "只", "条", "棵", "间", "套", "张", "份", "班", "组",
    "度", "伏", "瓦", "多",
)
#: A bare 一 is an article far more often than a quantity (一天到晚, 一回事): converted only before these.
_ONE_UNITS = ("号楼", "号", "楼", "层", "单元", "栋", "组", "年级", "月份", "班")
#: Idioms and words made of numerals that are not numbers.
_NUMERAL_WORDS = ("一五一十", "三三两两", "七七八八", "十之八九", "一一", "万一", "千万", "三番五次", "十万火急")
#: Besides a unit, what may follow a number with 十/百/千/万 for it to be a quantity (欠了两千，… / 三十来户).
_AFTER_AMOUNT = ("了", "来", "左右", "出头", "上下")


def spoken_numbers(text: str, protected: Iterable[str] = ()) -> str:
    """Turn spoken numbers into digits with ``cn2an`` (see the module docstring for what stays).

    Args:
        text: A cleaned turn.
        protected: Names that must not change (the gazetteer's place names holding numerals); place and school
            names like 三村, 一中 stay anyway, because 村 and 中 are no units.

    Returns:
        ``text`` with digit strings (three or more spoken digits: 幺三八… → 138…, 二〇二六 → 2026) and quantities
        before a unit (两万三千块 → 23000块, 三天了 → 3天了, 十一点 → 11点) in Arabic digits.
    """
    keep = [(m.start(), m.end()) for word in (*_NUMERAL_WORDS, *protected) if word
            for m in re.finditer(re.escape(word), text)]
    out: List[str] = []
    last = 0
    for match in _NUMERAL_RUN.finditer(text):
        start, end = match.span()
        if any(s < end and start < e for s, e in keep):
            continue
        converted = _number(match.group(0), text[end:end + 3])
        if converted is not None:
            out.append(text[last:start])
            out.append(converted)
            last = end
    out.append(text[last:])
    return "".join(out)


def _number(run: str, after: str) -> Optional[str]:
    """The digits for one run of numerals followed by ``after``, or None to leave it."""
    has_unit = any(c in _UNITS_CHARS for c in run)
    if not has_unit:
        if len(run) >= 3 and ("两" not in run or len(run) >= 7 or "幺" in run):
            return "".join(_DIGITS[c] for c in run)  # a phone, house or year number said digit by digit
        if len(run) == 1:
            units = _ONE_UNITS if run == "一" else _QUANTITY_UNITS
            return _DIGITS[run] if after.startswith(units) else None
        return None  # 七八个, 两三回: a range, not a number
    if run[0] not in _DIGITS and run[0] != "十":
        return None  # 千万别, 万一: words
    if any(run[i] in _DIGITS and run[i + 1] in _DIGITS for i in range(len(run) - 1)):
        return None  # 六七十: an approximation
    if not (after.startswith(_QUANTITY_UNITS) or (len(run) > 1 and (not after or after[0] in _PUNCT
                                                                      or after.startswith(_AFTER_AMOUNT)))):
        return None  # 十分, 十足, 十三中 (a school), 二十里铺 (a place)
    if after.startswith("几"):
        return None  # 二十几: keep the vague number whole
    try:
        value = cn2an.cn2an(run, "smart")
    except (ValueError, KeyError, IndexError):
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


# ---------------------------------------------------------------------- 4. place names by pinyin
_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c",
             "s", "y", "w")
_FUZZY_INITIALS = {frozenset(p) for p in (("z", "zh"), ("c", "ch"), ("s", "sh"), ("l", "n"), ("f", "h"), ("r", "l"))}
_FUZZY_FINALS = {frozenset(p) for p in (("an", "ang"), ("en", "eng"), ("in", "ing"), ("ian", "iang"),
                                         ("uan", "uang"))}
#: Ordinary words that sound exactly like a township: never a place without 镇/乡 after them.
ORDINARY_HOMOPHONES = frozenset({"关停", "官廷", "宿营"})
#: Words jieba knows this often are taken for themselves, not for a misheard place (unless 镇/乡 follows).
_COMMON_WORD_FREQ = 50
_PLACE_BEFORE = ("住在", "家在", "来自", "在", "住", "是", "到", "去", "从", "回", "们", "咱", "俺")
_PLACE_AFTER = ("村", "那边", "这边", "那块", "这块", "那儿", "这儿", "那里", "这里", "街", "集", "的", "附近",
                "一带", "政府", "有", "那个", "这个")
_TOWNSHIP_SUFFIX = ("镇", "乡")


@lru_cache(maxsize=8192)
def _readings(char: str) -> Tuple[str, ...]:
    """The toneless pinyin of one character as it is usually read, ``ü`` as ``v`` (one reading: a heteronym's rare
    readings, 巨 qu or 堤 shi, would make ordinary words sound like places)."""
    if not re.match(rf"[{_CJK}]", char):
        return ()
    return tuple(lazy_pinyin(char, style=Style.NORMAL))


def _split(syllable: str) -> Tuple[str, str]:
    for initial in _INITIALS:
        if syllable.startswith(initial) and len(syllable) > len(initial):
            return initial, syllable[len(initial):]
    return "", syllable


def _relation(heard: Tuple[str, ...], wanted: Tuple[str, ...]) -> int:
    """3 same syllable, 2 near-homophone (z/zh, l/n, an/ang …), 1 same initial only, 0 unrelated."""
    best = 0
    for a in heard:
        for b in wanted:
            if a == b:
                return 3
            (ia, fa), (ib, fb) = _split(a), _split(b)
            same_initial = ia == ib or frozenset((ia, ib)) in _FUZZY_INITIALS
            same_final = fa == fb or frozenset((fa, fb)) in _FUZZY_FINALS
            if same_initial and same_final:
                best = max(best, 2)
            elif ia == ib and ia:
                best = max(best, 1)
    return best


@dataclass(frozen=True)
class PlaceFix:
    """One misheard place name found in a text: ``text[start:end]`` (``heard``) is to read ``name``.

    ``level``: ``exact`` (same toneless pinyin), ``near`` (one near-homophone syllable), ``loose`` (one syllable
    with only its initial right, accepted only in a clear place context).
    """

    start: int
    end: int
    heard: str
    name: str
    level: str


@dataclass(frozen=True)
class _Form:
    chars: str
    syllables: Tuple[Tuple[str, ...], ...]
    replacement: str  # what the heard stem is replaced by
    suffixed: str  # what the heard stem plus 镇/乡 is replaced by
    kind: str  # "township" or "village"


class PlaceCorrector:
    """Finds misheard township (and sample village) names in a cleaned text and writes the gazetteer's names.

    A stretch of Chinese characters matches a township's name without 镇/乡 (王虎寨, 阎疃) when every syllable
    matches tone-insensitively (each character in its usual reading), at most one by a near-homophone (z/zh, c/ch,
    s/sh, l/n, f/h, r/l; an/ang, en/eng, in/ing, ian/iang, uan/uang) or by its initial only (眼瞳镇 for 阎疃镇: the
    ASR knows no 疃). The first syllable always matches exactly or nearly. Because two syllables match ordinary
    words easily (关停 is guān tíng like 官亭), a two-character match needs a place context: 镇/乡 after it, or a
    word like 在/住/是/我们 before it (or the clause start) and a word like 那边/村/的 or the clause end after it;
    with a syllable only half right it needs 镇/乡 after it; three characters need a context only then. Ordinary
    words are never rewritten: :data:`ORDINARY_HOMOPHONES`, any word jieba knows well (unless it sounds exactly
    like the place and 镇/乡 follows), and
    nothing inside a name the gazetteer already knows (关于堤村乡). A village (sample data) matches only by exact
    pinyin with 村 after it, and never an ordinary word (希望村里 is not 西王村).

    Args:
        gazetteer: The county's places.
        word_frequency: Frequency of a word in a general dictionary (default: jieba's), to spare ordinary words.
    """

    def __init__(self, gazetteer: Gazetteer, word_frequency: Optional[Callable[[str], int]] = None) -> None:
        self.gazetteer = gazetteer
        self._frequency = word_frequency or _jieba_frequency
        self._known = {form for t in gazetteer.townships for form in t.surface_forms()}
        self._known |= {form for v in gazetteer.villages for form in v.surface_forms()}
        self._known_parts = {form[i:j] for form in self._known for i in range(len(form))
                             for j in range(i + 2, len(form) + 1)}
        self._by_first: Dict[Tuple[str, ...], List[_Form]] = {}
        self._forms: List[_Form] = []
        for township in gazetteer.townships:
            self._forms.append(_Form(township.stem, _syllables(township.stem), township.name, township.name,
                                     "township"))
        names: Dict[Tuple[str, ...], set] = {}
        for village in gazetteer.villages:
            if village.stem != village.name:  # grouped by their usual reading (王 and 汪 are both wang)
                names.setdefault(tuple(r[0] for r in _syllables(village.stem)), set()).add(village.stem)
        for stems in names.values():
            if len(stems) == 1:  # two villages sounding alike: the words cannot tell which one
                stem = next(iter(stems))
                self._forms.append(_Form(stem, _syllables(stem), stem, stem, "village"))

    @property
    def protected_names(self) -> Tuple[str, ...]:
        """Every gazetteer name and alias (for :func:`spoken_numbers`: 三村 must stay 三村)."""
        return tuple(sorted(self._known))

    def fixes(self, text: str) -> List[PlaceFix]:
        """The misheard place names in ``text``, left to right, not overlapping (longer names first)."""
        candidates: List[Tuple[_Form, PlaceFix]] = []
        known = self._known_spans(text)
        for start, char in enumerate(text):
            for form in self._starting_with(_readings(char)):
                heard = text[start:start + len(form.chars)]
                end = start + len(heard)
                if len(heard) == len(form.chars) and heard != form.chars and \
                        all(end <= s or start >= e for s, e in known):
                    fix = self._match(text, start, heard, form)
                    if fix is not None:
                        candidates.append((form, fix))
        found: List[PlaceFix] = []
        for form, fix in sorted(candidates, key=lambda c: (-len(c[0].chars), c[0].kind != "township", c[1].start)):
            if all(fix.end <= f.start or fix.start >= f.end for f in found):
                found.append(fix)
        return sorted(found, key=lambda f: f.start)

    def _known_spans(self, text: str) -> List[Tuple[int, int]]:
        """Where ``text`` already names a place the gazetteer knows (关于堤村乡: 于堤 is not 鱼堤)."""
        return [(m.start(), m.end()) for form in self._known if form in text
                for m in re.finditer(re.escape(form), text)]

    def _starting_with(self, readings: Tuple[str, ...]) -> List[_Form]:
        """The forms whose first syllable ``readings`` (one character's) match exactly or nearly (cached)."""
        if readings not in self._by_first:
            self._by_first[readings] = [f for f in self._forms if _relation(readings, f.syllables[0]) >= 2]
        return self._by_first[readings]

    def correct(self, text: str) -> str:
        """``text`` with every misheard place name replaced (王湖寨孙家庄 → 王虎寨镇孙家庄, 严疃乡 → 阎疃镇)."""
        out, last = [], 0
        for fix in self.fixes(text):
            out += [text[last:fix.start], fix.name]
            last = fix.end
        out.append(text[last:])
        return "".join(out)

    def _match(self, text: str, start: int, heard: str, form: _Form) -> Optional[PlaceFix]:
        levels = [_relation(_readings(ch), want) for ch, want in zip(heard, form.syllables)]
        if 0 in levels or levels[0] < 2 or sum(1 for level in levels if level < 3) > 1:
            return None
        if heard in self._known_parts or not re.fullmatch(rf"[{_CJK}]+", heard):
            return None  # already a name the gazetteer knows (or part of one): it resolves it itself
        level = "exact" if min(levels) == 3 else ("near" if min(levels) == 2 else "loose")
        end = start + len(heard)
        after, before = text[end:], text[:start]
        if form.kind == "village":
            if level != "exact" or not after.startswith("村") or self._frequency(heard) >= _COMMON_WORD_FREQ:
                return None  # 希望村里: 希望 is a word, not 西王
            return PlaceFix(start, end, heard, form.replacement, level)
        suffixed = after.startswith(_TOWNSHIP_SUFFIX)
        if suffixed and level != "exact" and self._frequency(heard) >= _COMMON_WORD_FREQ:
            return None  # 距离镇上 (distance to the town) is not 巨鹿镇
        if not suffixed:
            if heard in ORDINARY_HOMOPHONES or self._frequency(heard) >= _COMMON_WORD_FREQ:
                return None
            context = _place_before(before) and _place_after(after)
            if level == "loose" and len(heard) < 3:
                return None  # two syllables, one of them only half right: only with 镇/乡 after it
            if (len(heard) < 3 or level == "loose") and not context:
                return None
        if suffixed:
            return PlaceFix(start, end + 1, heard + after[0], form.suffixed, level)
        name = form.replacement if not after.startswith("村") else form.chars
        return PlaceFix(start, end, heard, name, level)


def _syllables(chars: str) -> Tuple[Tuple[str, ...], ...]:
    """A gazetteer name's syllables, read as a phrase (pypinyin's phrase readings settle heteronyms)."""
    return tuple((syllable,) for syllable in lazy_pinyin(chars, style=Style.NORMAL))


def _place_before(before: str) -> bool:
    return not before or before[-1] in _PUNCT or before.endswith(_PLACE_BEFORE)


def _place_after(after: str) -> bool:
    return not after or after[0] in _PUNCT or after.startswith(_PLACE_AFTER)


_jieba_freq: Optional[Dict[str, int]] = None


def _jieba_frequency(word: str) -> int:
    global _jieba_freq
    if _jieba_freq is None:
        import jieba

        jieba.dt.check_initialized()
        _jieba_freq = jieba.dt.FREQ
    return int(_jieba_freq.get(word) or 0)


# ---------------------------------------------------------------------- one turn
def clean_turn(text: str, places: Optional[PlaceCorrector] = None) -> str:
    """Clean one ASR turn: width and pauses, fillers, stutters, place names (with ``places``), spoken numbers.

    Returns:
        The readable text, ``""`` when nothing but fillers was said.
    """
    text = normalize_speech(text)
    for _ in range(2):  # a collapsed 那个，那个 can be a filler now, and a removed filler can reveal a stutter
        text = remove_fillers(collapse_repeats(text))
    if places is not None:
        text = places.correct(text)
    return _tidy(spoken_numbers(text, places.protected_names if places is not None else ()))


# ---------------------------------------------------------------------- cue phrases
_CUE = re.compile(
    r"还有(?:一个|个|一件|件)(?:事儿?|问题|情况)(?:，?(?:就是|是|啊|呢))?"
    r"|另外(?:一个|还有)?(?:事儿?|问题)?(?:就是)?"
    r"|还有就是|还有呢|还有(?=，)"
    r"|第[一二三四五1-5](?:个|件)?(?:事儿?|问题)?(?:就是|是|呢)?"
    r"|再(?:有)?一个(?:事儿?|问题)?(?:就是|是|呢)?|再有就是|再就是"
    r"|最后(?:一个|一件)(?:事儿?|问题)?(?:就是|是)?"
)
# Cues that are unambiguous anywhere; the others only open a clause (另外那个路灯: "the other street light").
_CUE_ANYWHERE = re.compile(r"^(?:还有(?:一个|个|一件|件)(?:事儿?|问题|情况)|还有就是|另外还有)")
_ORDINAL_CUE = re.compile(r"^第[一二三四五1-5]")
_ORDINAL_DONE = re.compile(r"(?:事儿?|问题|就是|是|呢)$")
_FIRM_CUE = re.compile(r"^(?:还有(?:一个|个|一件|件)(?:事儿?|问题|情况)|第|再(?:有)?一个|最后)")


@dataclass(frozen=True)
class Piece:
    """A stretch of one caller turn: ``text`` (cue phrase removed), ``turn`` its index, ``cue`` True when a cue
    phrase opened it, ``firm`` when that cue says outright that another matter begins (还有一个事, 第二个事, 再一个;
    另外 and 还有就是 may go on about the same one)."""

    text: str
    turn: int
    cue: bool = False
    asr_confidence: float = 1.0
    firm: bool = False


def split_cues(text: str, turn: int = 0, asr_confidence: float = 1.0) -> List[Piece]:
    """Split one cleaned caller turn at cue phrases (还有一个事, 另外, 还有就是, 第二个, 再一个 …).

    Returns:
        The non-empty pieces in order; each after a cue has ``cue=True``. A turn ending in a cue (「还有一个事」 and
        the agent's 「您说」 before the matter itself) ends with an empty piece with ``cue=True``.
    """
    cuts: List[Tuple[int, int]] = []
    for match in _CUE.finditer(text):
        at_clause = match.start() == 0 or text[match.start() - 1] in _PUNCT
        if not (at_clause or _CUE_ANYWHERE.match(match.group(0))):
            continue
        if _ORDINAL_CUE.match(match.group(0)) and not _ORDINAL_DONE.search(match.group(0)) \
                and not (match.end() == len(text) or text[match.end()] in _PUNCT):
            continue  # 第二天, 第二个路口: an ordinal, no cue
        cuts.append(match.span())
    pieces: List[Piece] = []
    last, cue, firm = 0, False, False
    for start, end in cuts:
        pieces.append(Piece(_tidy(text[last:start]), turn, cue, asr_confidence, firm))
        last, cue, firm = end, True, bool(_FIRM_CUE.match(text[start:end]))
    pieces.append(Piece(_tidy(text[last:]), turn, cue, asr_confidence, firm))
    kept = [p for p in pieces if meaningful_length(p.text)]
    if cue and not meaningful_length(pieces[-1].text):
        kept.append(Piece("", turn, True, asr_confidence, firm))  # 「还有一个事」 alone: the next turn tells it
    return kept


# ---------------------------------------------------------------------- kinds of pieces
#: Intents of the conversation model that are chatter in a call.
CHATTER_INTENTS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "request_human",
                             "choose_option"})
_RATE_INTENTS = {"rate_satisfied": Rating.SATISFIED, "rate_basically_satisfied": Rating.BASICALLY_SATISFIED,
                 "rate_unsatisfied": Rating.UNSATISFIED}
_CHATTER = re.compile(
    r"^(?:你好|您好|喂|在吗|有人吗|谢谢(?:你们?|您)?|麻烦(?:你们?|您)了?|辛苦了?|好的?|行|中|嗯|对|是|没了|没有了|"
    r"就这些|就这样|再见|拜拜|没事了?|打错了|不好意思|那就这样|好嘞|知道了|明白了|[，。！？!?])+$")
_STATUS_ASKED = re.compile(r"咋样|怎么样|怎样了|进展|进度|有结果|有信儿|办了没|办没办|处理了没|处理没|处理得|管了没|"
                           r"有人管没|回复|答复|到哪一步|啥时候能|什么时候能|解决了没")
_EARLIER = re.compile(r"上次|上回|之前|以前|前几天|前些天|前段时间|早先|上个月|上个?礼拜|上个?星期|上周|反映的|反映过|"
                      r"打过|报过|工单")
#: Meaningful characters from which a piece the NLU does not call a report is taken as one anyway.
REPORT_MIN_CHARS = 10
#: Below this category confidence two adjacent pieces are not told apart by category (one matter).
UNSURE_CATEGORY = 0.3
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def is_chatter(text: str) -> bool:
    """True for greetings, thanks, yes/no, goodbyes and the like said on their own."""
    return bool(_CHATTER.match(text))


def is_status_question(text: str) -> bool:
    """True when ``text`` asks how an earlier report stands (我上次反映的那个事咋样了)."""
    return bool(_STATUS_ASKED.search(text) and _EARLIER.search(text))


def spoken_phone(text: str) -> Optional[str]:
    """The first mainland mobile number in a cleaned text (after :func:`spoken_numbers`), canonical, or None."""
    for match in _PHONE.finditer(text):
        try:
            return normalize_phone(match.group(0))
        except ValueError:
            continue
    return None


def rating_of(text: str, parsed: Dict[str, Any]) -> Optional[Rating]:
    """The rating a follow-up caller gives: 满意/基本满意/不满意 said outright (:func:`actions.rating.explicit_rating`)
    win over the intent model's ``rate_*`` intents ("还行吧")."""
    explicit = explicit_rating(text)
    if explicit is not None:
        return explicit
    intent = (parsed.get("intent") or {})
    if (intent.get("confidence") or 0.0) >= 0.6:
        return _RATE_INTENTS.get(intent.get("name"))
    return None


# ---------------------------------------------------------------------- the call
#: The agent asks about the matter being told (where, how long, who): the caller's next words answer it.
_AGENT_ASKS = re.compile(r"哪|什么|啥|多长|多久|多少|几|怎么|谁|电话|名字|位置|地址|是不是|是吧|吗")
#: The agent invites another matter: the caller's next words may be a new one.
_AGENT_INVITES = re.compile(r"还有(?:别的|其他|其它|什么|没有|吗)|别的(?:事|问题)|其他(?:事|问题)")
#: Words for the caller's own village or township (「我们村」, 「镇上」): the place named elsewhere in the call.
_OWN_VILLAGE = re.compile(r"我们村|俺们村|咱们村|咱村|俺村|我村|村里|村里头|我们这|俺们这|咱这")
_OWN_TOWNSHIP = re.compile(r"镇上|乡里|我们镇|俺们镇|咱们镇|我们乡|俺们乡")
#: Above this category confidence, a long answer about something else starts a new matter after all.
_CONFIDENT_OTHER = 0.6
_LONG_ANSWER = 20


@dataclass
class _Draft:
    """A matter while the call is read: its pieces in the order they were said."""

    parts: List[Piece] = field(default_factory=list)
    reports: int = 0  # how many of the parts were report pieces (the others are details)
    parsed: Optional[Dict[str, Any]] = None  # the parse of the first report piece
    category: Optional[str] = None
    confidence: float = 0.0

    @property
    def turns(self) -> List[int]:
        return sorted({p.turn for p in self.parts})

    def text(self) -> str:
        return _tidy("，".join(p.text for p in self.parts))


def _category(parsed: Dict[str, Any]) -> Tuple[Optional[str], float]:
    category = parsed.get("category") or {}
    return category.get("name"), float(category.get("confidence") or 0.0)


async def read_call(turns: Sequence[Turn], parse: Parse, places: PlaceCorrector, *,
                    follow_up: bool = False) -> CallReading:
    """Read a call's transcript into matters, status questions, ratings and what was left (module docstring).

    A caller turn right after the agent asked about the matter (「哪个村的」, 「多长时间了」) answers it: it belongs
    to the matter being told unless a cue phrase opens it, or it is long and confidently about something else.

    Args:
        turns: The transcript in order (:class:`workflow.hotline.Turn`).
        parse: The NLU: text → Rasa parse dict (``intent``, ``entities``, ``category``, ``category_ranking``,
            ``matter_type``), e.g. ``agent.parse_message``.
        places: Place-name correction over the county's gazetteer.
        follow_up: A 回访 call about one case: the caller's 满意/不满意 is a rating, not chatter.

    Returns:
        The :class:`workflow.hotline.CallReading`. Each matter's township is the one its words name
        (``township_source="said"``), else the one the agent named while it was told (``agent``), else, when the
        caller speaks of their own village or township (我们村, 村里, 镇上), the one named for another matter of the
        call (``our_village``); else None.
    """
    cleaned = [clean_turn(turn.text, places) for turn in turns]
    drafts: List[_Draft] = []
    questions: List[StatusQuestion] = []
    ratings: List[RatingStatement] = []
    not_filed: List[NotFiled] = []
    current: Optional[_Draft] = None
    waiting: List[Piece] = []  # details said before any matter (a place given first)
    pending: Optional[Piece] = None  # a turn that was only a cue phrase
    for index, turn in enumerate(turns):
        if turn.speaker != "caller":
            continue
        answering = _answers_agent(turns, cleaned, index)
        for number, piece in enumerate(split_cues(cleaned[index], index, turn.asr_confidence)):
            if not piece.text:
                pending = piece
                continue
            if pending is not None:
                piece, pending = replace(piece, cue=True, firm=pending.firm or piece.firm), None
            if is_chatter(piece.text):
                continue
            parsed = await parse(piece.text)
            intent = (parsed.get("intent") or {})
            rating = rating_of(piece.text, parsed) if follow_up else None
            if rating is not None:
                ratings.append(RatingStatement(piece.text, rating))
                current = None
                continue
            if is_status_question(piece.text) or (
                    intent.get("name") == "ask_case_status" and (intent.get("confidence") or 0.0) >= 0.8
                    and (_STATUS_ASKED.search(piece.text) or _EARLIER.search(piece.text))):
                questions.append(StatusQuestion(piece.text))
                current = None
                continue
            size = meaningful_length(piece.text)
            if intent.get("name") in CHATTER_INTENTS and size < REPORT_MIN_CHARS:
                continue
            category, confidence = _category(parsed)
            detail = (intent.get("name") != "report_issue" and size < REPORT_MIN_CHARS) or (
                intent.get("name") == "inform" and size < _LONG_ANSWER)
            if answering and number == 0 and not piece.cue and current is not None:
                detail = detail or not (confidence >= _CONFIDENT_OTHER and category != current.category
                                        and size >= _LONG_ANSWER)
            if detail:
                if current is not None:
                    current.parts.append(piece)
                else:
                    waiting.append(piece)
                continue
            if current is not None and _same_matter(current, piece, category, confidence, places):
                current.parts.append(piece)
                current.reports += 1
                if current.confidence < UNSURE_CATEGORY <= confidence:
                    current.category, current.confidence = category, confidence
                continue
            current = _Draft([*waiting, piece], 1, parsed, category, confidence)
            waiting = []
            drafts.append(current)
    not_filed += [NotFiled(p.text, "no_matter") for p in waiting]
    matters = [await _matter(draft, parse, turns, cleaned, places) for draft in drafts]
    return CallReading(tuple(_own_places(matters)), tuple(questions), tuple(ratings), tuple(not_filed))


def _answers_agent(turns: Sequence[Turn], cleaned: Sequence[str], index: int) -> bool:
    """Whether caller turn ``index`` follows the agent's question about the matter (not an invitation)."""
    previous = next((i for i in range(index - 1, -1, -1) if turns[i].speaker == "agent"), None)
    if previous is None or previous != index - 1:
        return False
    said = cleaned[previous]
    return bool(_AGENT_ASKS.search(said)) and not _AGENT_INVITES.search(said)


def _same_matter(current: _Draft, piece: Piece, category: Optional[str], confidence: float,
                 places: PlaceCorrector) -> bool:
    """Whether a report piece goes on telling the current matter (see the module docstring)."""
    unsure = confidence < UNSURE_CATEGORY or current.confidence < UNSURE_CATEGORY
    if not piece.cue:
        return category == current.category or unsure
    if piece.firm or category != current.category:
        return False
    here = places.gazetteer.find_places(piece.text)
    there = places.gazetteer.find_places(current.text())
    return here.township is None or there.township is None or here.township.code == there.township.code


async def _matter(draft: _Draft, parse: Parse, turns: Sequence[Turn], cleaned: Sequence[str],
                  places: PlaceCorrector) -> Matter:
    text = draft.text()
    parsed = draft.parsed if draft.parsed is not None and len(draft.parts) == 1 else await parse(text)
    category, confidence = _category(parsed)
    township, village, source = _places_of(text, parsed, places.gazetteer)
    if township is None:
        township = _agent_township(draft, turns, cleaned, places.gazetteer)
        source = "agent" if township else None
    return Matter(
        description=text,
        category_code=category,
        category_confidence=confidence,
        category_ranking=tuple(parsed.get("category_ranking") or ()),
        matter_type=(parsed.get("matter_type") or {}).get("name") or "other",
        township=township,
        village=village,
        township_source=source,
        phone=spoken_phone(text),
        asr_confidence=min(p.asr_confidence for p in draft.parts),
        turns=tuple(draft.turns),
    )


def _own_places(matters: Sequence[Matter]) -> List[Matter]:
    """A matter told of 「我们村」/「镇上」 without a name takes the place named for another matter of the call."""
    named = next((m for m in matters if m.township and m.township_source == "said"), None)
    if named is None:
        return list(matters)
    out = []
    for matter in matters:
        if matter.township is None and _OWN_VILLAGE.search(matter.description):
            matter = replace(matter, township=named.township, village=named.village, township_source="our_village")
        elif matter.township is None and _OWN_TOWNSHIP.search(matter.description):
            matter = replace(matter, township=named.township, township_source="our_village")
        out.append(matter)
    return out


def _places_of(text: str, parsed: Dict[str, Any], gazetteer: Gazetteer
               ) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(township name, village name, "said") from the words, or Nones."""
    found = gazetteer.find_places(text)
    township: Optional[Township] = found.township
    if township is None:
        for entity in parsed.get("entities") or ():
            if entity.get("entity") == "township":
                township = gazetteer.resolve_township(str(entity.get("value") or ""))
                if township is not None:
                    break
    village = found.village.name if found.village is not None else None
    return (township.name if township else None), village, ("said" if township else None)


def _agent_township(draft: _Draft, turns: Sequence[Turn], cleaned: Sequence[str],
                    gazetteer: Gazetteer) -> Optional[str]:
    """A township the agent named while the caller told this matter (「是王虎寨镇孙家庄村是吧」)."""
    first, last = draft.turns[0], draft.turns[-1]
    for index in range(first, min(last + 2, len(turns))):
        if turns[index].speaker == "agent":
            found = gazetteer.find_places(cleaned[index])
            if found.township is not None:
                return found.township.name
    return None
