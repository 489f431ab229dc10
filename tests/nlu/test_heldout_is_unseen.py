"""The held-out phrasings must stay out of the training data, or the NLU figures measure memory, not understanding."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.nlu.normalize import clean_text
from heldout_data import heldout_category_examples, heldout_conversation_examples

NLU_DATA = Path(__file__).resolve().parents[2] / "data" / "nlu"
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\{[^}]*\}|\([^)]*\))")


def training_texts() -> set[str]:
    texts = set()
    for path in NLU_DATA.rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            for line in (block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    texts.add(clean_text(_ANNOTATION.sub(r"\1", line.strip()[2:])))
    return texts


def test_no_held_out_phrasing_is_in_the_training_data():
    trained = training_texts()
    held_out = [e["text"] for e in heldout_category_examples() + heldout_conversation_examples()]
    assert len(trained) > 5000 and len(held_out) > 300
    assert [text for text in held_out if clean_text(text) in trained] == []
