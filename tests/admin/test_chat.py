"""``GET /chat`` and ``/chat/static/*``: the residents' web chat page and its files, served without a token, loading
nothing from any other address, with the configured socket URL escaped into the page."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest

from admin.app import create_app
from admin.chat import ENV_VAR, ChatSocketUrlInvalid, check_socket_url

STATIC_DIR = Path(__file__).resolve().parents[2] / "admin" / "static"
#: The one absolute URL in socket.io-client's bundle: a documentation link inside an error message, never fetched.
VENDOR_URLS = {"https://socket.io/docs/v3/migrating-from-2-x-to-3-0/"}
ABSOLUTE_URL = re.compile(r"(?:https?:|wss?:)?//[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9](?::\d+)?(?:/[^\s\"'`)<>]*)?")
HOSTILE_URL = 'http://bot.example.cn:5005/a"><script>alert(1)</script>'


class _Page(HTMLParser):
    """Collects what a page would load (src, href) and the chat root's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.chat: dict[str, str | None] = {}
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        self.loads += [value for name, value in attrs if name in ("src", "href") and value]
        if values.get("id") == "chat":
            self.chat = values


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    # The page touches no database; the app only needs a URL to start (the engine connects lazily).
    return f"sqlite:///{tmp_path / 'juhaoban.db'}"


@pytest.fixture
async def chat_client(make_settings, serve_app, sqlite_url, monkeypatch):
    """``async with chat_client(socket_url=None) as get:`` serves a fresh app; ``await get(path)`` → response, body."""
    @asynccontextmanager
    async def client(socket_url: str | None = None):
        if socket_url is None:
            monkeypatch.delenv(ENV_VAR, raising=False)
        else:
            monkeypatch.setenv(ENV_VAR, socket_url)
        async with serve_app(create_app(make_settings(sqlite_url))) as api, aiohttp.ClientSession() as session:

            async def get(path: str, method: str = "GET"):
                async with session.request(method, api.base_url + path) as response:
                    return response, await response.read()

            yield get

    return client


async def test_it_serves_the_page_as_html_without_a_token(chat_client) -> None:
    async with chat_client() as get:
        response, body = await get("/chat")

    page = body.decode("utf-8")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>巨好办</title>" in page and 'lang="zh-CN"' in page
    for element in ('id="chat-messages"', 'id="chat-input"', 'id="chat-send"', 'id="chat-status"'):
        assert element in page
    assert "连接中" in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors" not in response.headers["Content-Security-Policy"]  # counties embed it in an iframe


async def test_it_has_no_inline_script_and_loads_only_its_own_files(chat_client) -> None:
    async with chat_client() as get:
        _response, body = await get("/chat")
        page = parse(body.decode("utf-8"))
        loaded = [await get(url) for url in page.loads if not url.startswith("data:")]

    assert page.chat["data-socket-url"] == ""  # unset: the page uses its own host, port 5005
    assert all(url.startswith("/chat/static/") or url.startswith("data:") for url in page.loads), page.loads
    assert {url.split("?")[0] for url in page.loads if url.startswith("/")} == {
        "/chat/static/chat.css", "/chat/static/socket.io.min.js", "/chat/static/chat.js"}
    assert not ABSOLUTE_URL.findall(body.decode("utf-8"))
    assert [response.status for response, _ in loaded] == [200, 200, 200]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("chat.js", "text/javascript; charset=utf-8"),
        ("chat.css", "text/css; charset=utf-8"),
        ("socket.io.min.js", "text/javascript; charset=utf-8"),
        ("socket.io.LICENSE.txt", "text/plain; charset=utf-8"),
    ],
)
async def test_it_serves_each_static_file_as_it_is_on_disk(chat_client, name: str, content_type: str) -> None:
    async with chat_client() as get:
        response, body = await get(f"/chat/static/{name}")
        head, head_body = await get(f"/chat/static/{name}", method="HEAD")

    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert body == (STATIC_DIR / name).read_bytes()
    assert head.status == 200 and head_body == b""


def test_it_ships_socket_io_client_4_with_its_licence() -> None:
    bundle = (STATIC_DIR / "socket.io.min.js").read_text(encoding="utf-8")
    licence = (STATIC_DIR / "socket.io.LICENSE.txt").read_text(encoding="utf-8")

    assert re.match(r"/\*!\s*\* Socket\.IO v4\.\d+\.\d+", bundle)  # speaks Engine.IO 4, as python-socketio 5
    assert "socket.io-client 4." in licence and "Permission is hereby granted, free of charge" in licence


@pytest.mark.parametrize("name", ["chat.js", "chat.css", "socket.io.min.js"])
def test_it_names_no_outside_address_in_the_scripts_and_styles(name: str) -> None:
    text = (STATIC_DIR / name).read_text(encoding="utf-8")

    found = set(ABSOLUTE_URL.findall(text)) - {"//.test"}  # a regular expression inside socket.io's URL parser
    assert found <= VENDOR_URLS, found
    assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "document.write" not in text


async def test_it_answers_404_for_any_other_file(chat_client) -> None:
    async with chat_client() as get:
        statuses = [(await get(path))[0].status for path in
                    ("/chat/static/chat.html", "/chat/static/app.py", "/chat/static/%2e%2e%2fchat.py")]

    assert statuses == [404, 404, 404]


async def test_it_writes_the_configured_socket_url_into_the_page_escaped(chat_client) -> None:
    async with chat_client(HOSTILE_URL) as get:
        _response, body = await get("/chat")

    page = body.decode("utf-8")
    parsed = parse(page)
    assert parsed.chat["data-socket-url"] == HOSTILE_URL
    assert "<script>alert(1)" not in page
    assert 'data-socket-url="http://bot.example.cn:5005/a&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert parsed.tags.count("script") == 2  # the two files, nothing injected


@pytest.mark.parametrize(
    "value",
    ["javascript:alert(1)", "ws://bot.example.cn:5005", "http://bot.example.cn:5005/?x=1", "http://bot#x",
     "http://user:secret@bot.example.cn", "//bot.example.cn", "bot.example.cn:5005", "http://"],
)
def test_it_refuses_to_start_with_an_unusable_socket_url(make_settings, sqlite_url, monkeypatch, value) -> None:
    monkeypatch.setenv(ENV_VAR, value)

    with pytest.raises(ChatSocketUrlInvalid, match=ENV_VAR):
        create_app(make_settings(sqlite_url))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", ""), ("  ", ""), (" http://bot.example.cn:5005 ", "http://bot.example.cn:5005"),
     ("https://www.julu.gov.cn/juhaoban-bot", "https://www.julu.gov.cn/juhaoban-bot"),
     ("/juhaoban-bot", "/juhaoban-bot"), ("/", "/")],
)
def test_it_accepts_a_rasa_url_or_a_path_on_the_same_origin(value: str, expected: str) -> None:
    assert check_socket_url(value) == expected
