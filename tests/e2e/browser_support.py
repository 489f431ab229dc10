"""What the browser tests share: Debian's chromium under Playwright, and the residents' chat page as a resident uses it.

(Imported by the browser tests; pytest puts this directory on ``sys.path``.)
"""

from __future__ import annotations

import re
import socket
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = (
    "Debian's chromium is needed at /usr/bin/chromium for the browser tests: run `make browser` as root, or "
    "`sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
    "chromium` (never `playwright install`)."
)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 375, "height": 740}
CASE_ID = re.compile(r"JL\d{8}-\d{4}")
REPLY_SECONDS = 60.0
PUSH_SECONDS = 60.0  # the worker polls the outbox every 2 s; Rasa runs the action inside the push
CONNECT_MS = 30_000
RESULT = "已责令该厂停止排放并清理河沟"


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium; the tests fail (not skip) without it."""
    if not CHROMIUM.exists():
        pytest.fail(INSTALL_HINT, pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[object]:
    """Headless Chromium driven by Playwright."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def unused_port() -> int:
    """A local TCP port nothing listens on (bound and released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChatPage:
    """The chat page as a resident uses it: open it, type, read what the bot says."""

    def __init__(self, page, admin_url: str, rasa_url: str) -> None:
        self.page = page
        self.url = f"{admin_url}/chat?socket={urllib.parse.quote(rasa_url, safe='')}"
        self.dialogs: list[str] = []
        page.on("dialog", self._dismiss)

    def _dismiss(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self) -> "ChatPage":
        self.page.goto(self.url)
        self.wait_for_state("已连接")
        return self

    def wait_for_state(self, text: str) -> None:
        expect(self.page.locator("#chat-status")).to_have_text(text, timeout=CONNECT_MS)

    def bot_texts(self) -> list[str]:
        return self.page.locator(".message.from-bot .bubble").all_inner_texts()

    def user_texts(self) -> list[str]:
        return self.page.locator(".message.from-user .bubble").all_inner_texts()

    def session_id(self) -> str | None:
        return self.page.evaluate("() => window.localStorage.getItem('juhaoban.chat.session')")

    def say(self, text: str, expected: str) -> str:
        """Types ``text`` and presses Enter; returns the bot's new messages once one of them matches ``expected``."""
        before = len(self.bot_texts())
        self.page.locator("#chat-input").fill(text)
        self.page.locator("#chat-input").press("Enter")
        return self.wait_for_bot(expected, after=before, timeout=REPLY_SECONDS)

    def wait_for_bot(self, expected: str, *, after: int, timeout: float) -> str:
        """Polls the bot's messages after the first ``after`` until one matches the regular expression ``expected``."""
        deadline = time.monotonic() + timeout
        while True:
            new = "\n".join(self.bot_texts()[after:])
            if re.search(expected, new):
                return new
            if time.monotonic() > deadline:
                raise AssertionError(f"no bot message matching {expected!r} within {timeout} s; got {new!r}")
            self.page.wait_for_timeout(250)


