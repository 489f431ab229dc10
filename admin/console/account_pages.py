"""Console accounts: the administrators' account pages and everyone's own password page.

Routes (administrators only, except the last two):

- ``GET /console/accounts``: every account (user name, display name, role, unit or village, last log-in in
  Asia/Shanghai, locked / disabled) and the form to create one.
- ``POST /console/accounts``: create an account. The initial password is typed twice, or generated
  (:func:`generate_password`) and shown once on the answer page, to be handed over in person.
- ``POST /console/accounts/<id>/unlock``: lift a lock-out.
- ``POST /console/accounts/<id>/password``: reset a password (typed twice, or generated and shown once); every
  session of that account ends. An administrator changes their own password on ``/console/password`` instead.
- ``POST /console/accounts/<id>/disable``: disable an account and end its sessions (never one's own).
- ``GET/POST /console/password``: any logged-in account changes its own password: the current one is checked as
  at log-in (a wrong one counts towards the lock-out), the account's other sessions end, this browser gets a new
  session.

Every action answers ``303 See Other`` to ``/console/accounts?done=<key>`` (or ``/console/password?done=…``); the
page shows the message of :data:`FLASH_MESSAGES` for the key, never text from the URL. Two answers are not
redirects: a form with errors (422, the page again with the message next to the field and what was typed, passwords
excepted), and a generated password (200, shown on that one answer only; ``Cache-Control: no-store`` like every
console page, so the browser keeps no copy).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Mapping

from sanic import Blueprint
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from admin.console.session import PREFIX, SESSION_COOKIE, SESSION_MAX_AGE, page, session_of, set_cookie
from admin.console.templating import render_page
from workflow.accounts import generate_password
from workflow.accounts import (
    LOCKOUT_SECONDS,
    MAX_FAILED_LOGINS,
    MIN_PASSWORD_LENGTH,
    AccountExists,
    AccountNotFound,
    AccountRole,
    AccountView,
    InvalidAccount,
    LoginFailed,
    check_password_rules,
)

ACCOUNTS_PATH = PREFIX + "/accounts"
PASSWORD_PATH = PREFIX + "/password"

#: Characters of generated passwords: letters and digits without the look-alikes 0 O o 1 l I.

#: ``?done=`` keys and their messages: (text, kind); kind ``ok`` or ``error`` (the flash's style).
FLASH_MESSAGES: Mapping[str, tuple[str, str]] = {
    "created": ("账号已创建。请把初始密码当面交给使用人，并提醒其登录后在“修改密码”中改掉。", "ok"),
    "unlocked": ("账号已解锁，可以重新登录。", "ok"),
    "password_reset": ("密码已重置，该账号已登录的页面全部退出。请把新密码当面交给使用人。", "ok"),
    "disabled": ("账号已停用，该账号已登录的页面全部退出。", "ok"),
    "self_disable": ("不能停用自己的账号。", "error"),
    "self_reset": ("自己的密码请在“修改密码”页面修改。", "error"),
    "already_disabled": ("该账号已停用，未做任何操作。", "error"),
    "own_password_changed": ("密码已修改。您在其他地方登录的页面已全部退出。", "ok"),
}

#: Chinese messages for :class:`~workflow.accounts.InvalidAccount` by its ``field``, and for the page's own checks.
FIELD_MESSAGES: Mapping[str, str] = {
    "username": "用户名须为 3–64 位小写字母、数字或 _ . -，并以字母或数字开头。",
    "display_name": "请填写显示名（1–128 个字），如“调度员王芳”。",
    "role": "请选择角色。",
    "unit_code": "责任单位账号须选择一个在用的责任单位。",
    "village_code": "网格员账号须选择所在的村（社区）。",
    "password": f"密码至少 {MIN_PASSWORD_LENGTH} 位，须同时包含字母和数字，首尾不能有空格，最多 256 位。",
    "password_confirm": "两次输入的密码不一致。",
    "current_password": "当前密码不正确。",
    "same_password": "新密码不能与当前密码相同。",
    "exists": "该用户名已被使用，请换一个。",
}

_UNIT_GROUPS = (("county", "县直部门"), ("township", "乡镇"), ("enterprise", "企业"))


def register(blueprint: Blueprint) -> None:
    """Add the account routes to the console blueprint."""
    blueprint.add_route(account_list, "/accounts", methods=["GET"])
    blueprint.add_route(create_account, "/accounts", methods=["POST"])
    blueprint.add_route(unlock_account, "/accounts/<account_id:int>/unlock", methods=["POST"])
    blueprint.add_route(reset_password, "/accounts/<account_id:int>/password", methods=["POST"])
    blueprint.add_route(disable_account, "/accounts/<account_id:int>/disable", methods=["POST"])
    blueprint.add_route(own_password_form, "/password", methods=["GET"])
    blueprint.add_route(change_own_password, "/password", methods=["POST"])


# --------------------------------------------------------------------------------------------- helpers

def _form(request: Request) -> Any:
    return request.form or {}


def _field(form: Any, name: str, limit: int = 256) -> str:
    return (form.get(name) or "").strip()[:limit]


def _done(path: str, key: str) -> HTTPResponse:
    return redirect(f"{path}?done={key}", status=303)


def _flash(request: Request) -> tuple[str, str] | None:
    return FLASH_MESSAGES.get(request.args.get("done") or "")


def _now(request: Request):
    return request.app.ctx.lifecycle.now()


def _error_message(error: Exception) -> tuple[str, str]:
    """(field, Chinese message) of an error from :mod:`workflow.accounts`."""
    if isinstance(error, AccountExists):
        return "username", FIELD_MESSAGES["exists"]
    field = getattr(error, "context", {}).get("field") if isinstance(error, InvalidAccount) else None
    field = field or "form"
    return field, FIELD_MESSAGES.get(field, "填写的内容不符合要求，请检查后重试。")


@dataclass(frozen=True)
class _Row:
    """One line of the account list."""

    account: AccountView
    place: str
    locked: bool
    is_me: bool


def _place(account: AccountView, reference: Any) -> str:
    if account.unit_code:
        unit = reference.units.get(account.unit_code)
        return unit.name if unit else account.unit_code
    if account.village_code:
        village = reference.gazetteer.village(account.village_code)
        if village is None:
            return account.village_code
        township = reference.gazetteer.township(village.township_code)
        return f"{township.name}{village.name}" if township else village.name
    return "—"


def _unit_groups(reference: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    groups = []
    for level, label in _UNIT_GROUPS:
        units = [(unit.code, unit.name) for unit in reference.units.values() if unit.level == level]
        if units:
            groups.append((label, units))
    return groups


def _village_groups(reference: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    gazetteer = reference.gazetteer
    groups = []
    for township in gazetteer.townships:
        villages = [(village.code, village.name) for village in gazetteer.villages_of(township.code)]
        if villages:
            groups.append((township.name, villages))
    return groups


async def _accounts_page(request: Request, *, status: int = 200, form: Mapping[str, str] | None = None,
                         errors: Mapping[str, str] | None = None,
                         row_errors: Mapping[int, str] | None = None) -> HTTPResponse:
    reference = request.app.ctx.reference
    me = session_of(request).account
    now = _now(request)
    accounts = await asyncio.to_thread(request.app.ctx.accounts.list)
    rows = [_Row(account, _place(account, reference), account.is_locked(now), account.id == me.id)
            for account in accounts]
    return render_page(
        request, "accounts.html", status=status, rows=rows, flash=_flash(request) if status == 200 else None,
        form=dict(form or {}), errors=dict(errors or {}), row_errors=dict(row_errors or {}),
        roles=list(AccountRole), unit_groups=_unit_groups(reference), village_groups=_village_groups(reference),
        min_password_length=MIN_PASSWORD_LENGTH,
    )


async def _load(request: Request, account_id: int) -> AccountView:
    try:
        return await asyncio.to_thread(request.app.ctx.accounts.get, account_id)
    except AccountNotFound:
        raise NotFound("no such account") from None


def _wants_typed(form: Any) -> bool:
    """Whether the form asks for the typed password: 自己输入 chosen, or a password typed whatever the choice (a typed
    password is never silently replaced by a generated one)."""
    return form.get("password_mode") == "typed" or bool(form.get("password") or form.get("password_confirm"))


def _typed_password(form: Any, name: str = "password") -> tuple[str | None, str | None]:
    """(password, error field): the password typed twice, checked against the rules."""
    password = form.get(name) or ""
    if password != (form.get(name + "_confirm") or ""):
        return None, "password_confirm"
    try:
        check_password_rules(password)
    except InvalidAccount:
        return None, "password"
    return password, None


# --------------------------------------------------------------------------------------------- admin pages

@page(AccountRole.ADMIN)
async def account_list(request: Request) -> HTTPResponse:
    """The account list and the create form."""
    return await _accounts_page(request)


@page(AccountRole.ADMIN)
async def create_account(request: Request) -> HTTPResponse:
    """Create an account from the form; a generated password is shown on this answer only."""
    form = _form(request)
    typed = {
        "username": _field(form, "username", 64),
        "display_name": _field(form, "display_name", 128),
        "role": _field(form, "role", 32),
        "unit_code": _field(form, "unit_code", 64),
        "village_code": _field(form, "village_code", 64),
        "password_mode": "typed" if _wants_typed(form) else "generate",
    }
    try:
        role = AccountRole(typed["role"])
    except ValueError:
        return await _accounts_page(request, status=422, form=typed, errors={"role": FIELD_MESSAGES["role"]})
    if typed["password_mode"] == "typed":
        password, problem = _typed_password(form)
        if problem:
            return await _accounts_page(request, status=422, form=typed, errors={problem: FIELD_MESSAGES[problem]})
    else:
        password = generate_password()
    try:
        account = await asyncio.to_thread(
            request.app.ctx.accounts.create, typed["username"], password, role=role,
            display_name=typed["display_name"],
            unit_code=typed["unit_code"] if role is AccountRole.UNIT else None,
            village_code=typed["village_code"] if role is AccountRole.GRID_WORKER else None,
        )
    except (InvalidAccount, AccountExists) as error:
        field, message = _error_message(error)
        return await _accounts_page(request, status=422, form=typed, errors={field: message})
    if typed["password_mode"] == "typed":
        return _done(ACCOUNTS_PATH, "created")
    return render_page(request, "account_password_shown.html", account=account,
                       place=_place(account, request.app.ctx.reference), password=password, created=True)


@page(AccountRole.ADMIN)
async def unlock_account(request: Request, account_id: int) -> HTTPResponse:
    """Lift the account's lock-out."""
    await _load(request, account_id)
    await asyncio.to_thread(request.app.ctx.accounts.unlock, account_id)
    return _done(ACCOUNTS_PATH, "unlocked")


@page(AccountRole.ADMIN)
async def reset_password(request: Request, account_id: int) -> HTTPResponse:
    """Reset the account's password (typed twice or generated) and end all its sessions."""
    account = await _load(request, account_id)
    if account.id == session_of(request).account.id:
        return _done(ACCOUNTS_PATH, "self_reset")
    if account.disabled:
        return _done(ACCOUNTS_PATH, "already_disabled")
    form = _form(request)
    generated = not _wants_typed(form)
    if generated:
        password = generate_password()
    else:
        password, problem = _typed_password(form)
        if problem:
            return await _accounts_page(request, status=422, row_errors={account_id: FIELD_MESSAGES[problem]})
    accounts, sessions = request.app.ctx.accounts, request.app.ctx.console_sessions
    await asyncio.to_thread(accounts.set_password, account_id, password)
    await asyncio.to_thread(sessions.end_all, account_id)
    if not generated:
        return _done(ACCOUNTS_PATH, "password_reset")
    return render_page(request, "account_password_shown.html", account=account,
                       place=_place(account, request.app.ctx.reference), password=password, created=False)


@page(AccountRole.ADMIN)
async def disable_account(request: Request, account_id: int) -> HTTPResponse:
    """Disable the account and end all its sessions (an administrator cannot disable themself)."""
    account = await _load(request, account_id)
    if account.id == session_of(request).account.id:
        return _done(ACCOUNTS_PATH, "self_disable")
    if account.disabled:
        return _done(ACCOUNTS_PATH, "already_disabled")
    await asyncio.to_thread(request.app.ctx.accounts.disable, account_id)
    await asyncio.to_thread(request.app.ctx.console_sessions.end_all, account_id)
    return _done(ACCOUNTS_PATH, "disabled")


# --------------------------------------------------------------------------------------------- own password

def _password_page(request: Request, *, status: int = 200, errors: Mapping[str, str] | None = None) -> HTTPResponse:
    return render_page(request, "password.html", status=status, errors=dict(errors or {}),
                       flash=_flash(request) if status == 200 else None, min_password_length=MIN_PASSWORD_LENGTH,
                       max_failed=MAX_FAILED_LOGINS, lockout_minutes=LOCKOUT_SECONDS // 60)


@page()
async def own_password_form(request: Request) -> HTTPResponse:
    """The form to change one's own password."""
    return _password_page(request)


@page()
async def change_own_password(request: Request) -> HTTPResponse:
    """Check the current password (as at log-in), set the new one, end the other sessions, renew this one.

    A wrong current password counts towards the lock-out like a wrong log-in: a borrowed, still logged-in browser
    must not become a way to guess the password. At the limit the account locks and this session ends with it.
    """
    form = _form(request)
    me = session_of(request).account
    current = form.get("current_password") or ""
    new, problem = _typed_password(form, "new_password")
    if problem:
        field = "new_password" if problem == "password" else "new_password_confirm"
        return _password_page(request, status=422, errors={field: FIELD_MESSAGES[problem]})
    if new == current:
        return _password_page(request, status=422, errors={"new_password": FIELD_MESSAGES["same_password"]})
    accounts, sessions = request.app.ctx.accounts, request.app.ctx.console_sessions
    client_ip = request.remote_addr or request.ip or None
    try:
        account = await asyncio.to_thread(accounts.authenticate, me.username, current, client_ip=client_ip)
    except LoginFailed:
        return _password_page(request, status=422,
                              errors={"current_password": FIELD_MESSAGES["current_password"]})
    account = await asyncio.to_thread(accounts.set_password, account.id, new)
    await asyncio.to_thread(sessions.end_all, account.id)
    token, _session = await asyncio.to_thread(sessions.start, account, client_ip=client_ip)
    response = _done(PASSWORD_PATH, "own_password_changed")
    set_cookie(response, request, SESSION_COOKIE, token, max_age=SESSION_MAX_AGE)
    return response
