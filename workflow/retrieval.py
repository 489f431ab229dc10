"""Finding the knowledge-base entry that answers a grower's or resident's question (BM25 over jieba words).

How it works (figures and how they were measured: ``docs/knowledge.md``, ``bench/knowledge_retrieval.py``):

* Text is normalised with :func:`bot.nlu.normalize.clean_text` (full-/half-width, whitespace), lower-cased, and cut
  by jieba in search mode (a long word also yields its parts: 高龄补贴 → 高龄, 补贴, 高龄补贴), with the gazetteer's
  user dictionary ``data/nlu/jieba/userdict.txt`` and the base's own ``terms`` (二白期, 高龄补贴 …) so that domain
  words come out whole. Stop-words (的, 了, 咋, 怎么 …) and tokens without a letter or digit are dropped.
* The character bigrams of the content words (stop-words removed, words joined) are added as tokens: they match a
  typo or a word jieba cut differently (耷拉 / 耷 拉) and raised top-1 on the evaluation questions.
* An entry is one BM25 (Okapi) document: its question and all its alternatives together. Measured against one
  document per phrasing (best phrasing wins), BM25Plus, and adding the answer text: see ``docs/knowledge.md``.
* ``confidence`` (0–1) is the share of the question's information, in IDF weight, that the best phrasing covers,
  times a margin factor that drops when a second entry scores almost as well. Words the base has never seen count
  with the highest IDF, so a question about something the base does not cover has low confidence.
  :data:`ANSWER_THRESHOLD` was chosen on the evaluation questions (``tests/knowledge/``).

The index is built once per version of a base (:class:`workflow.knowledge.KnowledgeStore` re-builds it when the file
changes); a search costs well under a millisecond for bases of this size.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jieba
from rank_bm25 import BM25Okapi, BM25Plus

from bot.nlu.normalize import clean_text
from workflow.knowledge import KIND_POLICY, Entry, KnowledgeBase

# Chosen on tests/knowledge/*.yml with bench/knowledge_retrieval.py (docs/knowledge.md): at 0.5 about one in ten
# out-of-base questions still gets an answer and almost no in-base question gets a wrong one; half or more of the
# in-base questions are answered. Below it the bot hands the question to a person (expert / same-day policy case),
# which costs a little time, while a wrong answer costs trust: the threshold leans to handing over.
ANSWER_THRESHOLD = 0.5
DEFAULT_K = 3

USERDICT = Path(__file__).resolve().parents[1] / "data" / "nlu" / "jieba" / "userdict.txt"

# Function words and question words that every entry shares; they carry no topic. Kept short on purpose: 不 (不开花),
# 多少 and 几 (几月份) stay, since they separate entries.
STOP_WORDS = frozenset(
    """
    的 了 吗 呢 啊 吧 呀 哦 嘛 么 哈 啦 哇 呐 嗯 唉 哎 喂 噢 咧 捏
    我 我们 我家 俺 俺们 俺家 咱 咱们 咱家 你 你们 您 恁 他 她 它 他们 人家 自己 自家
    是 在 有 和 跟 与 及 或 还 也 都 就 又 再 才 被 把 给 让 对 从 向 往 到 为 以 于 之 而
    这 那 这个 那个 这些 那些 这样 那样 这么 那么 这种 那种 一下 一个 一些 个 些 点 一点
    怎么 怎么样 怎样 咋 咋整 咋弄 咋办 咋样 啥 什么 如何 怎么办 怎么弄 哪 哪里 哪儿 为啥 为什么 干啥
    请问 问问 问一下 问下 想问 想问问 请 麻烦 谢谢 你好 您好 老师 师傅 同志 一下子
    能 能不能 可以 可不可以 行 行不行 要 需要 应该 得 该 会 想 想要 不知道 知道 告诉 说 说说
    呗 吗啊 没 没有 不了 着 过 地 呃
    """.split()
)


@dataclass(frozen=True)
class Hit:
    """A search result: the entry, its BM25 score and a 0–1 confidence (see the module doc)."""

    entry: Entry
    score: float
    confidence: float


@dataclass(frozen=True)
class Answer:
    """What the bot says for a question the base answers.

    Attributes:
        entry: The entry answering it.
        base: The base's name (``honeysuckle``, ``policy``).
        kind: The base's kind (``farming``, ``policy``).
        confidence: The hit's confidence (at or above the threshold).
        text: The reply: the answer, ``（来源：…；核对日期：…）`` and, for policy, a line ``咨询：<office>``.
    """

    entry: Entry
    base: str
    kind: str
    confidence: float
    text: str

    @property
    def source(self) -> str:
        """The entry's source."""
        return self.entry.source

    @property
    def checked(self) -> dt.date:
        """The date the entry was last checked."""
        return self.entry.checked

    @property
    def office(self) -> str | None:
        """Where to ask (policy entries)."""
        return self.entry.office


def answer_text(entry: Entry, kind: str) -> str:
    """The bot's reply for ``entry``: answer, source and check date, and the office to ask for a policy entry."""
    text = f"{entry.answer}（来源：{entry.source}；核对日期：{entry.checked.isoformat()}）"
    if kind == KIND_POLICY and entry.office:
        text += f"\n咨询：{entry.office}"
    return text


class Tokenizer:
    """Jieba (its own dictionary instance, not the global one Rasa's tokenizer configures) with the user dictionary
    and extra domain words; thread-safe. Building one costs about a second (jieba's dictionary), so share it."""

    def __init__(self, terms: Iterable[str] = (), userdict: Path | None = USERDICT) -> None:
        self._jieba = jieba.Tokenizer()
        self._lock = threading.Lock()
        self._terms: set[str] = set()
        with self._lock:
            self._jieba.initialize()
            if userdict is not None and Path(userdict).exists():
                self._jieba.load_userdict(str(userdict))
        self.add_terms(terms)

    def add_terms(self, terms: Iterable[str]) -> None:
        """Keeps each of ``terms`` whole from now on."""
        with self._lock:
            for term in terms:
                term = normalise(term)
                if term and term not in self._terms:
                    self._terms.add(term)
                    self._jieba.add_word(term, freq=max(self._jieba.suggest_freq(term, tune=False), 50000))

    def content_words(self, text: str) -> list[str]:
        """Content words of ``text`` in precise mode (no overlapping parts), in order."""
        with self._lock:
            words = list(self._jieba.cut(normalise(text)))
        return [w for w in words if w.strip() and w not in STOP_WORDS and _meaningful(w)]

    def tokens(self, text: str) -> list[str]:
        """Content words of ``text`` (normalised, search-mode cut, stop-words and punctuation dropped)."""
        with self._lock:
            words = list(self._jieba.cut_for_search(normalise(text)))
        return [w for w in words if w.strip() and w not in STOP_WORDS and _meaningful(w)]


def normalise(text: str) -> str:
    """``clean_text`` and lower case (ASCII letters in pesticide names, trace codes)."""
    return clean_text(text).lower()


def _meaningful(word: str) -> bool:
    return any(unicodedata.category(c)[0] in ("L", "N") for c in word)


_shared_tokenizer: Tokenizer | None = None
_shared_lock = threading.Lock()


def shared_tokenizer() -> Tokenizer:
    """The process-wide :class:`Tokenizer` (created on first use)."""
    global _shared_tokenizer
    with _shared_lock:
        if _shared_tokenizer is None:
            _shared_tokenizer = Tokenizer()
        return _shared_tokenizer


class KnowledgeIndex:
    """The BM25 index of one knowledge base.

    Args:
        base: The validated base.
        tokenizer: Shared :class:`Tokenizer` (the base's ``terms`` are added to it).
        threshold: Confidence at or above which :meth:`answer` answers.
        variant: ``okapi`` (default) or ``plus``. ``per_entry`` (default) makes an entry one document, False one per
            phrasing; ``with_answer`` adds the answer text to the entry's documents; ``bigrams`` (default) adds the
            content words' character bigrams. The alternatives are kept for the benchmark, which measures them.
    """

    def __init__(
        self,
        base: KnowledgeBase,
        tokenizer: Tokenizer | None = None,
        *,
        threshold: float = ANSWER_THRESHOLD,
        variant: str = "okapi",
        per_entry: bool = True,
        with_answer: bool = False,
        bigrams: bool = True,
    ) -> None:
        self.base = base
        self.threshold = threshold
        self._bigrams = bigrams
        self._tokenizer = tokenizer or shared_tokenizer()
        self._tokenizer.add_terms(base.terms)
        self._doc_entry: list[int] = []
        documents: list[list[str]] = []
        for position, entry in enumerate(base.entries):
            phrasings = [self._tokens(p) for p in entry.phrasings]
            if with_answer:
                phrasings.append(self._tokens(entry.answer))
            if per_entry:
                documents.append([t for tokens in phrasings for t in tokens] or ["<empty>"])
                self._doc_entry.append(position)
            else:
                for tokens in phrasings:
                    documents.append(tokens or ["<empty>"])
                    self._doc_entry.append(position)
        bm25_class = {"okapi": BM25Okapi, "plus": BM25Plus}[variant]
        self._bm25 = bm25_class(documents)
        self._documents = [set(d) for d in documents]
        # An unseen word is as informative as the rarest seen word: it is the sign of a question the base lacks.
        self._max_idf = max(self._bm25.idf.values(), default=1.0)
        self._min_idf = max(min(self._bm25.idf.values(), default=0.0), 0.05)

    def search(self, text: str, k: int = DEFAULT_K) -> list[Hit]:
        """The ``k`` best entries for ``text``, best first (no hit for text with no content word).

        Returns:
            Up to ``k`` hits with their BM25 score and confidence; entries with a zero score are left out.
        """
        tokens = self._tokens(text)
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        best: dict[int, tuple[float, int]] = {}
        for doc, score in enumerate(scores):
            position = self._doc_entry[doc]
            if position not in best or score > best[position][0]:
                best[position] = (float(score), doc)
        ranked = sorted(((s, doc, pos) for pos, (s, doc) in best.items() if s > 0), reverse=True)
        if not ranked:
            return []
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        hits = []
        for rank, (score, doc, position) in enumerate(ranked[:k]):
            second = runner_up if rank == 0 else ranked[0][0]
            hits.append(
                Hit(entry=self.base.entries[position], score=score, confidence=self._confidence(tokens, doc, score, second))
            )
        return hits

    def answer(self, text: str) -> Answer | None:
        """The answer to ``text`` when the best hit's confidence reaches the threshold, else None."""
        hits = self.search(text, k=2)
        if not hits or hits[0].confidence < self.threshold:
            return None
        hit = hits[0]
        return Answer(
            entry=hit.entry,
            base=self.base.name,
            kind=self.base.kind,
            confidence=hit.confidence,
            text=answer_text(hit.entry, self.base.kind),
        )

    def _tokens(self, text: str) -> list[str]:
        tokens = self._tokenizer.tokens(text)
        if self._bigrams:
            chars = "".join(self._tokenizer.content_words(text))
            tokens += ["#" + chars[i : i + 2] for i in range(len(chars) - 1)]
        return tokens

    def _idf(self, token: str) -> float:
        value = self._bm25.idf.get(token)
        if value is None:
            return self._max_idf
        return max(value, self._min_idf)

    def _confidence(self, tokens: Sequence[str], doc: int, score: float, other: float) -> float:
        unique = set(tokens)
        total = sum(self._idf(t) for t in unique)
        covered = sum(self._idf(t) for t in unique if t in self._documents[doc])
        coverage = covered / total if total else 0.0
        # margin: 1 when the other entry scores nothing, 0.5 when it ties (a tie still names a plausible answer).
        margin = 1.0 if score <= 0 else 0.5 + 0.5 * max(0.0, (score - min(other, score)) / score)
        return round(min(1.0, math.sqrt(coverage) * margin), 4)
