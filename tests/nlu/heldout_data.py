"""Loading the held-out NLU phrasings (tests/nlu/heldout/*.yml): written for the tests, never trained on."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import yaml

HELDOUT = Path(__file__).parent / "heldout"


def heldout_category_examples() -> List[Dict]:
    """Every held-out report phrasing as {text, category, matter_type}; never in the training data."""
    examples = []
    for path in sorted(HELDOUT.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "category" not in content:
            continue
        for example in content["examples"]:
            examples.append({"category": content["category"], **example})
    return examples


def heldout_conversation_examples() -> List[Dict]:
    """Held-out phrasings of the conversational intents as {text, intent, entities}."""
    content = yaml.safe_load((HELDOUT / "conversation.yml").read_text(encoding="utf-8"))
    return content["examples"]
