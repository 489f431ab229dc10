"""Fixtures of the console tests: the admin app served with a frozen clock, one account per role, browsers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from admin.app import create_app
from admin_support import LEAD_UNIT, OTHER_UNIT
from sanic_support import serving
from console_support import PASSWORD, ConsoleBrowser
from workflow.accounts import AccountService, AccountView
from workflow.settings import Settings

DATA_DIR = Path(__file__).resolve().parents[3] / "data"

#: The village of the grid worker's grid (王虎寨镇小韩寨村, sample data).
GRID_VILLAGE = "wanghuzhai_xiaohanzhai"


@dataclass(frozen=True)
class Accounts:
    """One console account per kind of user (user names; every password is ``PASSWORD``)."""

    dispatcher: AccountView
    lead_unit: AccountView
    other_unit: AccountView
    grid_worker: AccountView
    other_grid_worker: AccountView
    admin: AccountView
    expert: AccountView


@pytest.fixture
def accounts(session_factory, clock) -> Accounts:
    service = AccountService(session_factory, clock)
    return Accounts(
        dispatcher=service.create("wangfang", PASSWORD, role="dispatcher", display_name="调度员王芳"),
        lead_unit=service.create("eco-zhang", PASSWORD, role="unit", unit_code=LEAD_UNIT,
                                 display_name="生态环境分局张科长"),
        other_unit=service.create("city-li", PASSWORD, role="unit", unit_code=OTHER_UNIT,
                                  display_name="城管执法局李队长"),
        grid_worker=service.create("grid-liu", PASSWORD, role="grid_worker", village_code=GRID_VILLAGE,
                                   display_name="网格员刘洋"),
        other_grid_worker=service.create("grid-zhao", PASSWORD, role="grid_worker",
                                         village_code="julu_dongguan", display_name="网格员赵敏"),
        admin=service.create("admin1", PASSWORD, role="admin", display_name="平台管理员"),
        expert=service.create("expert-li", PASSWORD, role="expert", display_name="农技专家李明"),
    )


@pytest.fixture
async def console(database_url, case_service, lifecycle) -> AsyncIterator[str]:
    """The admin app (console included) over the test database; yields its base URL."""
    settings = Settings(database_url=database_url, admin_token="console-tests-admin-token", data_dir=DATA_DIR)
    app = create_app(settings, case_service=case_service, lifecycle=lifecycle)
    async with serving(app) as (base_url, _session):
        yield base_url


OpenBrowser = Callable[..., Awaitable[ConsoleBrowser]]


@pytest.fixture
async def browser(console) -> AsyncIterator[OpenBrowser]:
    """``await browser(username=None)``: a new browser on the console, logged in as ``username`` when given."""
    opened: list[ConsoleBrowser] = []

    async def open_browser(username: str | None = None) -> ConsoleBrowser:
        client = ConsoleBrowser(console)
        opened.append(client)
        if username:
            page = await client.login(username)
            assert "/console/login" not in page.url, page.text[:500]
            assert any(cookie.key == "jhb_console" for cookie in client.session.cookie_jar)
        return client

    yield open_browser
    for client in opened:
        await client.close()
