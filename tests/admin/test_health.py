"""``GET /health``: 200 with a reachable database, 503 without; and ``python -m admin`` really serves it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from admin.app import create_app

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_SECONDS = 60


async def test_it_reports_ok_when_the_database_answers(api) -> None:
    response = await api.get("/health", token=None)

    assert response.status == 200
    assert response.body == {"status": "ok", "database": "ok"}


async def test_it_reports_503_when_the_database_is_unreachable(
    make_settings, serve_app, unreachable_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(unreachable_database_url))

    async with serve_app(app) as api:
        response = await api.get("/health", token=None)

    assert response.status == 503
    assert response.body == {"status": "unavailable", "database": "unreachable"}
    assert any("health check failed" in record.getMessage() for record in caplog.records)


async def test_it_disposes_the_engine_when_the_server_stops(make_settings, serve_app, tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'health.db'}"))

    disposed: list[bool] = []

    async with serve_app(app) as api:
        assert (await api.get("/health", token=None)).status == 200
        engine = app.ctx.engine
        dispose = engine.dispose
        engine.dispose = lambda: (disposed.append(True), dispose())[1]
        assert disposed == []

    assert disposed == [True]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _wait_for_health(url: str, process: subprocess.Popen) -> aiohttp.ClientResponse:
    deadline = asyncio.get_running_loop().time() + SERVER_START_TIMEOUT_SECONDS
    async with aiohttp.ClientSession() as session:
        while True:
            assert process.poll() is None, "python -m admin exited early"
            try:
                async with session.get(url) as response:
                    await response.read()
                    return response
            except aiohttp.ClientConnectionError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_it_serves_health_from_the_command_line(tmp_path: Path, admin_token: str) -> None:
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", JUHAOBAN_ADMIN_TOKEN=admin_token)
    process = subprocess.Popen(
        [sys.executable, "-m", "admin", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        response = await _wait_for_health(f"http://127.0.0.1:{port}/health", process)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)

    assert response.status == 200
    assert "GET http://127.0.0.1:" in output and "/health" in output  # the access log is on
