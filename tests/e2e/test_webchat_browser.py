"""The web chat in a real browser: a resident files a case at ``<admin>/chat`` in headless Chromium, talking to the
running system's Rasa over socket.io; the case goes through the admin API and the result is pushed into the open page
by the worker (``trigger_intent`` on the ``socketio`` channel); the resident rates it there.

Slow: starts ``juhaoban serve`` (SQLite) and Chromium. Needs Debian's chromium at ``/usr/bin/chromium`` (``make
browser``); Playwright drives it, its own browser downloads are never used. Without chromium these tests fail.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

from browser_support import (CASE_ID, PHONE, PUSH_SECONDS, RESULT, ChatPage, browser, chromium,  # noqa: F401
                             unused_port)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def web_system(chromium: Path, tmp_path_factory, trained_model, system_starter):
    """The running system on SQLite (one backend is enough here: the page talks to Rasa, not to the database)."""
    tmp = tmp_path_factory.mktemp("webchat")
    yield from system_starter(f"sqlite:///{tmp / 'juhaoban.db'}", None, tmp, trained_model)


@pytest.fixture
def chat(browser, web_system) -> Iterator[ChatPage]:
    """A fresh phone-sized browser context (empty localStorage) on the running system's chat page."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    try:
        yield ChatPage(context.new_page(), web_system.admin_url, web_system.rasa_url)
    finally:
        context.close()


def unit_token(system, unit: str) -> str:
    """A token for ``unit``, made with ``juhaoban token create`` against the run's database."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("juhaoban")), "token", "create", "--role", "unit", "--unit", unit,
         "--name", "值班员"],
        env=system.env, capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.strip().splitlines()[-1]


def resolve_through_the_admin_api(system, case_id: str) -> None:
    """Accept (unless accepted at once), assign, and as the lead unit acknowledge and resolve."""
    if system.admin_get(f"/api/cases/{case_id}").json()["status"] == "reported":
        accepted = system.admin_post(f"/api/cases/{case_id}/accept", {"importance_level": 2})
        assert accepted.status_code == 200, accepted.text
    assigned = system.admin_post(f"/api/cases/{case_id}/assign", {})
    assert assigned.status_code == 200, assigned.text
    token = unit_token(system, assigned.json()["lead_unit"]["code"])
    acknowledged = system.admin_post(f"/api/cases/{case_id}/acknowledge", {}, token=token)
    assert acknowledged.status_code == 200, acknowledged.text
    resolved = system.admin_post(f"/api/cases/{case_id}/resolve", {"result": RESULT}, token=token)
    assert resolved.status_code == 200, resolved.text


def test_it_files_a_case_hears_the_result_pushed_and_rates_it(chat: ChatPage, web_system) -> None:
    chat.open()
    chat.say("我们村东头那个厂子天天晚上往河沟里放黑水", "哪个乡镇")
    chat.say("王虎寨镇", "联系电话")
    confirmation = chat.say("不留", "办理时限")
    assert "生态环境" in confirmation and "县生态环境分局" in confirmation
    case_id = CASE_ID.search(chat.say("对", CASE_ID.pattern)).group(0)

    # The sender id is the page's session id: with session_persistence pushes go to that socket.io room.
    session = chat.session_id()
    case = web_system.admin_get(f"/api/cases/{case_id}").json()
    assert (case["reporter"], case["channel"]) == (session, "socketio")

    # A reload keeps the conversation: same session, the history is shown, connected again.
    chat.page.reload()
    chat.wait_for_state("已连接")
    assert chat.session_id() == session and any(case_id in text for text in chat.bot_texts())

    before = len(chat.bot_texts())
    resolve_through_the_admin_api(web_system, case_id)
    pushed = chat.wait_for_bot(RESULT, after=before, timeout=PUSH_SECONDS)
    assert case_id in pushed and "满意" in pushed

    thanks = chat.say("满意", "感谢您的评价")
    assert case_id in thanks
    closed = web_system.admin_get(f"/api/cases/{case_id}").json()
    assert (closed["status"], closed["rating"]) == ("closed", "satisfied")


def test_it_shows_markup_as_text(chat: ChatPage) -> None:
    message = "<script>alert(1)</script><b>粗体</b><img src=x onerror=alert(2)>"
    chat.open()
    chat.say(message, ".")

    assert chat.user_texts()[-1] == message
    assert chat.page.locator("#chat-messages script, #chat-messages b, #chat-messages img").count() == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chat.page.locator(".message.from-user .bubble").last.inner_html()
    assert chat.dialogs == []


def test_it_says_when_the_bot_cannot_be_reached_and_keeps_the_text(chat: ChatPage, web_system) -> None:
    chat.url = f"{web_system.admin_url}/chat?socket={urllib.parse.quote(f'http://127.0.0.1:{unused_port()}', safe='')}"
    chat.page.goto(chat.url)
    chat.wait_for_state("连接断开")
    chat.page.locator("#chat-input").fill("路灯坏了")
    chat.page.locator("#chat-input").press("Enter")

    assert chat.page.locator("#chat-send").is_disabled()
    assert chat.page.locator("#chat-input").input_value() == "路灯坏了" and chat.user_texts() == []


def test_it_fits_a_phone_screen_and_wraps_long_text(chat: ChatPage) -> None:
    chat.open()
    long_text = "反映" + "河沟里的黑水" * 60 + "x" * 300  # Chinese and an unbroken Latin run
    chat.say(long_text, ".")

    width = chat.page.evaluate("() => document.documentElement.scrollWidth")
    bubble = chat.page.locator(".message.from-user .bubble").last.bounding_box()
    assert width <= PHONE["width"]
    assert bubble["x"] >= 0 and bubble["x"] + bubble["width"] <= PHONE["width"]
