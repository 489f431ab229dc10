"""The administrators' account pages and everyone's own password page, as a browser uses them.

Log-ins here go on to ``/console/password`` (a page of this module) rather than the case queue, so these tests do
not depend on the queue page.
"""

from __future__ import annotations

import re

import pytest

from admin.console.account_pages import FLASH_MESSAGES
from workflow.accounts import generate_password
from admin_support import LEAD_UNIT
from console_support import PASSWORD
from workflow.accounts import MAX_FAILED_LOGINS, check_password_rules

NEW_PASSWORD = "Xinmima2026abc"
_ONE_TIME = re.compile(r'<code class="one-time-password">([^<]+)</code>')
HOME = "/console/password"


async def logged_in(browser, username: str, password: str = PASSWORD):
    """A browser logged in as ``username`` (on the own-password page)."""
    client = await browser()
    page = await client.login(username, password, next_path=HOME)
    assert page.status == 200 and page.path == HOME, (page.status, page.url, page.text[:300])
    return client


async def is_logged_in(client) -> bool:
    page = await client.get(HOME)
    return not page.path.startswith("/console/login")


def message(key: str) -> str:
    return FLASH_MESSAGES[key][0]


def test_generated_passwords_follow_the_rules_and_differ():
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        check_password_rules(password)
        assert re.fullmatch(r"[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}", password)


async def test_an_admin_creates_a_unit_account_and_that_person_logs_in(browser, accounts):
    admin = await logged_in(browser, "admin1")
    form_page = await admin.get("/console/accounts")
    assert form_page.status == 200
    assert "县生态环境分局" in form_page.text and '<optgroup label="王虎寨镇">' in form_page.text
    page = await admin.post("/console/accounts", {
        "username": "Eco-Wang", "display_name": "生态环境分局王干事", "role": "unit", "unit_code": LEAD_UNIT,
        "village_code": "wanghuzhai_xiaohanzhai",  # ignored: only grid workers have a village
        "password_mode": "typed", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
    })
    assert page.status == 200 and page.path == "/console/accounts?done=created"
    assert message("created") in page.text
    row = re.search(r'<tr id="account-\d+">\s*<td>eco-wang</td>.*?</tr>', page.text, re.S)
    assert row, page.text
    assert "生态环境分局王干事" in row.group(0) and "责任单位" in row.group(0) and "县生态环境分局" in row.group(0)
    assert NEW_PASSWORD not in page.text

    person = await logged_in(browser, "eco-wang", NEW_PASSWORD)
    assert "生态环境分局王干事" in (await person.get(HOME)).text
    listed = await admin.get("/console/accounts")
    row = re.search(r'<td>eco-wang</td>.*?</tr>', listed.text, re.S).group(0)
    assert "2026-11-30 09:30" in row  # last log-in, Asia/Shanghai (the frozen clock: 01:30 UTC)


async def test_a_grid_worker_account_shows_its_township_and_village(browser, accounts):
    admin = await logged_in(browser, "admin1")
    page = await admin.post("/console/accounts", {
        "username": "grid-sun", "display_name": "网格员孙丽", "role": "grid_worker", "unit_code": LEAD_UNIT,
        "village_code": "wanghuzhai_xiaohanzhai", "password_mode": "typed", "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    })
    assert page.path == "/console/accounts?done=created"
    row = re.search(r'<td>grid-sun</td>.*?</tr>', page.text, re.S).group(0)
    assert "网格员" in row and "王虎寨镇小韩寨村" in row


@pytest.mark.parametrize("who", ["wangfang", "eco-zhang", "grid-liu"])
async def test_only_administrators_open_the_account_pages(browser, accounts, who):
    client = await logged_in(browser, who)
    assert (await client.get("/console/accounts")).status == 403
    created = await client.post("/console/accounts", {
        "username": "sneaky", "display_name": "x", "role": "admin", "password_mode": "generate"})
    assert created.status == 403
    for action in ("unlock", "password", "disable"):
        assert (await client.post(f"/console/accounts/{accounts.admin.id}/{action}")).status == 403
    assert "账号</a>" not in (await client.get(HOME)).text  # no 账号 tab in the navigation
    admin = await logged_in(browser, "admin1")
    assert "sneaky" not in (await admin.get("/console/accounts")).text


async def test_without_a_session_the_accounts_page_asks_for_a_login(browser, accounts):
    client = await browser()
    page = await client.get("/console/accounts")
    assert page.path.startswith("/console/login?next=")
    assert (await client.post("/console/accounts", {"username": "x"})).status == 401


async def test_a_generated_password_is_shown_once_and_lets_the_person_in(browser, accounts):
    admin = await logged_in(browser, "admin1")
    page = await admin.post("/console/accounts", {
        "username": "wanglei", "display_name": "调度员王磊", "role": "dispatcher", "password_mode": "generate",
        "password": "", "password_confirm": ""})
    assert page.status == 200 and page.path == "/console/accounts"
    assert page.headers["Cache-Control"] == "no-store"
    assert "只在这一页显示一次" in page.text and "当面" in page.text
    password = _ONE_TIME.search(page.text).group(1)
    check_password_rules(password)
    assert password not in (await admin.get("/console/accounts")).text
    await logged_in(browser, "wanglei", password)


async def test_a_typed_password_is_used_even_when_generate_stayed_chosen(browser, accounts):
    admin = await logged_in(browser, "admin1")
    page = await admin.post("/console/accounts", {
        "username": "wanglei", "display_name": "调度员王磊", "role": "dispatcher", "password_mode": "generate",
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert page.path == "/console/accounts?done=created" and "one-time-password" not in page.text
    await logged_in(browser, "wanglei", NEW_PASSWORD)


async def test_bad_input_is_explained_next_to_the_form_and_kept_except_passwords(browser, accounts):
    admin = await logged_in(browser, "admin1")
    typed = {"username": "王芳!", "display_name": "调度员<王>", "role": "dispatcher", "password_mode": "typed",
             "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    page = await admin.post("/console/accounts", typed)
    assert page.status == 422
    assert "用户名须为 3–64 位小写字母" in page.text
    assert 'value="王芳!"' in page.text and 'value="调度员&lt;王&gt;"' in page.text
    assert NEW_PASSWORD not in page.text
    assert re.search(r'<option value="dispatcher" selected>', page.text)
    assert re.search(r'value="typed" checked', page.text)

    mismatch = await admin.post("/console/accounts", typed | {"username": "wangfang2", "password_confirm": "x"})
    assert mismatch.status == 422 and "两次输入的密码不一致" in mismatch.text
    weak = await admin.post("/console/accounts", typed | {"username": "wangfang2", "password": "short1",
                                                           "password_confirm": "short1"})
    assert weak.status == 422 and "密码至少 10 位" in weak.text
    taken = await admin.post("/console/accounts", typed | {"username": "WangFang"})
    assert taken.status == 422 and "该用户名已被使用" in taken.text
    no_unit = await admin.post("/console/accounts", typed | {"username": "unit-x", "role": "unit"})
    assert no_unit.status == 422 and "责任单位账号须选择" in no_unit.text
    bad_unit = await admin.post("/console/accounts", typed | {"username": "unit-x", "role": "unit",
                                                               "unit_code": "no_such_unit"})
    assert bad_unit.status == 422 and "责任单位账号须选择" in bad_unit.text
    no_village = await admin.post("/console/accounts", typed | {"username": "grid-x", "role": "grid_worker"})
    assert no_village.status == 422 and "网格员账号须选择" in no_village.text
    no_role = await admin.post("/console/accounts", typed | {"username": "who-x", "role": "boss"})
    assert no_role.status == 422 and "请选择角色" in no_role.text
    no_name = await admin.post("/console/accounts", typed | {"username": "who-x", "display_name": "  "})
    assert no_name.status == 422 and "请填写显示名" in no_name.text
    assert "Traceback" not in no_name.text
    listed = await admin.get("/console/accounts")
    assert not re.search(r"<td>(wangfang2|unit-x|grid-x|who-x)</td>", listed.text)


async def test_an_admin_unlocks_an_account_locked_by_wrong_passwords(browser, accounts):
    person = await browser()
    for _ in range(MAX_FAILED_LOGINS):
        assert (await person.login("grid-liu", "Wrong2026password")).status == 401
    assert (await person.login("grid-liu")).status == 401  # locked: not even the right password
    admin = await logged_in(browser, "admin1")
    listed = await admin.get("/console/accounts")
    row = re.search(r'<td>grid-liu</td>.*?</tr>', listed.text, re.S).group(0)
    assert "锁定至 2026-11-30 09:45" in row and "解锁" in row
    page = await admin.post(f"/console/accounts/{accounts.grid_worker.id}/unlock")
    assert page.path == "/console/accounts?done=unlocked" and message("unlocked") in page.text
    row = re.search(r'<td>grid-liu</td>.*?</tr>', page.text, re.S).group(0)
    assert "锁定至" not in row
    await logged_in(browser, "grid-liu")


async def test_a_reset_ends_the_other_sessions_and_the_new_password_works(browser, accounts):
    holder = await logged_in(browser, "eco-zhang")
    other_place = await logged_in(browser, "eco-zhang")
    admin = await logged_in(browser, "admin1")
    path = f"/console/accounts/{accounts.lead_unit.id}/password"
    short = await admin.post(path, {"password_mode": "typed", "password": "abc", "password_confirm": "abc"})
    assert short.status == 422 and "密码至少 10 位" in short.text
    assert await is_logged_in(holder)  # nothing changed
    page = await admin.post(path, {"password_mode": "typed", "password": NEW_PASSWORD,
                                   "password_confirm": NEW_PASSWORD})
    assert page.path == "/console/accounts?done=password_reset" and message("password_reset") in page.text
    assert not await is_logged_in(holder) and not await is_logged_in(other_place)
    assert await is_logged_in(admin)
    assert (await (await browser()).login("eco-zhang")).status == 401  # the old password
    await logged_in(browser, "eco-zhang", NEW_PASSWORD)

    generated = await admin.post(path, {"password_mode": "generate"})
    assert generated.status == 200 and "密码已重置" in generated.text
    await logged_in(browser, "eco-zhang", _ONE_TIME.search(generated.text).group(1))


async def test_an_admin_resets_their_own_password_only_on_the_own_password_page(browser, accounts):
    admin = await logged_in(browser, "admin1")
    page = await admin.post(f"/console/accounts/{accounts.admin.id}/password", {"password_mode": "generate"})
    assert page.path == "/console/accounts?done=self_reset" and message("self_reset") in page.text
    assert await is_logged_in(admin)
    await logged_in(browser, "admin1")  # the password is unchanged


async def test_an_admin_cannot_disable_themself_but_disables_others_and_ends_their_sessions(browser, accounts):
    admin = await logged_in(browser, "admin1")
    refused = await admin.post(f"/console/accounts/{accounts.admin.id}/disable")
    assert refused.path == "/console/accounts?done=self_disable" and message("self_disable") in refused.text
    assert await is_logged_in(admin)
    dispatcher = await logged_in(browser, "wangfang")
    page = await admin.post(f"/console/accounts/{accounts.dispatcher.id}/disable")
    assert page.path == "/console/accounts?done=disabled" and message("disabled") in page.text
    row = re.search(r'<td>wangfang</td>.*?</tr>', page.text, re.S).group(0)
    assert "已停用" in row and "重置密码" not in row
    assert not await is_logged_in(dispatcher)
    assert (await (await browser()).login("wangfang")).status == 401
    again = await admin.post(f"/console/accounts/{accounts.dispatcher.id}/disable")
    assert again.path == "/console/accounts?done=already_disabled"


async def test_an_unknown_account_is_404_and_a_form_without_its_token_is_refused(browser, accounts):
    admin = await logged_in(browser, "admin1")
    assert (await admin.post("/console/accounts/999999/unlock")).status == 404
    forged = await admin.post(f"/console/accounts/{accounts.dispatcher.id}/disable", csrf="")
    assert forged.status == 403
    assert "已停用" not in re.search(r'<td>wangfang</td>.*?</tr>', (await admin.get("/console/accounts")).text,
                                     re.S).group(0)


async def test_a_flash_shows_only_messages_of_the_fixed_dictionary(browser, accounts):
    admin = await logged_in(browser, "admin1")
    page = await admin.get("/console/accounts", {"done": "<script>alert(1)</script>"})
    assert page.status == 200 and "<script>alert" not in page.text and 'class="flash' not in page.text


async def test_anyone_changes_their_own_password_and_their_other_sessions_end(browser, accounts):
    me = await logged_in(browser, "grid-liu")
    elsewhere = await logged_in(browser, "grid-liu")
    wrong = await me.post(HOME, {"current_password": "Wrong2026password", "new_password": NEW_PASSWORD,
                                 "new_password_confirm": NEW_PASSWORD})
    assert wrong.status == 422 and "当前密码不正确" in wrong.text and NEW_PASSWORD not in wrong.text
    mismatch = await me.post(HOME, {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                    "new_password_confirm": NEW_PASSWORD + "x"})
    assert mismatch.status == 422 and "两次输入的密码不一致" in mismatch.text
    same = await me.post(HOME, {"current_password": PASSWORD, "new_password": PASSWORD,
                                "new_password_confirm": PASSWORD})
    assert same.status == 422 and "新密码不能与当前密码相同" in same.text
    weak = await me.post(HOME, {"current_password": PASSWORD, "new_password": "onlyletters",
                                "new_password_confirm": "onlyletters"})
    assert weak.status == 422 and "须同时包含字母和数字" in weak.text

    page = await me.post(HOME, {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                "new_password_confirm": NEW_PASSWORD})
    assert page.path == HOME + "?done=own_password_changed" and message("own_password_changed") in page.text
    assert await is_logged_in(me)  # this browser got a fresh session
    assert not await is_logged_in(elsewhere)
    assert (await (await browser()).login("grid-liu")).status == 401
    await logged_in(browser, "grid-liu", NEW_PASSWORD)


async def test_wrong_current_passwords_lock_the_account_like_wrong_logins(browser, accounts):
    me = await logged_in(browser, "wangfang")
    for _ in range(MAX_FAILED_LOGINS):
        page = await me.post(HOME, {"current_password": "Wrong2026password", "new_password": NEW_PASSWORD,
                                    "new_password_confirm": NEW_PASSWORD})
    assert page.status == 422
    assert not await is_logged_in(me)  # locked: the session ends with it
    assert (await (await browser()).login("wangfang")).status == 401
