"""Retrieval quality on the evaluation questions (tests/knowledge/), which are never phrasings of the bases.

The floors are the figures measured with bench/knowledge_retrieval.py (docs/knowledge.md) minus a small margin:
a change to the tokenizer, the index, the threshold or the bases that loses quality fails here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.nlu.normalize import clean_text
from workflow.knowledge import BASE_NAMES, KnowledgeBase
from workflow.retrieval import KnowledgeIndex
from workflow.retrieval_eval import Figures, evaluate, load_eval_set

DATA = Path(__file__).resolve().parents[2] / "data"

# Measured 2026-12-07 (threshold 0.5): honeysuckle 86 questions top-1 0.860, top-3 0.977, answered right 0.500,
# wrong 0.012, 16 out-of-base false answers 0.125; policy 76 questions top-1 0.908, top-3 1.000, right 0.592,
# wrong 0.000, out-of-base 0.062.
FLOORS = {
    "honeysuckle": {"top1": 0.82, "top3": 0.94, "answered_right": 0.44, "max_wrong": 0.04, "max_false": 0.19},
    "policy": {"top1": 0.87, "top3": 0.96, "answered_right": 0.53, "max_wrong": 0.03, "max_false": 0.13},
}


def _key(text: str) -> str:
    return clean_text(text).replace(" ", "").lower()


def check_floors(figures: Figures, floors: dict) -> list[str]:
    """The floors ``figures`` falls below (empty when all hold)."""
    failed = []
    for name in ("top1", "top3", "answered_right"):
        if getattr(figures, name) < floors[name]:
            failed.append(f"{name} {getattr(figures, name):.3f} < {floors[name]}")
    if figures.answered_wrong > floors["max_wrong"]:
        failed.append(f"answered_wrong {figures.answered_wrong:.3f} > {floors['max_wrong']}")
    if figures.false_answer > floors["max_false"]:
        failed.append(f"false_answer {figures.false_answer:.3f} > {floors['max_false']}")
    return failed


@pytest.fixture(scope="module", params=BASE_NAMES)
def measured(request):
    base = KnowledgeBase.load(DATA, request.param)
    return request.param, base, load_eval_set(request.param)


def test_no_evaluation_question_is_a_phrasing_of_the_base(measured):
    name, base, eval_set = measured
    phrasings = {_key(p) for entry in base for p in entry.phrasings}
    texts = [t for t, _ in eval_set.questions] + list(eval_set.out_of_base)
    assert [t for t in texts if _key(t) in phrasings] == []


def test_the_evaluation_sets_are_large_enough_and_name_real_entries(measured):
    name, base, eval_set = measured
    assert len(eval_set.questions) >= {"honeysuckle": 60, "policy": 50}[name]
    assert len(eval_set.out_of_base) >= 15
    assert [e for _, e in eval_set.questions if e not in base] == []
    assert len({_key(t) for t, _ in eval_set.questions}) == len(eval_set.questions)


def test_it_keeps_retrieval_quality_at_or_above_what_was_measured(measured):
    name, base, eval_set = measured
    figures = evaluate(KnowledgeIndex(base), eval_set)
    assert check_floors(figures, FLOORS[name]) == [], (figures.misses, figures.false_answers)


def test_the_floors_fail_a_retrieval_that_answers_the_wrong_entries(measured):
    # The same phrasings indexed under the neighbouring entry's id: the quality test must catch it.
    name, base, eval_set = measured
    entries = base.entries
    shifted = tuple(
        dataclasses.replace(entries[i], id=entries[(i + 1) % len(entries)].id) for i in range(len(entries))
    )
    broken = KnowledgeIndex(dataclasses.replace(base, entries=shifted))
    failed = check_floors(evaluate(broken, eval_set), FLOORS[name])
    assert any(f.startswith("top1") for f in failed)
