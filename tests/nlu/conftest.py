"""The trained NLU model, loaded once per test session (training is cached in models/ by a hash of its inputs)."""

from __future__ import annotations

import asyncio
from typing import Callable, Dict

import pytest

@pytest.fixture(scope="session")
def parse(trained_model) -> Callable[[str], Dict]:
    """``parse(text)`` → Rasa's parse result for ``text`` from the trained model (what ``POST /model/parse`` gives)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(trained_model))
    loop = asyncio.new_event_loop()
    yield lambda text: loop.run_until_complete(agent.parse_message(text))
    loop.close()
