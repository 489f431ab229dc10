"""The dispatcher console in a real browser, against the running system: a day's work end to end.

A resident files a report in the web chat (headless Chromium); a dispatcher logs in to the console, finds the case in
the queue, accepts and assigns it; the lead unit's staff log in and resolve it; another unit's staff cannot open it.
The resident asks for a person; the dispatcher sees the conversation flagged, takes it over (the bot is paused and
says a staff member has joined), replies (the resident's page shows it), sees the resident's answer while the bot
stays silent, and hands back (the bot says so and answers again).

Slow: starts ``juhaoban serve`` (SQLite, auto-accept off so the dispatcher accepts) and Chromium (Debian's, ``make
browser``).
"""

from __future__ import annotations

import re
import time
from typing import Iterator

import pytest
from playwright.sync_api import expect

from browser_support import CASE_ID, PHONE, ChatPage, browser, chromium  # noqa: F401
from workflow.accounts import AccountService
from workflow.db import make_engine, make_session_factory

pytestmark = pytest.mark.slow

PASSWORD = "Julu2026browser"
DESKTOP = {"width": 1280, "height": 900}
RESULT = "已责令该厂停止排放，河沟已清理"
STAFF_REPLY = "您好，我是调度员王芳，您反映的排污问题我们已转生态环境分局，今天会联系您。"
UI_MS = 30_000


@pytest.fixture(scope="module")
def console_system(chromium, tmp_path_factory, trained_model, system_starter):
    """The running system on SQLite, every report left for a dispatcher to accept, with console accounts."""
    tmp = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{tmp / 'juhaoban.db'}"
    for system in system_starter(url, None, tmp, trained_model, {"JUHAOBAN_AUTO_ACCEPT_THRESHOLD": "1"}):
        engine = make_engine(url)
        accounts = AccountService(make_session_factory(engine))
        accounts.create("wangfang", PASSWORD, role="dispatcher", display_name="调度员王芳")
        accounts.create("eco-zhang", PASSWORD, role="unit", unit_code="county_ecology", display_name="生态环境分局张科长")
        accounts.create("city-li", PASSWORD, role="unit", unit_code="county_urban_management",
                        display_name="城管执法局李队长")
        engine.dispose()
        yield system


@pytest.fixture
def open_context(browser) -> Iterator:
    """``open_context(viewport)`` → a new page in a fresh browser context (own cookies and storage)."""
    contexts = []

    def open_page(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def log_in(page, system, username: str) -> None:
    page.goto(f"{system.admin_url}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".topbar .me")).to_be_visible(timeout=UI_MS)


def file_report(chat: ChatPage) -> str:
    chat.open()
    chat.say("我们村东头那个厂子天天晚上往河沟里放黑水", "哪个乡镇")
    chat.say("王虎寨镇", "联系电话")
    chat.say("不留", "办理时限")
    return CASE_ID.search(chat.say("对", CASE_ID.pattern)).group(0)


def do_action(page, action: str, fields: dict[str, str] | None = None) -> None:
    """Fill and submit the case page's form for ``action``; wait for the page to say it was done."""
    form = page.locator(f"form[action$='/{action}']")
    for name, value in (fields or {}).items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.once("dialog", lambda dialog: dialog.accept())
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash").first).to_be_visible(timeout=UI_MS)
    assert "error" not in (page.locator(".flash").first.get_attribute("class") or ""), page.content()[:2000]


def status_of(system, case_id: str) -> str:
    return system.admin_get(f"/api/cases/{case_id}").json()["status"]


def test_a_case_the_bot_filed_goes_through_the_console(console_system, open_context):
    chat = ChatPage(open_context(PHONE), console_system.admin_url, console_system.rasa_url)
    case_id = file_report(chat)
    assert status_of(console_system, case_id) == "reported"

    dispatcher = open_context()
    log_in(dispatcher, console_system, "wangfang")
    dispatcher.goto(f"{console_system.admin_url}/console/cases")
    row = dispatcher.locator("tr", has_text=case_id)
    expect(row).to_be_visible(timeout=UI_MS)
    expect(row.locator(".countdown")).to_contain_text("剩余")
    row.locator(f"a:has-text('{case_id}')").click()
    expect(dispatcher.locator("h1")).to_contain_text(case_id)
    expect(dispatcher.locator("body")).to_contain_text("往河沟里放黑水")
    do_action(dispatcher, "accept", {"importance_level": "2"})
    assert status_of(console_system, case_id) == "accepted"
    do_action(dispatcher, "assign")
    assert status_of(console_system, case_id) == "assigned"

    other = open_context()
    log_in(other, console_system, "city-li")
    response = other.goto(f"{console_system.admin_url}/console/cases/{case_id}")
    assert response.status == 403
    expect(other.locator("body")).to_contain_text("无权")
    expect(other.locator("body")).not_to_contain_text("往河沟里放黑水")

    unit = open_context()
    log_in(unit, console_system, "eco-zhang")
    unit.goto(f"{console_system.admin_url}/console/cases")
    unit.locator(f"a:has-text('{case_id}')").click()
    do_action(unit, "acknowledge")
    do_action(unit, "resolve", {"result": RESULT})
    case = console_system.admin_get(f"/api/cases/{case_id}").json()
    assert (case["status"], case["result"]) == ("resolved", RESULT)
    expect(unit.locator("body")).to_contain_text(RESULT)


def bot_count(chat: ChatPage) -> int:
    return len(chat.bot_texts())


def test_a_dispatcher_takes_over_a_live_web_chat_and_hands_it_back(console_system, open_context):
    chat = ChatPage(open_context(PHONE), console_system.admin_url, console_system.rasa_url)
    chat.open()
    chat.say("转人工", ".")
    sender = chat.session_id()

    dispatcher = open_context()
    log_in(dispatcher, console_system, "wangfang")
    dispatcher.goto(f"{console_system.admin_url}/console/conversations")
    row = dispatcher.locator(f"tr[data-sender='{sender}']")
    expect(row).to_contain_text("要求转人工", timeout=UI_MS)
    row.locator("a").click()
    expect(dispatcher.locator("#transcript")).to_contain_text("转人工")

    before = bot_count(chat)
    dispatcher.click("#takeover-button")
    expect(dispatcher.locator(".flash")).to_contain_text("已接管", timeout=UI_MS)
    assert "调度员王芳" in chat.wait_for_bot("已接入", after=before, timeout=30)

    before = bot_count(chat)
    dispatcher.fill("#staff-message", STAFF_REPLY)
    dispatcher.click("#send-button")
    expect(dispatcher.locator(".flash")).to_contain_text("消息已发送", timeout=UI_MS)
    chat.wait_for_bot(re.escape(STAFF_REPLY), after=before, timeout=30)

    # While paused the bot says nothing; the dispatcher sees what the resident wrote.
    before = bot_count(chat)
    chat.page.locator("#chat-input").fill("好的，那我等电话")
    chat.page.locator("#chat-input").press("Enter")
    expect(dispatcher.locator("#transcript")).to_contain_text("好的，那我等电话", timeout=UI_MS)
    time.sleep(4)
    assert bot_count(chat) == before

    dispatcher.once("dialog", lambda dialog: dialog.accept())  # 交还给机器人？
    dispatcher.click("#handback-button")
    expect(dispatcher.locator(".flash")).to_contain_text("已交还机器人", timeout=UI_MS)
    chat.wait_for_bot("智能助手继续为您服务", after=before, timeout=30)

    answered = chat.say("我反映的事怎么样了", ".")
    assert answered.strip()
    texts = console_system.tracker_texts(sender)
    assert STAFF_REPLY in texts
