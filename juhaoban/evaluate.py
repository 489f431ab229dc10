"""``juhaoban eval FILE.csv``: score the category the NLU gives each message against the board's labels.

The CSV has columns ``text`` and ``label`` (one of the board's 7 labels). The report gives accuracy overall and per
label, the macro average over the labels, and for each label the categories predicted most often (the confusion).
Parsing runs the trained model in-process (``Agent.parse_message``) or, with ``--url``, a running Rasa server's
``POST /model/parse``.
"""

from __future__ import annotations

import asyncio
import os
import csv
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Dict, List, Optional, Sequence, Tuple

from juhaoban.boardlabels import BOARD_LABEL_CATEGORIES, is_correct

Parser = Callable[[str], Awaitable[dict]]


@dataclass
class EvalReport:
    """Results of one evaluation. Accuracies are fractions in [0, 1]."""

    total: int = 0
    correct: int = 0
    per_label: Dict[str, Tuple[int, int]] = field(default_factory=dict)  # label -> (correct, total)
    confusion: Dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def accuracy(self) -> float:
        """Share of messages whose top category is in their label's set."""
        return self.correct / self.total if self.total else 0.0

    @property
    def macro(self) -> float:
        """Unweighted mean of the per-label accuracies."""
        scores = [c / t for c, t in self.per_label.values() if t]
        return sum(scores) / len(scores) if scores else 0.0

    def format(self) -> str:
        """A plain-text report for the console and the README."""
        lines = [f"messages: {self.total}", f"accuracy: {self.accuracy:.4f}", f"macro accuracy: {self.macro:.4f}",
                 "", f"{'label':<10} {'n':>5} {'acc':>7}  most predicted categories"]
        for label in BOARD_LABEL_CATEGORIES:
            if label not in self.per_label:
                continue
            correct, total = self.per_label[label]
            top = ", ".join(f"{code}:{n}" for code, n in self.confusion[label].most_common(5))
            lines.append(f"{label:<10} {total:>5} {correct / total:>7.3f}  {top}")
        return "\n".join(lines)


def read_rows(path: Path) -> List[Tuple[str, str]]:
    """(text, label) rows of a board CSV.

    Raises:
        ValueError: the file lacks a ``text`` or ``label`` column, or a label is not one of the board's 7.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs columns 'text' and 'label', has {reader.fieldnames}")
        rows = [(row["text"] or "", row["label"].strip()) for row in reader]
    unknown = sorted({label for _, label in rows} - set(BOARD_LABEL_CATEGORIES))
    if unknown:
        raise ValueError(f"{path}: unknown board labels {unknown}")
    return rows


def score(rows: Sequence[Tuple[str, str]], predictions: Sequence[Optional[str]]) -> EvalReport:
    """Builds the report from rows and the predicted category code of each (None when there was none)."""
    report = EvalReport()
    per_label: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    for (_, label), predicted in zip(rows, predictions):
        ok = is_correct(label, predicted)
        report.total += 1
        report.correct += ok
        per_label[label][0] += ok
        per_label[label][1] += 1
        report.confusion[label][predicted or "-"] += 1
    report.per_label = {label: (c, t) for label, (c, t) in per_label.items()}
    return report


async def predict(texts: Sequence[str], parser: Parser, concurrency: int = 4) -> List[Optional[str]]:
    """The top category code the parser gives each text, in order."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(text: str) -> Optional[str]:
        async with semaphore:
            result = await parser(text)
        return (result.get("category") or {}).get("name")

    return list(await asyncio.gather(*(one(t) for t in texts)))


async def local_parser(model_path: Path) -> Parser:
    """A parser running the model in this process."""
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa's structlog default prints every parse at debug level to stdout
    agent = Agent.load(str(model_path))

    async def parse(text: str) -> dict:
        return await agent.parse_message(text)

    return parse


def http_parser(url: str, session) -> Parser:
    """A parser calling ``POST {url}/model/parse`` with an ``aiohttp`` session (with Rasa's auth token from
    ``JUHAOBAN_RASA_TOKEN`` when set, as ``juhaoban serve`` starts Rasa with it)."""
    token = os.environ.get("JUHAOBAN_RASA_TOKEN") or None
    params = {"token": token} if token else None

    async def parse(text: str) -> dict:
        async with session.post(f"{url.rstrip('/')}/model/parse", json={"text": text}, params=params) as response:
            response.raise_for_status()
            return await response.json()

    return parse


async def evaluate(path: Path, *, url: Optional[str] = None, model: Optional[Path] = None) -> EvalReport:
    """Parses every row of ``path`` and scores it."""
    rows = read_rows(path)
    texts = [text for text, _ in rows]
    if url:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            predictions = await predict(texts, http_parser(url, session), concurrency=8)
    else:
        from juhaoban.training import ensure_model

        parser = await local_parser(model or ensure_model())
        predictions = await predict(texts, parser, concurrency=1)
    return score(rows, predictions)
