"""Logging in and out of the console: sessions, cookies, CSRF, lock-out as the browser sees them."""

from __future__ import annotations

import pytest

from console_support import PASSWORD, ConsoleBrowser
from workflow.accounts import MAX_FAILED_LOGINS


async def test_a_page_without_a_session_sends_the_browser_to_the_login_page(browser, accounts):
    client = await browser()
    page = await client.get("/console/cases?status=reported")
    assert page.status == 200 and page.path.startswith("/console/login?next=")
    assert "登录调度台" in page.text


async def test_login_goes_on_to_the_page_asked_for_and_logout_ends_the_session(browser, accounts):
    client = await browser()
    page = await client.login("wangfang", next_path="/console/cases")
    assert page.path.startswith("/console/cases")
    assert "调度员王芳" in page.text
    cookie = next(c for c in client.session.cookie_jar if c.key == "jhb_console")
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/console"
    out = await client.post("/console/logout")
    assert out.path.startswith("/console/login")
    again = await client.get("/console/cases")
    assert again.path.startswith("/console/login")


async def test_next_never_leads_to_another_site(browser, accounts):
    client = await browser()
    page = await client.login("wangfang", next_path="//evil.example.com/x")
    assert page.path.startswith("/console/cases")


async def test_a_wrong_password_shows_one_message_and_the_account_locks(browser, accounts):
    client = await browser()
    for _ in range(MAX_FAILED_LOGINS):
        page = await client.login("wangfang", "Wrong2026password")
        assert page.status == 401 and "用户名或密码错误，或账号已被锁定" in page.text
    unknown = await client.login("nosuchuser", "Wrong2026password")
    assert unknown.status == 401 and "用户名或密码错误，或账号已被锁定" in unknown.text
    locked = await client.login("wangfang", PASSWORD)
    assert locked.status == 401


async def test_the_login_form_needs_its_own_token(browser, accounts):
    client = await browser()
    page = await client.post("/console/login", {"username": "wangfang", "password": PASSWORD}, csrf="")
    assert page.status == 403 and "页面已过期" in page.text
    assert "Traceback" not in page.text


async def test_a_form_without_the_session_csrf_token_is_refused(browser, accounts):
    client = await browser("wangfang")
    page = await client.post("/console/logout", csrf="")
    assert page.status == 403
    forged = await client.post("/console/logout", csrf="not-the-token")
    assert forged.status == 403
    still = await client.get("/console/cases")
    assert not still.path.startswith("/console/login")


async def test_a_post_from_another_origin_is_refused_even_with_the_token(browser, accounts):
    client = await browser("wangfang")
    page = await client.post("/console/logout", headers={"Origin": "https://evil.example.com"})
    assert page.status == 403


async def test_an_unknown_console_page_is_a_chinese_page_not_json(browser, accounts):
    client = await browser("wangfang")
    page = await client.get("/console/no-such-page")
    assert page.status == 404 and "没有这个页面" in page.text
    assert page.headers["Content-Type"].startswith("text/html")


async def test_pages_carry_the_security_headers(browser, accounts):
    client = await browser()
    page = await client.get("/console/login")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
