"""Normalising what residents type."""

from __future__ import annotations

import pytest

from workflow.textnorm import normalize_term, normalize_text


@pytest.mark.parametrize(
    "raw,normalised",
    [
        ("王 虎 寨 镇", "王虎寨镇"),
        ("\u3000官亭镇\u3000\n", "官亭镇"),
        ("１３８ＡＢＣ", "138abc"),
        ("（0319）", "(0319)"),
    ],
)
def test_it_folds_width_case_and_whitespace(raw, normalised):
    assert normalize_text(raw) == normalised


@pytest.mark.parametrize("raw,term", [("「堤村乡」。", "堤村乡"), ("后彭村！", "后彭村"), ("JL20261130-0001。", "jl20261130-0001")])
def test_it_strips_punctuation_around_a_term(raw, term):
    assert normalize_term(raw) == term
