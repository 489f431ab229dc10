"""Canned replies: the county's file is valid, a bad file fails naming the entry, '/code' expands."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin.canned_replies import (
    CannedReplies,
    CannedReply,
    InvalidCannedReplies,
    UnknownCannedReply,
    load_canned_replies,
)
from workflow.exceptions import JuhaobanError, ReferenceDataError

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
PHONE_LIKE = __import__("re").compile(r"\d{5,}")


def _write(tmp_path: Path, content: str) -> Path:
    (tmp_path / "console").mkdir(exist_ok=True)
    (tmp_path / "console" / "canned_replies.yml").write_text(content, encoding="utf-8")
    return tmp_path


@pytest.fixture
def replies() -> CannedReplies:
    return CannedReplies([
        CannedReply("loc", "请提供具体位置", "请您提供具体位置。"),
        CannedReply("fwd", "已转相关部门", "已转交相关责任单位办理。"),
    ])


def test_the_countys_file_loads_with_the_common_answers():
    loaded = load_canned_replies(DATA_DIR)
    codes = [reply.code for reply in loaded.items()]
    assert 12 <= len(codes) <= 20 and len(set(codes)) == len(codes)
    for code in ("hours", "status", "hotline", "fwd", "loc", "phone"):
        assert code in loaded
    for reply in loaded:
        assert reply.text == reply.text.strip() and " " not in reply.text  # no YAML folding spaces in Chinese
        # No made-up phone numbers: only the national short numbers (110, 119, 120, 12345) may appear.
        assert all(number == "12345" for number in PHONE_LIKE.findall(reply.text)), reply.code
    assert "12345" in loaded.get("hotline").text
    assert loaded.items()[0].to_dict() == {"code": "hello", "title": "问候", "text": loaded.items()[0].text}


def test_a_message_that_is_a_code_becomes_the_reply(replies):
    assert replies.expand("/loc") == "请您提供具体位置。"
    assert replies.expand("  /loc  ") == "请您提供具体位置。"
    assert replies.expand("/LOC") == "请您提供具体位置。"
    assert replies.expand("／fwd") == "已转交相关责任单位办理。"


def test_words_after_the_code_follow_the_reply_on_a_new_line(replies):
    assert replies.expand("/fwd 县住建局已接单") == "已转交相关责任单位办理。\n县住建局已接单"
    assert replies.expand("/loc\n东关村南头") == "请您提供具体位置。\n东关村南头"
    assert replies.expand("/loc东关村南头") == "请您提供具体位置。\n东关村南头"


def test_other_messages_are_sent_as_typed(replies):
    assert replies.expand("您好，已收到") == "您好，已收到"
    assert replies.expand("/ 你好") == "/ 你好"
    assert replies.expand("/路灯的事") == "/路灯的事"
    assert replies.expand("//loc 是代码") == "/loc 是代码"
    assert replies.expand("请看 /loc") == "请看 /loc"
    assert replies.expand("/api/cases") == "/api/cases"
    assert replies.expand("") == ""


def test_an_unknown_code_raises_naming_it_and_the_known_ones(replies):
    with pytest.raises(UnknownCannedReply) as error:
        replies.expand("/nosuch 随便")
    assert isinstance(error.value, JuhaobanError) and error.value.code == "unknown_canned_reply"
    assert error.value.context == {"code": "nosuch", "known": ["fwd", "loc"]}
    with pytest.raises(UnknownCannedReply):
        replies.expand("/locx")


def test_items_get_and_len(replies):
    assert [reply.code for reply in replies.items()] == ["loc", "fwd"]
    assert replies.get("FWD").title == "已转相关部门" and replies.get("none") is None
    assert len(replies) == 2 and "loc" in replies and "nope" not in replies


GOOD_ENTRY = "  - code: loc\n    title: 位置\n    text: 请提供位置。\n"


@pytest.mark.parametrize(
    "content, entry, field",
    [
        ("version: 1\nreplies:\n" + GOOD_ENTRY + "  - code: loc\n    title: 又一个\n    text: 重复\n",
         "replies[1] (loc)", "code"),
        ("version: 1\nreplies:\n  - code: Loc-1\n    title: 位置\n    text: 请提供位置。\n", "replies[0] (Loc-1)", "code"),
        ("version: 1\nreplies:\n  - code: abcdefghijklm\n    title: 位置\n    text: 请提供位置。\n",
         "replies[0] (abcdefghijklm)", "code"),
        ("version: 1\nreplies:\n" + GOOD_ENTRY + "  - code: x1\n    title: 空\n    text: '  '\n", "replies[1] (x1)", "text"),
        ("version: 1\nreplies:\n  - code: x1\n    title: 长\n    text: " + "长" * 501 + "\n", "replies[0] (x1)", "text"),
        ("version: 1\nreplies:\n  - code: x1\n    text: 无标题\n", "replies[0] (x1)", "title"),
        ("version: 1\nreplies:\n  - code: 12\n    title: 数字\n    text: 代码不是字符串\n", "replies[0]", "code"),
        ("version: 1\nreplies:\n  - code: x1\n    title: t\n    text: t\n    phone: 1\n", "replies[0] (x1)", "phone"),
        ("version: 1\nreplies:\n  - just a string\n", "replies[0]", None),
    ],
)
def test_a_bad_entry_fails_naming_the_file_the_entry_and_the_field(tmp_path, content, entry, field):
    data_dir = _write(tmp_path, content)
    with pytest.raises(InvalidCannedReplies) as error:
        load_canned_replies(data_dir)
    path = str(data_dir / "console" / "canned_replies.yml")
    assert isinstance(error.value, ReferenceDataError) and error.value.code == "invalid_canned_replies"
    assert error.value.context["file"] == path and error.value.context["entry"] == entry
    assert error.value.context.get("field") == field
    assert str(error.value).startswith(f"{path}: {entry}: ")


@pytest.mark.parametrize(
    "content",
    ["version: 1\nreplies: []\n", "version: 2\nreplies:\n" + GOOD_ENTRY, "replies:\n" + GOOD_ENTRY,
     "- a list\n", "version: 1\nreplies: [\n", "version: 1\nextra: 1\nreplies:\n" + GOOD_ENTRY],
)
def test_a_bad_file_fails_naming_the_file(tmp_path, content):
    data_dir = _write(tmp_path, content)
    with pytest.raises(InvalidCannedReplies) as error:
        load_canned_replies(data_dir)
    assert error.value.context["file"] == str(data_dir / "console" / "canned_replies.yml")


def test_a_missing_file_fails_naming_it(tmp_path):
    with pytest.raises(InvalidCannedReplies) as error:
        load_canned_replies(tmp_path)
    assert error.value.context["file"].endswith("console/canned_replies.yml")
