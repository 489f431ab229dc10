"""The mall_item lookup table is the catalogue's names, as residents type them."""

from __future__ import annotations

from bot.nlu.mall_lookup import LOOKUP, item_names, render


def test_the_lookup_file_is_generated_from_the_current_catalogue():
    assert LOOKUP.read_text(encoding="utf-8") == render(), "run: .venv/bin/python -m bot.nlu.mall_lookup"


def test_names_drop_a_bracketed_size_and_come_longest_first():
    assert item_names(["大米（5公斤）", "洗衣粉", "油", "洗衣粉", "毛巾 (大)"]) == ["洗衣粉", "大米", "毛巾", "油"]
