"""Loading and validating the knowledge bases (workflow/knowledge.py), and re-loading them while the bot runs."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pytest
import yaml

from workflow.knowledge import (
    BASE_NAMES,
    KnowledgeBase,
    KnowledgeBaseError,
    KnowledgeStore,
)

DATA = Path(__file__).resolve().parents[2] / "data"


def _entry(entry_id="prune_winter", **overrides):
    entry = {
        "id": entry_id,
        "question": f"{entry_id} 怎么办",
        "alternatives": [f"{entry_id} 咋整"],
        "answer": "按说明做。",
        "source": "常识",
        "checked": dt.date(2026, 12, 7),
        "office": "乡镇便民服务中心",
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not None}


def _content(*entries, kind="policy"):
    return {"kind": kind, "title": "测试", "entries": list(entries) or [_entry()]}


def _write(directory: Path, name: str, content) -> Path:
    path = directory / "knowledge" / f"{name}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path


def test_it_loads_the_shipped_bases_with_enough_entries():
    honeysuckle = KnowledgeBase.load(DATA, "honeysuckle")
    policy = KnowledgeBase.load(DATA, "policy")
    assert (honeysuckle.kind, policy.kind) == ("farming", "policy")
    assert len(honeysuckle) >= 80 and len(policy) >= 60
    assert all(entry.office for entry in policy)
    assert "二白期" in honeysuckle.terms and "高龄补贴" in policy.terms
    assert honeysuckle.entry("erbai_stage").checked == dt.date(2026, 12, 7)


@pytest.mark.parametrize("name", BASE_NAMES)
def test_it_gives_every_shipped_entry_three_to_six_alternatives_and_a_short_answer(name):
    base = KnowledgeBase.load(DATA, name)
    assert [e.id for e in base if not 3 <= len(e.alternatives) <= 6] == []
    assert [e.id for e in base if len(e.answer) > 400] == []


def test_it_covers_the_pests_and_harvest_stages_growers_ask_about():
    text = "".join(e.question + "".join(e.alternatives) for e in KnowledgeBase.load(DATA, "honeysuckle"))
    for word in ("蚜虫", "尺蠖", "棉铃虫", "红蜘蛛", "咖啡虎天牛", "白粉病", "褐斑病", "根腐病", "二白期", "大白期",
                 "扦插", "分株", "冬剪", "夏剪", "打顶", "晾晒", "烘干", "等级", "保存", "卖"):
        assert word in text, word


def test_it_states_no_exact_amounts_in_the_policy_base():
    # Amounts change every year and by place: the county adds them with their year; the pilot base names none.
    import re

    answers = [e.answer for e in KnowledgeBase.load(DATA, "policy")]
    assert [a for a in answers if re.search(r"\d+(\.\d+)?\s*元", a)] == []


def test_it_reads_a_quoted_iso_date_too():
    base = KnowledgeBase.from_mapping(_content(_entry(checked="2026-12-07")), name="t")
    assert base.entries[0].checked == dt.date(2026, 12, 7)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (_entry(question=""), "question"),
        (_entry(question=None), "question"),
        (_entry(answer="   "), "answer"),
        (_entry(source=None), "source"),
        (_entry(alternatives=["好的", ""]), "alternatives"),
        (_entry(alternatives="一个字符串"), "alternatives"),
        (_entry(checked="2026-13-01"), "checked"),
        (_entry(checked="7.12.2026"), "checked"),
        (_entry(checked=dt.datetime(2026, 12, 7, 8, 0)), "checked"),
        (_entry(checked=None), "checked"),
        (_entry(office=None), "office"),
        (_entry(office=""), "office"),
        (_entry(id="Winter Prune"), "id"),
        (_entry(offfice="typo"), "offfice"),
    ],
)
def test_it_names_the_file_entry_and_field_of_a_bad_entry(entry, field):
    with pytest.raises(KnowledgeBaseError) as raised:
        KnowledgeBase.from_mapping(_content(_entry("first"), entry), name="policy", path=Path("data/knowledge/policy.yml"))
    error = raised.value
    assert error.context["field"] == field
    assert error.context["file"] == "data/knowledge/policy.yml"
    assert "data/knowledge/policy.yml" in str(error) and f"field {field}" in str(error)
    expected_entry = entry["id"] if field != "id" else "Winter Prune"
    assert error.context["entry"] == expected_entry


def test_it_names_the_position_of_an_entry_without_an_id():
    with pytest.raises(KnowledgeBaseError) as raised:
        KnowledgeBase.from_mapping(_content(_entry("first"), _entry(id=None)), name="policy")
    assert raised.value.context == {"file": "<policy>", "entry": "#2", "field": "id"}


def test_it_refuses_duplicate_ids():
    with pytest.raises(KnowledgeBaseError, match="duplicate of entry #1") as raised:
        KnowledgeBase.from_mapping(_content(_entry("same"), _entry("same", question="别的问题")), name="policy")
    assert raised.value.context["entry"] == "same"


def test_it_refuses_one_phrasing_in_two_entries():
    with pytest.raises(KnowledgeBaseError, match="also a phrasing of entry a"):
        KnowledgeBase.from_mapping(_content(_entry("a"), _entry("b", alternatives=["a 怎么办"])), name="policy")


def test_it_lets_a_farming_entry_go_without_an_office():
    base = KnowledgeBase.from_mapping(_content(_entry(office=None), kind="farming"), name="honeysuckle")
    assert base.entries[0].office is None


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({"kind": "recipes", "title": "t", "entries": [_entry()]}, "kind"),
        ({"kind": "policy", "title": "", "entries": [_entry()]}, "title"),
        ({"kind": "policy", "title": "t", "entries": []}, "entries"),
        ({"kind": "policy", "title": "t", "terms": ["", "x"], "entries": [_entry()]}, "terms"),
        ({"kind": "policy", "title": "t", "entry": [_entry()]}, "entry"),
    ],
)
def test_it_refuses_a_malformed_file(content, field):
    with pytest.raises(KnowledgeBaseError) as raised:
        KnowledgeBase.from_mapping(content, name="policy")
    assert raised.value.context["field"] == field


def test_it_reports_a_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="cannot read"):
        KnowledgeBase.load(tmp_path, "policy")
    path = tmp_path / "knowledge" / "policy.yml"
    path.parent.mkdir()
    path.write_text("entries: [unclosed", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="not valid YAML"):
        KnowledgeBase.load(tmp_path, "policy")


class _Counting:
    def __init__(self):
        self.built = 0

    def __call__(self, base):
        self.built += 1
        return [e.id for e in base]


def _touch_later(path: Path, seconds: int) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 1_000_000_000))


def test_it_reloads_a_changed_file_and_rebuilds_its_index_once(tmp_path):
    path = _write(tmp_path, "policy", _content(_entry("one")))
    build = _Counting()
    store = KnowledgeStore(tmp_path, names=["policy"], build=build)
    assert store.index("policy") == ["one"] and store.index("policy") == ["one"]
    assert build.built == 1
    _write(tmp_path, "policy", _content(_entry("one"), _entry("two")))
    _touch_later(path, 5)
    assert [e.id for e in store.base("policy")] == ["one", "two"]
    assert store.index("policy") == ["one", "two"]
    assert build.built == 2


def test_it_keeps_the_last_good_version_when_an_edit_is_bad_and_logs_it_once(tmp_path, caplog):
    path = _write(tmp_path, "policy", _content(_entry("one")))
    build = _Counting()
    store = KnowledgeStore(tmp_path, names=["policy"], build=build)
    _write(tmp_path, "policy", _content(_entry("one"), _entry("two", office=None)))
    _touch_later(path, 5)
    with caplog.at_level(logging.ERROR, logger="workflow.knowledge"):
        assert [e.id for e in store.base("policy")] == ["one"]
        assert store.index("policy") == ["one"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "two" in errors[0].getMessage() and "office" in errors[0].getMessage()
    assert build.built == 1
    # fixed: the next access serves the new version
    _write(tmp_path, "policy", _content(_entry("one"), _entry("two")))
    _touch_later(path, 10)
    assert store.index("policy") == ["one", "two"]


def test_it_keeps_serving_when_the_file_disappears(tmp_path, caplog):
    path = _write(tmp_path, "policy", _content(_entry("one")))
    store = KnowledgeStore(tmp_path, names=["policy"], build=_Counting())
    path.unlink()
    with caplog.at_level(logging.ERROR, logger="workflow.knowledge"):
        assert [e.id for e in store.base("policy")] == ["one"]
    assert "cannot read" in caplog.text


def test_it_refuses_to_start_on_a_bad_file(tmp_path):
    _write(tmp_path, "policy", _content(_entry(office=None)))
    with pytest.raises(KnowledgeBaseError, match="office"):
        KnowledgeStore(tmp_path, names=["policy"], build=_Counting())


def test_it_indexes_the_shipped_bases_by_default():
    store = KnowledgeStore(DATA)
    assert store.names() == BASE_NAMES
    answer = store.index("honeysuckle").answer("金银花啥时候打顶")
    assert answer is not None and answer.entry.id == "topping"


def test_it_accepts_an_entry_without_alternatives_as_an_expert_answer_has():
    base = KnowledgeBase.from_mapping(_content(_entry(alternatives=[]), kind="farming"), name="expert_answers")
    assert base.entries[0].alternatives == ()


def _expert_file(directory: Path, *entries) -> Path:
    return _write(directory, "expert_answers", {"kind": "farming", "title": "巨好办专家答复", "entries": list(entries)})


def test_it_searches_the_experts_approved_answers_with_the_honeysuckle_base(tmp_path):
    _write(tmp_path, "honeysuckle", _content(_entry("topping", question="金银花啥时候打顶", office=None), kind="farming"))
    store = KnowledgeStore(tmp_path, names=["honeysuckle"], build=_Counting())
    assert store.index("honeysuckle") == ["topping"]
    path = _expert_file(tmp_path, _entry("expert_jl20261207_0001", question="金银花叶子发紫咋回事", alternatives=[],
                                         office=None))
    assert store.index("honeysuckle") == ["topping", "expert_jl20261207_0001"]
    # an approval that re-writes the file is picked up too
    _expert_file(tmp_path, _entry("expert_jl20261207_0001", alternatives=[], office=None),
                 _entry("expert_jl20261207_0002", alternatives=[], office=None))
    _touch_later(path, 5)
    assert store.index("honeysuckle")[-1] == "expert_jl20261207_0002"


def test_it_keeps_the_base_when_an_expert_answer_reuses_an_id(tmp_path, caplog):
    _write(tmp_path, "honeysuckle", _content(_entry("topping", office=None), kind="farming"))
    store = KnowledgeStore(tmp_path, names=["honeysuckle"], build=_Counting())
    _expert_file(tmp_path, _entry("topping", question="别的", alternatives=[], office=None))
    with caplog.at_level(logging.ERROR, logger="workflow.knowledge"):
        assert store.index("honeysuckle") == ["topping"]
    assert "already an entry of honeysuckle" in caplog.text


def test_it_answers_through_the_store():
    store = KnowledgeStore(DATA)
    assert store.answer("金银花啥时候打顶", base="honeysuckle").entry.id == "topping"
    assert store.search("异地就医备案咋弄", base="policy", k=2)[0].entry.id == "cross_region_medical_filing"
    assert store.answer("我家狗丢了", base="policy") is None
