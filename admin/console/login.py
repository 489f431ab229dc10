"""Log-in and log-out of the console: ``GET/POST /console/login``, ``POST /console/logout``, ``GET /console``.

A wrong password, an unknown name and a locked account get the same page ("用户名或密码错误，或账号已被锁定");
the lock-out itself is :mod:`workflow.accounts`'. A successful log-in replaces any session the browser had (no
session fixation) and goes to ``next`` when it is a console path, else the account's home page.
"""

from __future__ import annotations

import asyncio

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from admin.console.session import (
    LOGIN_CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    check_login_csrf,
    clear_cookie,
    new_login_csrf,
    page,
    safe_next,
    set_cookie,
)
from admin.console.templating import render_page
from workflow.accounts import MAX_FAILED_LOGINS, LoginFailed

_LOGIN_CSRF_AGE = 3600


def register(blueprint: Blueprint) -> None:
    """Add the log-in routes to the console blueprint."""
    blueprint.add_route(home, "", methods=["GET"], strict_slashes=False)
    blueprint.add_route(login_form, "/login", methods=["GET"])
    blueprint.add_route(login, "/login", methods=["POST"])
    blueprint.add_route(logout, "/logout", methods=["POST"])


def _client_ip(request: Request) -> str | None:
    return request.remote_addr or request.ip or None


def _login_page(request: Request, *, error: str | None = None, username: str = "", status: int = 200) -> HTTPResponse:
    token = new_login_csrf()
    posted = request.form.get("next") if request.method == "POST" and request.form else None
    response = render_page(request, "login.html", status=status, csrf_token=token, error=error, username=username,
                      next=safe_next(posted or request.args.get("next")), max_failed=MAX_FAILED_LOGINS)
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=_LOGIN_CSRF_AGE)
    return response


async def login_form(request: Request) -> HTTPResponse:
    """The log-in page (a logged-in account goes straight on)."""
    if request.ctx.console is not None:
        return redirect(safe_next(request.args.get("next")))
    return _login_page(request)


async def login(request: Request) -> HTTPResponse:
    """Check the form (double-submit token, user name, password); start a session and set its cookie."""
    check_login_csrf(request)
    form = request.form or {}
    username = (form.get("username") or "").strip()[:64]
    password = form.get("password") or ""
    accounts = request.app.ctx.accounts
    try:
        account = await asyncio.to_thread(accounts.authenticate, username, password, client_ip=_client_ip(request))
    except LoginFailed:
        return _login_page(request, error="用户名或密码错误，或账号已被锁定。", username=username, status=401)
    sessions = request.app.ctx.console_sessions
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await asyncio.to_thread(sessions.end, old)
    token, _session = await asyncio.to_thread(sessions.start, account, client_ip=_client_ip(request))
    response = redirect(safe_next(form.get("next")), status=303)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=SESSION_MAX_AGE)
    clear_cookie(response, request, LOGIN_CSRF_COOKIE)
    return response


@page()
async def logout(request: Request) -> HTTPResponse:
    """End the session (its CSRF token was checked by the middleware) and go back to the log-in page."""
    await asyncio.to_thread(request.app.ctx.console_sessions.end, request.cookies.get(SESSION_COOKIE))
    response = redirect(PREFIX + "/login", status=303)
    clear_cookie(response, request, SESSION_COOKIE)
    return response


@page()
async def home(request: Request) -> HTTPResponse:
    """The console's front door: the case queue (every role starts there)."""
    return redirect(PREFIX + "/cases")
