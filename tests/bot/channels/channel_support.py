"""Helpers for channel tests: a channel's blueprint served by a real sanic app on a free port, a recording bot,
and a stand-in for the WeChat API (access token and customer-service messages)."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, AsyncIterator, Callable, Dict, List, Optional

import aiohttp
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sanic_support import serving


@dataclass
class Served:
    base_url: str
    session: aiohttp.ClientSession


@asynccontextmanager
async def serve_channel(channel, on_new_message, prefix: str) -> AsyncIterator[Served]:
    """Serve ``channel.blueprint(on_new_message)`` under ``prefix`` (as Rasa mounts it) in this event loop."""
    Sanic.test_mode = True
    app = Sanic(f"channel_test_{id(channel)}_{prefix.strip('/').replace('/', '_')}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix=prefix)
    async with serving(app) as (base_url, session):
        yield Served(base_url + prefix, session)


class RecordingBot:
    """Stands in for Rasa's agent: records each message and answers with ``answer(text)`` replies after
    ``delay`` seconds."""

    def __init__(self, answer: Callable[[str], List[str]] = lambda text: [f"收到：{text}"], delay: float = 0.0):
        self.messages: List[UserMessage] = []
        self.answer = answer
        self.delay = delay
        self.done = asyncio.Event()

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        for reply in self.answer(message.text):
            await message.output_channel.send_text_message(message.sender_id, reply)
        self.done.set()


@dataclass
class FakeWeChatApi:
    """A local stand-in for the WeChat API: ``GET …/token`` and ``POST …/message/custom/send``.

    It checks what it receives like the platform does: appid and secret for a token, a current token for a
    message. ``expire_next_token_use`` makes the next message answer 42001 (token expired).
    """

    appid: str
    secret: str
    expires_in: int = 7200
    token_fetches: int = 0
    sent: List[Dict[str, Any]] = field(default_factory=list)
    rejected: List[Dict[str, Any]] = field(default_factory=list)
    menus: List[Dict[str, Any]] = field(default_factory=list)
    expire_next_token_use: bool = False
    fetch_delay: float = 0.0
    _current: Optional[str] = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "FakeWeChatApi":
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, body: Dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 (http.server's naming)
                url = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path != "/cgi-bin/token":
                    return self._json({"errcode": 404, "errmsg": "unknown endpoint"})
                if query.get("appid") != api.appid or query.get("secret") != api.secret:
                    return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
                import time

                time.sleep(api.fetch_delay)
                with api._lock:
                    api.token_fetches += 1
                    api._current = f"TOKEN-{api.token_fetches}"
                    return self._json({"access_token": api._current, "expires_in": api.expires_in})

            def do_POST(self):  # noqa: N802
                url = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if url.path == "/cgi-bin/menu/create" and query.get("access_token") == api._current:
                    api.menus.append(body)
                    return self._json({"errcode": 0, "errmsg": "ok"})
                if url.path != "/cgi-bin/message/custom/send":
                    return self._json({"errcode": 404, "errmsg": "unknown endpoint"})
                with api._lock:
                    if api.expire_next_token_use:
                        api.expire_next_token_use = False
                        api.rejected.append({"token": query.get("access_token"), **body})
                        return self._json({"errcode": 42001, "errmsg": "access_token expired"})
                    if query.get("access_token") != api._current:
                        api.rejected.append({"token": query.get("access_token"), **body})
                        return self._json({"errcode": 40001, "errmsg": "invalid credential"})
                    api.sent.append({"token": query.get("access_token"), **body})
                return self._json({"errcode": 0, "errmsg": "ok"})

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/cgi-bin/"

    def texts_to(self, openid: str) -> List[str]:
        return [m["text"]["content"] for m in self.sent if m["touser"] == openid]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
