"""Fixtures for the admin API tests: a real sanic server on a free local port, called over HTTP, a set of tokens
of every role, and cases driven to any status of the closed loop.

The app runs in the test's own event loop (``Sanic.create_server``), so its ``before_server_start``
and ``after_server_stop`` listeners, middleware, routing and error handling run exactly as under
``python -m admin``; requests go through aiohttp like any API client's. (``app.asgi_client`` needs
``sanic-testing``, which is not installed; sanic 21.12's ASGI lifespan also raises on shutdown.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sanic import Sanic

from admin.app import create_app
from sanic_support import serving
from admin_support import LEAD_UNIT, OTHER_UNIT, PATHS, STEPS, Tokens, report
from workflow.api_tokens import create_token
from workflow.cases import CaseService
from workflow.lifecycle import CaseLifecycle
from workflow.settings import Settings

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
ADMIN_TOKEN = "test-admin-token-6Jq2vX"
#: Nothing listens on TCP port 1: connecting fails at once with "connection refused".
UNREACHABLE_DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:1/juhaoban"


@pytest.fixture(scope="session", autouse=True)
def sanic_test_mode() -> Iterator[None]:
    """Let one process start many sanic apps.

    sanic 21.12 rewrites some of its methods when an app starts (``TouchUp``); outside test mode
    the second app in a process fails to start.
    """
    previous = Sanic.test_mode
    Sanic.test_mode = True
    yield
    Sanic.test_mode = previous


@dataclass
class ApiResponse:
    """What an API client saw: status, headers and the decoded JSON body."""

    status: int
    headers: dict[str, str]
    body: Any


class RunningApi:
    """A started admin app and an HTTP client for it."""

    def __init__(self, app: Sanic, base_url: str, session: aiohttp.ClientSession) -> None:
        self.app = app
        self.base_url = base_url
        self._session = session

    async def get(
        self,
        path: str,
        params: dict[str, str] | None = None,
        *,
        token: str | None = ADMIN_TOKEN,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        """GET ``path`` with ``Authorization: Bearer <token>`` (none when ``token`` is None)."""
        return await self.request("GET", path, params, token=token, headers=headers)

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        token: str | None = ADMIN_TOKEN,
        data: bytes | None = None,
    ) -> ApiResponse:
        """POST ``body`` as JSON (nothing when None; ``data`` sends raw bytes instead)."""
        return await self.request("POST", path, params, token=token, json=body, data=data)

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        *,
        token: str | None = ADMIN_TOKEN,
        headers: dict[str, str] | None = None,
        json: Any = None,
        data: bytes | None = None,
    ) -> ApiResponse:
        """Send one request and decode the JSON answer (every answer of this API is JSON)."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        async with self._session.request(
            method, self.base_url + path, params=params, headers=sent, json=json, data=data
        ) as response:
            assert response.content_type == "application/json", await response.text()
            return ApiResponse(response.status, dict(response.headers), await response.json())


ServeApp = Callable[[Sanic], AbstractAsyncContextManager[RunningApi]]
MakeSettings = Callable[..., Settings]


@asynccontextmanager
async def serve(app: Sanic) -> AsyncIterator[RunningApi]:
    """Serve ``app`` on a free port of 127.0.0.1 for the ``async with`` block."""
    async with serving(app) as (base_url, session):
        yield RunningApi(app, base_url, session)


def admin_settings(database_url: str, token: str | None = ADMIN_TOKEN) -> Settings:
    """Settings for a test app: the given database, the repository's data, the test token."""
    return Settings(database_url=database_url, admin_token=token, data_dir=DATA_DIR)


@pytest.fixture
def admin_token() -> str:
    """The bearer token the test apps are configured with."""
    return ADMIN_TOKEN


@pytest.fixture
def make_settings() -> MakeSettings:
    """``make_settings(database_url, token=ADMIN_TOKEN) -> Settings`` for apps a test builds itself."""
    return admin_settings


@pytest.fixture
def serve_app() -> ServeApp:
    """``async with serve_app(app) as api:`` runs ``app`` for the block and gives its client."""
    return serve


@pytest.fixture
def unreachable_database_url() -> str:
    """A PostgreSQL URL where nothing listens, for start-up without a database."""
    return UNREACHABLE_DATABASE_URL


@pytest.fixture
async def api(
    database_url: str, case_service: CaseService, lifecycle: CaseLifecycle
) -> AsyncIterator[RunningApi]:
    """The admin API over the test database (migrated, reference data loaded), clock frozen."""
    app = create_app(admin_settings(database_url), case_service=case_service, lifecycle=lifecycle)
    async with serve(app) as running:
        yield running


MakeCase = Callable[..., str]


@pytest.fixture
def tokens(session_factory) -> Tokens:
    """Tokens of a dispatcher, the lead unit of eco_environment cases, another unit, and admins (shared, stored)."""
    return Tokens(
        dispatcher=create_token(session_factory, "dispatcher", name=Tokens.DISPATCHER_NAME).token,
        lead_unit=create_token(session_factory, "unit", LEAD_UNIT, name=Tokens.LEAD_UNIT_NAME).token,
        other_unit=create_token(session_factory, "unit", OTHER_UNIT, name=Tokens.OTHER_UNIT_NAME).token,
        admin=ADMIN_TOKEN,
        stored_admin=create_token(session_factory, "admin", name=Tokens.STORED_ADMIN_NAME).token,
    )


@pytest.fixture
def make_case(case_service: CaseService, lifecycle: CaseLifecycle) -> MakeCase:
    """``make_case(situation="reported", **report_overrides) -> case_id``: file a case (as the bot does) and drive
    it to ``situation`` (a key of :data:`PATHS`) through the lifecycle."""

    def make(situation: str = "reported", **overrides: Any) -> str:
        case_id = case_service.file_report(report(**overrides)).case_id
        for step in PATHS[situation]:
            STEPS[step](lifecycle, case_id)
        return case_id

    return make
