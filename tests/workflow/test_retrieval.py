"""Searching and answering from a knowledge base (workflow/retrieval.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from workflow.knowledge import KnowledgeBase
from workflow.retrieval import ANSWER_THRESHOLD, KnowledgeIndex, answer_text, shared_tokenizer

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def honeysuckle():
    return KnowledgeIndex(KnowledgeBase.load(DATA, "honeysuckle"))


@pytest.fixture(scope="module")
def policy():
    return KnowledgeIndex(KnowledgeBase.load(DATA, "policy"))


def test_it_keeps_domain_terms_whole():
    shared_tokenizer().add_terms(["二白期", "高龄补贴"])
    words = shared_tokenizer().content_words("二白期是啥样 高龄补贴咋领")
    assert "二白期" in words and "高龄补贴" in words
    assert "是" not in words and "啥" not in words


def test_it_folds_width_and_drops_punctuation():
    tokens = shared_tokenizer().tokens("ＪＹＨ　金银花！！？、。")
    assert "jyh" in tokens and "金银花" in tokens
    assert not any(t in tokens for t in ("！", "!", "?", "、", "。", " "))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("金银花啥时候打顶", "topping"),
        ("叶子发黄卷起来咋整", "leaf_curl"),
        ("花骨朵里钻进去虫子了", "bollworm"),
        ("烘干金银花开始几度", "oven_drying"),
    ],
)
def test_it_finds_the_entry_a_grower_means(honeysuckle, text, expected):
    hits = honeysuckle.search(text)
    assert hits[0].entry.id == expected
    assert 1 <= len(hits) <= 3
    assert hits[0].score >= hits[-1].score
    assert all(0.0 <= h.confidence <= 1.0 for h in hits)


def test_it_ranks_the_best_hit_most_confident(honeysuckle):
    hits = honeysuckle.search("白粉病打啥药好", k=5)
    assert hits[0].entry.id == "powdery_mildew"
    assert hits[0].confidence == max(h.confidence for h in hits)


def test_it_returns_nothing_for_text_without_content_words(honeysuckle):
    assert honeysuckle.search("？？？") == []
    assert honeysuckle.search("你好啊") == []
    assert honeysuckle.answer("") is None


def test_it_answers_with_source_and_date_and_for_policy_the_office(policy):
    answer = policy.answer("异地就医备案咋弄")
    assert answer is not None and answer.entry.id == "cross_region_medical_filing"
    assert answer.kind == "policy" and answer.base == "policy"
    assert answer.confidence >= ANSWER_THRESHOLD
    assert answer.text.startswith(answer.entry.answer)
    assert f"（来源：{answer.source}；核对日期：{answer.checked.isoformat()}）" in answer.text
    assert answer.text.endswith(f"咨询：{answer.office}")


def test_it_names_no_office_for_a_farming_answer(honeysuckle):
    answer = honeysuckle.answer("金银花啥时候打顶")
    assert answer is not None and "咨询：" not in answer.text and "来源：" in answer.text


def test_it_declines_questions_the_base_does_not_cover(policy, honeysuckle):
    assert policy.answer("我家狗丢了") is None
    assert honeysuckle.answer("苹果树套袋啥时候套") is None


def test_it_formats_the_answer_text():
    base = KnowledgeBase.from_mapping(
        {"kind": "policy", "title": "t", "entries": [{
            "id": "a", "question": "问", "alternatives": ["问问"], "answer": "答。", "source": "文件",
            "checked": dt.date(2026, 12, 7), "office": "县医疗保障局服务大厅"}]},
        name="policy",
    )
    assert answer_text(base.entries[0], "policy") == "答。（来源：文件；核对日期：2026-12-07）\n咨询：县医疗保障局服务大厅"
    assert answer_text(base.entries[0], "farming") == "答。（来源：文件；核对日期：2026-12-07）"


def test_a_higher_threshold_answers_less(policy):
    strict = KnowledgeIndex(policy.base, threshold=1.01)
    assert policy.answer("八十岁老人有高龄补贴吗") is not None
    assert strict.answer("八十岁老人有高龄补贴吗") is None
