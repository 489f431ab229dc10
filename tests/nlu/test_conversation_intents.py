"""Intents and entities of phrasings never trained on (tests/nlu/heldout/conversation.yml)."""

from __future__ import annotations

import pytest

from heldout_data import heldout_conversation_examples

pytestmark = pytest.mark.slow

EXAMPLES = heldout_conversation_examples()


def test_it_recognises_most_unseen_phrasings_of_each_intent(parse):
    wrong = []
    for example in EXAMPLES:
        got = parse(example["text"])["intent"]["name"]
        if got != example["intent"]:
            wrong.append((example["text"], example["intent"], got))
    # Measured 7 wrong of 61 (0.115) with model e17f8d1399b6662a (report_issue has ~5,700 examples, each of these
    # intents 50–100: short messages drift to it). A rating misread by the model is corrected by the words said
    # (actions/rating.py explicit_rating), so the costly confusion is guarded in the action, not only here.
    # The points-mall, 帮我办, grid-worker and cancel phrasings (77 of 145) came after that measurement: the first
    # model trained on them re-measures this figure; it is not loosened in advance.
    assert len(wrong) / len(EXAMPLES) <= 0.15, wrong


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.get("entities")], ids=lambda e: e["text"][:20])
def test_it_extracts_places_phones_and_case_numbers(parse, example):
    found = {(e["entity"], e["value"]) for e in parse(example["text"])["entities"]}
    for expected in example["entities"]:
        assert (expected["entity"], str(expected["value"])) in found, found
