"""Retrieval quality of the knowledge bases on the evaluation questions (``tests/knowledge/``).

For each base (data/knowledge/honeysuckle.yml, policy.yml) prints the top-1 and top-3 hit rates on the labelled
questions, the share answered (right / wrong) at the threshold, and the false-answer rate on the out-of-base
questions; ``--compare`` also prints the alternatives measured when the retrieval was chosen (BM25Plus, one document
per phrasing, the answer text indexed, no bigrams) over a range of thresholds; ``--misses`` lists the questions
whose best hit is wrong and the out-of-base questions answered. Figures: docs/knowledge.md.

    .venv/bin/python bench/knowledge_retrieval.py [--compare] [--misses] [--threshold 0.5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workflow.knowledge import BASE_NAMES, KnowledgeBase  # noqa: E402
from workflow.retrieval import ANSWER_THRESHOLD, KnowledgeIndex, shared_tokenizer  # noqa: E402
from workflow.retrieval_eval import evaluate, load_eval_set  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
VARIANTS = {
    "chosen: okapi, entry doc, bigrams": {},
    "okapi, entry doc, no bigrams": {"bigrams": False},
    "okapi, phrasing docs, bigrams": {"per_entry": False},
    "okapi, entry doc + answer, bigrams": {"with_answer": True},
    "plus, entry doc, bigrams": {"variant": "plus"},
}
THRESHOLDS = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=ANSWER_THRESHOLD)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    tokenizer = shared_tokenizer()
    print(f"threshold {args.threshold}")
    print(f"{'base':12} {'n':>3} {'top1':>6} {'top3':>6} {'answered':>9} {'right':>6} {'wrong':>6} {'n_out':>5} {'false':>6} {'ms/q':>5}")
    for name in BASE_NAMES:
        base = KnowledgeBase.load(DATA, name)
        eval_set = load_eval_set(name)
        index = KnowledgeIndex(base, tokenizer)
        start = time.perf_counter()
        figures = evaluate(index, eval_set, args.threshold)
        per_query = (time.perf_counter() - start) * 1000 / (figures.n + figures.n_out)
        print(
            f"{name:12} {figures.n:3d} {figures.top1:6.3f} {figures.top3:6.3f} {figures.answered:9.3f} "
            f"{figures.answered_right:6.3f} {figures.answered_wrong:6.3f} {figures.n_out:5d} {figures.false_answer:6.3f} {per_query:5.2f}"
        )
        if args.misses:
            for text, expected, got in figures.misses:
                print(f"    miss   {text}  expected {expected}, got {got}")
            for text, entry_id, confidence in figures.false_answers:
                print(f"    false  {text}  answered {entry_id} ({confidence:.2f})")
        if args.compare:
            for label, options in VARIANTS.items():
                variant = KnowledgeIndex(base, tokenizer, **options)
                cells = []
                for threshold in THRESHOLDS:
                    f = evaluate(variant, eval_set, threshold)
                    cells.append(f"{threshold}: {f.answered_right:.2f}/{f.answered_wrong:.2f}/{f.false_answer:.2f}")
                f = evaluate(variant, eval_set, args.threshold)
                print(f"    {label:36} top1 {f.top1:.3f} top3 {f.top3:.3f} | right/wrong/false " + "  ".join(cells))


if __name__ == "__main__":
    main()
