"""A browser-like client of the console for the tests: a cookie jar, forms posted with the page's CSRF token.

(Imported by the console tests' conftest and tests; pytest puts this directory on ``sys.path``.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp

#: Every test account's password (follows workflow.accounts' rules).
PASSWORD = "Julu2026console"
_CSRF = re.compile(r'data-csrf-token="([^"]+)"')
_LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Page:
    """What the browser got: status, final URL (after redirects), headers, body text."""

    status: int
    url: str
    headers: dict[str, str]
    text: str

    @property
    def path(self) -> str:
        """The final URL's path (and query)."""
        return "/" + self.url.split("//", 1)[-1].split("/", 1)[-1]


class ConsoleBrowser:
    """One browser (its own cookie jar) on a running console.

    Args:
        base_url: ``http://127.0.0.1:<port>``.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        # unsafe=True: aiohttp keeps no cookies for IP-address hosts otherwise (browsers do).
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf_token = ""

    async def close(self) -> None:
        await self.session.close()

    async def get(self, path: str, params: dict[str, str] | None = None, *, follow: bool = True) -> Page:
        async with self.session.get(self.base_url + path, params=params, allow_redirects=follow) as response:
            page = Page(response.status, str(response.url), dict(response.headers), await response.text())
        self._remember_csrf(page.text)
        return page

    async def post(self, path: str, form: dict[str, Any] | None = None, *, csrf: str | None = None,
                   follow: bool = True, headers: dict[str, str] | None = None) -> Page:
        """POST ``form`` (urlencoded) with the last page's CSRF token unless ``csrf`` is given ('' sends none)."""
        data = dict(form or {})
        token = self.csrf_token if csrf is None else csrf
        if token:
            data.setdefault("csrf_token", token)
        async with self.session.post(self.base_url + path, data=data, allow_redirects=follow,
                                     headers=headers) as response:
            page = Page(response.status, str(response.url), dict(response.headers), await response.text())
        self._remember_csrf(page.text)
        return page

    async def post_json(self, path: str, body: Any, *, csrf: str | None = None) -> tuple[int, Any]:
        """POST JSON as the console's scripts do (``X-CSRF-Token`` header); returns (status, decoded body)."""
        headers = {"Accept": "application/json"}
        token = self.csrf_token if csrf is None else csrf
        if token:
            headers["X-CSRF-Token"] = token
        async with self.session.post(self.base_url + path, json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def get_json(self, path: str, params: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.session.get(self.base_url + path, params=params,
                                    headers={"Accept": "application/json"}) as response:
            return response.status, await response.json(content_type=None)

    async def login(self, username: str, password: str = PASSWORD, *, next_path: str | None = None) -> Page:
        """Open the log-in page and submit it (as a person would)."""
        form_page = await self.get("/console/login", {"next": next_path} if next_path else None)
        match = _LOGIN_CSRF.search(form_page.text)
        assert match, form_page.text
        form = {"username": username, "password": password, "csrf_token": match.group(1)}
        if next_path:
            form["next"] = next_path
        return await self.post("/console/login", form, csrf="")

    def _remember_csrf(self, text: str) -> None:
        match = _CSRF.search(text)
        if match:
            self.csrf_token = match.group(1)
