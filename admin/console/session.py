"""Who is logged in to the console, and the guards every console route goes through.

- :func:`console_session_middleware` (a request middleware on the whole app, acting under ``/console`` only) reads
  the session cookie and puts the live session on ``request.ctx.console`` (a
  :class:`workflow.console_sessions.SessionView`) or None; for every unsafe method (POST …) it checks the CSRF
  token, sent as the form field ``csrf_token`` or the header ``X-CSRF-Token``, against the session's, and an
  ``Origin`` header, when the browser sends one, against the page's own host. The log-in form, which has no session
  yet, carries a double-submit token instead (a cookie and the same value in the form).
- :func:`page` decorates a view with the roles that may open it: no session → the log-in page (GET) or 401; a role
  not listed → 403 (:class:`ConsoleForbidden`).

Cookies are ``HttpOnly``, ``SameSite=Strict``, path ``/console``, and ``Secure`` except on plain HTTP to a loopback
address (a developer's own machine, where browsers treat ``http://127.0.0.1`` as secure anyway);
``JUHAOBAN_CONSOLE_ALLOW_HTTP=1`` also drops ``Secure`` for a trial on a LAN without TLS (never in production).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import ipaddress
import os
import secrets
import urllib.parse
from typing import Any, Awaitable, Callable, Iterable, Optional

from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from workflow.accounts import AccountRole
from workflow.console_sessions import MAX_AGE_SECONDS, SessionView
from workflow.exceptions import JuhaobanError

PREFIX = "/console"
SESSION_COOKIE = "jhb_console"
LOGIN_CSRF_COOKIE = "jhb_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOGIN_PATH = PREFIX + "/login"

View = Callable[..., Awaitable[HTTPResponse]]


class ConsoleUnauthenticated(JuhaobanError):
    """No live console session (never logged in, logged out, expired). Answered by the log-in page or 401."""

    code = "not_logged_in"


class ConsoleForbidden(JuhaobanError):
    """The logged-in account's role or scope does not allow this page or action. Context: ``role``, ``action``."""

    code = "forbidden"


class CsrfRejected(JuhaobanError):
    """An unsafe request without the session's CSRF token, or from another origin (403)."""

    code = "csrf_rejected"


def _under_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cookie_is_secure(request: Request) -> bool:
    """Whether the console's cookies get the ``Secure`` attribute on this request (see the module docstring)."""
    if request.scheme == "https":
        return True
    if os.environ.get("JUHAOBAN_CONSOLE_ALLOW_HTTP") == "1":
        return False
    return not _is_loopback(request.host or "")


def set_cookie(response: HTTPResponse, request: Request, name: str, value: str, *, max_age: int) -> None:
    """Set one of the console's cookies with the attributes of the module docstring."""
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["path"] = PREFIX
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["max-age"] = max_age
    if cookie_is_secure(request):
        cookie["secure"] = True


def clear_cookie(response: HTTPResponse, request: Request, name: str) -> None:
    """Expire one of the console's cookies in the browser."""
    set_cookie(response, request, name, "", max_age=0)


def new_login_csrf() -> str:
    """A fresh double-submit token for the log-in form."""
    return secrets.token_urlsafe(24)


def console_session_middleware() -> Callable[[Request], Awaitable[Optional[HTTPResponse]]]:
    """The request middleware described in the module docstring (register it on the app)."""

    async def load_console_session(request: Request) -> Optional[HTTPResponse]:
        request.ctx.console = None
        if not _under_console(request.path):
            return None
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            request.ctx.console = await asyncio.to_thread(request.app.ctx.console_sessions.find, token)
        if request.method not in _SAFE_METHODS:
            _check_origin(request)
            if request.path != _LOGIN_PATH:
                _check_csrf(request, request.ctx.console)
        return None

    return load_console_session


def _presented_csrf(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = request.form if request.content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")) else None
    return (form.get(CSRF_FIELD) if form else None) or ""


def _check_csrf(request: Request, session: SessionView | None) -> None:
    if session is None:
        return  # the view answers 401 / the log-in page; there is nothing to forge without a session
    if not hmac.compare_digest(_presented_csrf(request).encode(), session.csrf_token.encode()):
        raise CsrfRejected("the form's CSRF token is missing or wrong (reload the page)")


def check_login_csrf(request: Request) -> None:
    """Check the log-in form's double-submit token. Raises :class:`CsrfRejected`."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not cookie or not hmac.compare_digest(cookie.encode(), _presented_csrf(request).encode()):
        raise CsrfRejected("the log-in form's token is missing or wrong (reload the page)")


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if not origin:
        return  # older browsers and non-browser clients send none; the CSRF token still guards the request
    if origin == "null" or urllib.parse.urlsplit(origin).netloc != (request.host or ""):
        raise CsrfRejected("a request from another site was refused", origin=origin[:100])


def session_of(request: Request) -> SessionView:
    """The live session of a request that passed :func:`page`."""
    return request.ctx.console


def page(*roles: AccountRole) -> Callable[[View], View]:
    """Decorate a console view with the roles that may use it (none given: every logged-in account).

    Raises (from the wrapped view):
        ConsoleUnauthenticated: No session (a GET is redirected to the log-in page instead, with ``next``).
        ConsoleForbidden: The account's role is not one of ``roles``.
    """
    allowed = frozenset(roles)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            session = getattr(request.ctx, "console", None)
            if session is None:
                if request.method == "GET" and not request.path.endswith(".json"):
                    target = request.path + (f"?{request.query_string}" if request.query_string else "")
                    return redirect(f"{_LOGIN_PATH}?{urllib.parse.urlencode({'next': target})}")
                raise ConsoleUnauthenticated("log in first")
            if allowed and session.account.role not in allowed:
                raise ConsoleForbidden(
                    f"a {session.account.role.value} account may not open {request.path}",
                    role=session.account.role.value, action=view.__name__,
                )
            return await view(request, *args, **kwargs)

        guarded.console_roles = allowed  # read by the route × role test
        return guarded

    return decorate


def safe_next(target: str | None) -> str:
    """Where to go after log-in: a path inside the console only (never another site: open-redirect safe)."""
    if not target or not target.startswith(PREFIX + "/") or target.startswith("//") or "\\" in target:
        return PREFIX + "/cases"
    parsed = urllib.parse.urlsplit(target)
    if parsed.scheme or parsed.netloc:
        return PREFIX + "/cases"
    return target


def all_roles() -> Iterable[AccountRole]:
    """Every account role (for the route × role table)."""
    return tuple(AccountRole)


SESSION_MAX_AGE = MAX_AGE_SECONDS
