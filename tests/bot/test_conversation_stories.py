"""Runs the conversation test stories (tests/stories/) against the trained model with ``rasa test core``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_it_follows_every_test_story(trained_model, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--model", str(trained_model),
         "--stories", str(ROOT / "tests" / "stories"), "--out", str(tmp_path), "--fail-on-prediction-errors",
         "--no-plot"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    failed = tmp_path / "failed_test_stories.yml"
    assert result.returncode == 0, (failed.read_text() if failed.exists() else "") + result.stdout[-3000:] + result.stderr[-3000:]
