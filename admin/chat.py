"""The residents' web chat page (no authentication): ``GET /chat`` and its static files under ``/chat/static/``.

The page (``admin/templates/chat.html``, ``admin/static/chat.js``, ``admin/static/chat.css``) talks to the Rasa
server's socket.io channel (``bot.channels.webchat.WebChatInput``, channel name ``socketio``) directly from the
browser; this server only hands out the files. The socket.io client (``admin/static/socket.io.min.js``,
socket.io-client 4.x, MIT: ``socket.io.LICENSE.txt``) is served from here too, so the page loads nothing from any
other address.

Where the page connects: ``JUHAOBAN_CHAT_SOCKET_URL`` (the Rasa server's base URL as the browser reaches it, e.g.
``https://www.julu.gov.cn/juhaoban-bot`` behind a proxy; its path, if any, is where Rasa is mounted and socket.io
lives at ``<path>/socket.io``). Unset: the page's own host on port 5005, with the page's scheme. The value is
checked at start-up and written HTML-escaped into the page's ``data-socket-url``. A ``?socket=`` query parameter may
point one page at another port of the same host (``docs/webchat.md``), never at another host.

The files are read once when the blueprint is built; each asset URL carries a hash of its content (``?v=``), so a
browser never keeps a stale script after an update while the files themselves may be cached.
"""

from __future__ import annotations

import hashlib
import html
import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from sanic import Blueprint
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse, raw

ENV_VAR = "JUHAOBAN_CHAT_SOCKET_URL"
STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATE = Path(__file__).resolve().parent / "templates" / "chat.html"
STATIC_PREFIX = "/chat/static"

#: The files under ``/chat/static/`` and their content types; nothing else in ``admin/static`` is served.
ASSET_TYPES: Mapping[str, str] = {
    "chat.js": "text/javascript; charset=utf-8",
    "chat.css": "text/css; charset=utf-8",
    "socket.io.min.js": "text/javascript; charset=utf-8",
    "socket.io.LICENSE.txt": "text/plain; charset=utf-8",
}
# The assets' URLs carry their content hash, so a day of caching never serves a stale file to the page.
_ASSET_CACHE_CONTROL = "public, max-age=86400"
# Scripts and styles only from here (the page has no inline script); the socket may be on any origin, since
# JUHAOBAN_CHAT_SOCKET_URL names it. No frame-ancestors: counties embed the page in their own sites.
_PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' http: https: ws: wss:; object-src 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class ChatSocketUrlInvalid(ValueError):
    """Raised at start-up when ``JUHAOBAN_CHAT_SOCKET_URL`` is not an http(s) URL or a path on the same origin."""

    def __init__(self, value: str) -> None:
        super().__init__(
            f"{ENV_VAR}={value!r} is not usable: give the Rasa server's base URL as browsers reach it, "
            "e.g. http://bot.example.cn:5005 or https://www.example.cn/juhaoban-bot (no query, no fragment, "
            "no user name), or a path such as /juhaoban-bot when a proxy serves Rasa on the page's own origin; "
            "unset, the page uses its own host on port 5005."
        )


@dataclass(frozen=True)
class Asset:
    """One static file: its bytes, content type and a short hash of its content (the ``?v=`` of its URL)."""

    body: bytes
    content_type: str
    version: str

    @classmethod
    def read(cls, name: str) -> "Asset":
        """Read ``admin/static/<name>``; its type comes from :data:`ASSET_TYPES`."""
        body = (STATIC_DIR / name).read_bytes()
        return cls(body, ASSET_TYPES[name], hashlib.sha256(body).hexdigest()[:12])


def check_socket_url(value: str) -> str:
    """Return ``value`` without surrounding whitespace if the page can connect to it.

    Args:
        value: An absolute ``http``/``https`` URL with a host (a path is where Rasa is mounted), or a path starting
            with ``/`` (Rasa behind a proxy on the page's own origin); empty for the default.

    Returns:
        The cleaned value; ``""`` means the page's own host on port 5005.

    Raises:
        ChatSocketUrlInvalid: Another scheme (``javascript:``, ``ws:`` …), no host, a query, a fragment or user info.
    """
    cleaned = value.strip()
    if not cleaned:
        return ""
    parts = urlsplit(cleaned)
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ChatSocketUrlInvalid(value)
    if cleaned.startswith("/") and not cleaned.startswith("//"):
        return cleaned
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChatSocketUrlInvalid(value)
    return cleaned


def socket_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The checked ``JUHAOBAN_CHAT_SOCKET_URL`` of ``environ`` (default ``os.environ``); ``""`` when unset.

    Raises:
        ChatSocketUrlInvalid: The value is set but unusable (see :func:`check_socket_url`).
    """
    return check_socket_url((os.environ if environ is None else environ).get(ENV_VAR, ""))


def render_page(socket_url: str, assets: Mapping[str, Asset]) -> str:
    """The chat page's HTML: the socket URL HTML-escaped into an attribute, asset URLs with their hashes."""
    urls = {name.replace(".", "_"): f"{STATIC_PREFIX}/{name}?v={asset.version}" for name, asset in assets.items()}
    template = string.Template(TEMPLATE.read_text(encoding="utf-8"))
    return template.substitute(socket_url=html.escape(socket_url, quote=True), **urls)


def chat_blueprint(socket_url: str | None = None) -> Blueprint:
    """Return a new blueprint with the chat page and its files (one per app: blueprints keep per-app state).

    Args:
        socket_url: Where the page connects (see :func:`check_socket_url`); default ``JUHAOBAN_CHAT_SOCKET_URL``.

    Raises:
        ChatSocketUrlInvalid: The socket URL is unusable: the admin server does not start with a page that
            cannot connect.
    """
    url = socket_url_from_env() if socket_url is None else check_socket_url(socket_url)
    assets = {name: Asset.read(name) for name in ASSET_TYPES}
    page = render_page(url, assets).encode("utf-8")

    async def chat_page(_request: Request) -> HTTPResponse:
        """The chat page, the same for everyone (a session lives in the browser's localStorage)."""
        return raw(page, content_type="text/html; charset=utf-8", headers=dict(_PAGE_HEADERS))

    async def chat_asset(_request: Request, name: str) -> HTTPResponse:
        """One of :data:`ASSET_TYPES`; any other name is 404 (JSON, from :mod:`admin.errors`)."""
        asset = assets.get(name)
        if asset is None:
            raise NotFound(f"No such file: {STATIC_PREFIX}/{name}")
        headers = {"Cache-Control": _ASSET_CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
        return raw(asset.body, content_type=asset.content_type, headers=headers)

    blueprint = Blueprint("chat")
    blueprint.add_route(chat_page, "/chat", methods=["GET", "HEAD"])
    blueprint.add_route(chat_asset, f"{STATIC_PREFIX}/<name:str>", methods=["GET", "HEAD"])
    return blueprint
