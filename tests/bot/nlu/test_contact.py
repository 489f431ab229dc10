"""Phone numbers and "call me" phrases are cut from what the category classifiers read, and nothing else is."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.nlu.contact import contact_spans, outside, strip_contact

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "text",
    [
        "路灯坏了 有事打我电话13912345678",
        "路灯坏了，联系电话：13912345678。",
        "路灯坏了 我的电话是139 1234 5678",
        "路灯坏了 手机号139-1234-5678 微信同号",
        "路灯坏了 电话：+86 139 1234 5678",
        "路灯坏了 座机0319-5123456",
        "路灯坏了 电话（0319）5123456",
        "路灯坏了 电话5123456",
        "路灯坏了 有事打我电话１３９１２３４５６７８",
        "路灯坏了 有事联系我",
        "路灯坏了 请回个电话",
        "13912345678 路灯坏了",
    ],
)
def test_the_report_reads_the_same_without_its_phone_number_and_call_me_phrase(text):
    assert strip_contact(text) == "路灯坏了"


def test_a_phrase_in_the_middle_leaves_one_space_and_the_rest_as_written():
    assert strip_contact("路灯坏了，联系电话：139-1234-5678。村东头那个") == "路灯坏了 村东头那个"
    assert strip_contact("  路灯  坏了 ") == "  路灯  坏了 "


@pytest.mark.parametrize(
    "text",
    [
        "手机没信号",
        "电话打不出去",
        "家里座机一打雷就没声了",
        "手机号突然被停了说是涉诈核验",
        "骚扰电话太多了",
        "打10086转人工打了半小时都没人接",
        "客户经理轮番给我打电话 一天打五六个",
        "我的号码是怎么泄露的",
        "工单JL20261201-0001咋还没人管",
        "一年交了120000块钱",
    ],
)
def test_telephones_as_the_subject_of_a_report_are_kept(text):
    assert strip_contact(text) == text


def test_every_telecom_training_example_keeps_its_words():
    changed = []
    for path in [ROOT / "data/nlu/report_issue/telecom.yml", ROOT / "data/nlu/report_issue/letters/telecom.yml"]:
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in (block.get("examples") or "").splitlines():
                text = line.strip()[2:]
                if block.get("intent") == "report_issue" and strip_contact(text) != text:
                    changed.append(text)
    assert changed == []


def test_spans_are_offsets_of_the_original_text_and_tokens_inside_them_are_dropped():
    text = "井盖丢了 电话１３９１２３４５６７８"
    [(start, end)] = contact_spans(text)
    assert text[start:end] == " 电话１３９１２３４５６７８"
    assert outside([(start, end)], 0, 2) and not outside([(start, end)], 5, 7)


# ---------------------------------------------------------------- the classifier reads the same thing
@pytest.fixture(scope="module")
def category_of(tmp_path_factory):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.label_classifier import CategoryClassifier
    from bot.nlu.tokenizer import ChineseTokenizer

    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer = ChineseTokenizer.create(
        {**ChineseTokenizer.get_default_config()}, storage, Resource("tokenizer"), context
    )
    reports = {
        "telecom": ["手机没信号", "打电话老是断", "电话打不出去", "手机号被停机了", "宽带断网了", "骚扰电话太多",
                    "座机没声音", "手机卡被停了", "给我打电话的都是推销的", "打我电话的推销太多了"],
        "city_management": ["路灯坏了", "路灯不亮", "垃圾没人清", "井盖丢了", "路边乱摆摊", "垃圾桶满了",
                            "街上的路灯灭了", "小广告贴满墙", "占道经营", "井盖坏了"],
    }
    examples = [
        Message.build(text, intent="report_issue", intent_metadata={"category": category})
        for category, texts in reports.items() for text in texts
    ]
    data = TrainingData(examples)
    tokenizer.process_training_data(data)
    classifier = CategoryClassifier.create(
        {**CategoryClassifier.get_default_config()}, storage, Resource("category"), context
    )
    classifier.train(data)

    def parse(text):
        message = Message.build(text)
        tokenizer.process([message])
        classifier.process([message])
        return message

    return parse


@pytest.mark.parametrize(
    "with_phone",
    ["路灯坏了 有事打我电话13912345678", "路灯坏了，我的电话是139 1234 5678，请回个电话", "手机号：139-1234-5678 路灯坏了"],
)
def test_a_phone_number_does_not_move_the_category_ranking(category_of, with_phone):
    message = category_of(with_phone)
    assert message.get("category_ranking") == category_of("路灯坏了").get("category_ranking")
    assert message.get("category")["name"] == "city_management"


def test_the_message_keeps_its_text_for_entities(category_of):
    text = "路灯坏了 有事打我电话13912345678"
    assert category_of(text).get("text") == text


def test_telecom_words_still_point_to_telecom(category_of):
    assert category_of("手机没信号 电话打不出去").get("category")["name"] == "telecom"
