"""Measuring retrieval on the evaluation questions of ``tests/knowledge/`` (shared by the benchmark and the tests).

The questions are written in growers' and residents' words and are never phrasings of the bases; each names the
entry that answers it, and each file also lists questions the base does not answer (``out_of_base``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workflow.retrieval import KnowledgeIndex

EVAL_DIR = Path(__file__).resolve().parents[1] / "tests" / "knowledge"
EVAL_FILES = {"honeysuckle": "honeysuckle_questions.yml", "policy": "policy_questions.yml"}


@dataclass(frozen=True)
class EvalSet:
    """Labelled questions (text, expected entry id) and out-of-base questions of one base."""

    name: str
    questions: tuple[tuple[str, str], ...]
    out_of_base: tuple[str, ...]


@dataclass(frozen=True)
class Figures:
    """Retrieval quality of one base at one threshold.

    Attributes:
        top1: Share of in-base questions whose best hit is the expected entry.
        top3: Share whose expected entry is among the three best.
        answered: Share of in-base questions answered (confidence at or above the threshold).
        answered_right: Share of in-base questions answered with the expected entry.
        answered_wrong: Share of in-base questions answered with another entry.
        false_answer: Share of out-of-base questions that got an answer (should be none).
        misses: (text, expected, best) of the in-base questions whose best hit is wrong.
        false_answers: (text, entry id, confidence) of the out-of-base questions answered.
    """

    n: int
    n_out: int
    top1: float
    top3: float
    answered: float
    answered_right: float
    answered_wrong: float
    false_answer: float
    misses: tuple[tuple[str, str, str], ...]
    false_answers: tuple[tuple[str, str, float], ...]


def load_eval_set(name: str, directory: Path = EVAL_DIR) -> EvalSet:
    """Read ``tests/knowledge/<name>_questions.yml``."""
    content: dict[str, Any] = yaml.safe_load((directory / EVAL_FILES[name]).read_text(encoding="utf-8"))
    return EvalSet(
        name=name,
        questions=tuple((q["text"], q["expected"]) for q in content["questions"]),
        out_of_base=tuple(content.get("out_of_base") or ()),
    )


def evaluate(index: KnowledgeIndex, eval_set: EvalSet, threshold: float | None = None) -> Figures:
    """Top-1/top-3 hit rates and answer rates of ``index`` on ``eval_set`` at ``threshold`` (default: the index's)."""
    threshold = index.threshold if threshold is None else threshold
    top1 = top3 = right = wrong = 0
    misses = []
    for text, expected in eval_set.questions:
        hits = index.search(text, k=3)
        ids = [h.entry.id for h in hits]
        top1 += bool(ids) and ids[0] == expected
        top3 += expected in ids
        if ids and ids[0] != expected:
            misses.append((text, expected, ids[0]))
        elif not ids:
            misses.append((text, expected, "-"))
        if hits and hits[0].confidence >= threshold:
            if ids[0] == expected:
                right += 1
            else:
                wrong += 1
    false_answers = []
    for text in eval_set.out_of_base:
        hits = index.search(text, k=1)
        if hits and hits[0].confidence >= threshold:
            false_answers.append((text, hits[0].entry.id, hits[0].confidence))
    n, n_out = len(eval_set.questions), len(eval_set.out_of_base)
    return Figures(
        n=n,
        n_out=n_out,
        top1=top1 / n,
        top3=top3 / n,
        answered=(right + wrong) / n,
        answered_right=right / n,
        answered_wrong=wrong / n,
        false_answer=len(false_answers) / n_out if n_out else 0.0,
        misses=tuple(misses),
        false_answers=tuple(false_answers),
    )
