"""Fixtures that run the whole system: the four processes of ``juhaoban serve`` on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningSystem:
    rasa_url: str
    admin_url: str
    admin_token: str
    log: Path
    env: dict

    def say(self, sender: str, text: str) -> str:
        """Sends ``text`` as ``sender`` through the REST channel; returns the bot's replies joined by newlines."""
        response = requests.post(f"{self.rasa_url}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": text}, timeout=60)
        response.raise_for_status()
        return "\n".join(reply.get("text", "") for reply in response.json())

    def admin_get(self, path: str, **params) -> requests.Response:
        return requests.get(f"{self.admin_url}{path}", params=params,
                            headers={"Authorization": f"Bearer {self.admin_token}"}, timeout=30)

    def admin_post(self, path: str, body: dict, *, token: str | None = None, **params) -> requests.Response:
        return requests.post(f"{self.admin_url}{path}", json=body, params=params,
                             headers={"Authorization": f"Bearer {token or self.admin_token}"}, timeout=30)

    def tracker_texts(self, sender: str) -> list[str]:
        """What the bot said in ``sender``'s conversation, from Rasa's tracker store, oldest first."""
        response = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                                params={"token": self.env["JUHAOBAN_RASA_TOKEN"]}, timeout=30)
        response.raise_for_status()
        return [event.get("text") or "" for event in response.json()["events"] if event["event"] == "bot"]


def _wait_until_up(urls, process, log: Path, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"juhaoban serve exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(pending[0], timeout=2).status_code == 200:
                pending.pop(0)
                continue
        except requests.RequestException:
            pass
        time.sleep(1)
    if pending:
        raise RuntimeError(f"not up after {timeout} s: {pending}\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def e2e_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database on 127.0.0.1:5432 for the end-to-end tests, dropped afterwards."""
    import psycopg2

    name = f"juhaoban_e2e_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql+redis"])
def system(request, tmp_path_factory, trained_model) -> Iterator[RunningSystem]:
    """The running system on SQLite with in-memory stores, and on PostgreSQL with the Redis lock store."""
    tmp = tmp_path_factory.mktemp("e2e")
    if request.param == "sqlite":
        yield from start_system(f"sqlite:///{tmp / 'juhaoban.db'}", None, tmp, trained_model)
    else:
        url = request.getfixturevalue("e2e_postgres_url")
        yield from start_system(url, "redis://127.0.0.1:6379/0", tmp, trained_model)


@pytest.fixture(scope="session")
def system_starter():
    """:func:`start_system`, for modules that start the system with settings of their own."""
    return start_system


def start_system(database_url: str, redis_url, tmp: Path, model: Path,
                 extra_env: dict | None = None) -> Iterator[RunningSystem]:
    """Runs ``juhaoban serve`` on free ports until the generator is closed; ``extra_env`` adds settings (e.g. a
    channel's credentials)."""
    ports = [free_port() for _ in range(3)]
    token = uuid.uuid4().hex
    env = {**os.environ, "DATABASE_URL": database_url, "JUHAOBAN_ADMIN_TOKEN": token,
           "JUHAOBAN_RASA_TOKEN": uuid.uuid4().hex, **(extra_env or {})}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    log = tmp / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "juhaoban.cli", "serve", "--model", str(model), "--rasa-port", str(ports[0]),
             "--actions-port", str(ports[1]), "--admin-port", str(ports[2])],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    system = RunningSystem(f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[2]}", token, log, env)
    try:
        _wait_until_up([f"{system.rasa_url}/status?token={env['JUHAOBAN_RASA_TOKEN']}", f"http://127.0.0.1:{ports[1]}/health",
                        f"{system.admin_url}/health"], process, log)
        yield system
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
