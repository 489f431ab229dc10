"""Bearer-token protection for the management API (every route under ``/api``).

Two kinds of token are accepted: the shared secret from ``Settings.admin_token`` (env
``JUHAOBAN_ADMIN_TOKEN``, the launcher generates it; role ``admin``) and the role-scoped tokens of
``api_tokens`` (:mod:`workflow.api_tokens`: dispatcher, unit, admin), looked up on every request so a
revoked token is refused at once. Clients send ``Authorization: Bearer <token>`` (RFC 6750 §2.1).
Missing, wrong or revoked credentials get a 401 JSON error with a ``WWW-Authenticate: Bearer``
challenge (RFC 6750 §3). The holder is put on ``request.ctx.principal`` (:class:`admin.tokens.Principal`);
what each role may do is checked by the views through :mod:`admin.tokens`.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from typing import Awaitable, Callable, Optional

from sanic.request import Request
from sanic.response import HTTPResponse

from admin.responses import error_response
from admin.tokens import Principal
from workflow.api_tokens import find_active_token

API_PREFIX = "/api"
REALM = "juhaoban-admin"
GENERATE_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"

RequestMiddleware = Callable[[Request], Awaitable[Optional[HTTPResponse]]]

# RFC 7235: the auth scheme is case-insensitive; RFC 6750 token68 characters follow one space or more.
_BEARER = re.compile(r"^\s*bearer\s+(\S+)\s*$", re.IGNORECASE)
_REPEATED_SLASHES = re.compile(r"/{2,}")


class AdminTokenMissing(RuntimeError):
    """Raised at start-up when no admin token is configured: the API never runs unprotected."""

    def __init__(self) -> None:
        super().__init__(
            "JUHAOBAN_ADMIN_TOKEN is not set: the admin API refuses to start without a bearer "
            f"token. Generate one (e.g. `{GENERATE_HINT}`), export it as JUHAOBAN_ADMIN_TOKEN and "
            "give it to the console's clients."
        )


def require_admin_token(token: str | None) -> str:
    """Return the configured admin token, refusing to go on without one.

    Args:
        token: ``Settings.admin_token``; surrounding whitespace (a stray newline from a secrets
            file) is not part of the token.

    Returns:
        The token, stripped.

    Raises:
        AdminTokenMissing: ``token`` is None, empty or only whitespace.
    """
    cleaned = (token or "").strip()
    if not cleaned:
        raise AdminTokenMissing()
    return cleaned


def bearer_token_middleware(token: str) -> RequestMiddleware:
    """Build the request middleware that guards every ``/api`` route.

    The shared ``token`` is compared with :func:`hmac.compare_digest` so response timing does not
    reveal how much of a guessed token was right; any other token is looked up by its SHA-256 digest
    in ``api_tokens`` (on ``request.app.ctx.session_factory``, in a worker thread). A request is
    guarded when its matched route lies under ``/api`` or, for requests matching no route, when its
    path does: an unauthenticated client therefore learns nothing about which ``/api`` paths exist
    (it gets 401, never 404).

    Args:
        token: The shared admin token (from :func:`require_admin_token`).

    Returns:
        An async ``request -> response | None`` middleware: None lets the request through with
        ``request.ctx.principal`` set, a 401 response ends it.
    """
    expected = token.encode("utf-8")

    async def check_bearer_token(request: Request) -> Optional[HTTPResponse]:
        if not _is_protected(request):
            return None
        presented = _extract_bearer_token(request.headers.get("authorization"))
        if presented is None:
            return _unauthorized("Send an API token as `Authorization: Bearer <token>`.", None)
        if hmac.compare_digest(presented.encode("utf-8"), expected):
            request.ctx.principal = Principal.shared_admin()
            return None
        stored = await asyncio.to_thread(find_active_token, request.app.ctx.session_factory, presented)
        if stored is None:
            return _unauthorized("The bearer token is not valid (unknown or revoked).", "invalid_token")
        request.ctx.principal = Principal.from_token(stored)
        return None

    return check_bearer_token


def _is_protected(request: Request) -> bool:
    route = request.route
    if route is not None:
        route_path = "/" + route.path.lstrip("/")
        return _under_api(route_path)
    return _under_api(_REPEATED_SLASHES.sub("/", request.path))


def _under_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _extract_bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    match = _BEARER.match(header)
    return match.group(1) if match else None


def _unauthorized(message: str, error: str | None) -> HTTPResponse:
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}"'
    return error_response(
        401, "unauthorized", message, headers={"WWW-Authenticate": challenge}
    )
