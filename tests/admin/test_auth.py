"""Bearer-token protection of ``/api``: what a client without, or with a wrong, token gets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from admin.app import create_app
from admin.auth import AdminTokenMissing, require_admin_token

REPO_ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Authentication does not depend on the database engine: these tests run on SQLite only."""
    return f"sqlite:///{tmp_path / 'juhaoban.db'}"


@pytest.mark.parametrize("token", [None, "", "   \n"])
def test_it_refuses_to_build_the_app_without_a_token(make_settings, database_url: str, token) -> None:
    with pytest.raises(AdminTokenMissing, match="JUHAOBAN_ADMIN_TOKEN"):
        create_app(make_settings(database_url, token=token))


def test_it_strips_whitespace_around_the_configured_token() -> None:
    assert require_admin_token("  s3cret-token\n") == "s3cret-token"


def test_it_refuses_to_start_from_the_command_line_without_a_token(database_url: str) -> None:
    env = {key: value for key, value in os.environ.items() if key != "JUHAOBAN_ADMIN_TOKEN"}
    env["DATABASE_URL"] = database_url

    result = subprocess.run(
        [sys.executable, "-m", "admin", "--port", "1"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "JUHAOBAN_ADMIN_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


async def test_it_answers_401_json_without_a_token(api) -> None:
    response = await api.get("/api/cases", token=None)

    assert response.status == 401
    assert response.body["error"]["code"] == "unauthorized"
    assert "Bearer" in response.body["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_it_answers_401_for_a_wrong_token(api, admin_token: str) -> None:
    response = await api.get("/api/cases", token=admin_token + "x")

    assert response.status == 401
    assert response.body["error"]["code"] == "unauthorized"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Token test-admin-token-6Jq2vX",
        "test-admin-token-6Jq2vX",
        "Bearer test-admin-token",
        "Bearer test-admin-token-6Jq2vX extra",
        "Bearer 巨好办",
    ],
)
async def test_it_answers_401_for_malformed_credentials(api, authorization: str) -> None:
    response = await api.get("/api/cases", token=None, headers={"Authorization": authorization})

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_it_accepts_the_token_with_the_scheme_in_any_case(api, admin_token: str, scheme: str) -> None:
    response = await api.get("/api/cases", token=None, headers={"Authorization": f"{scheme} {admin_token}"})

    assert response.status == 200
    assert response.body["cases"] == []


async def test_it_protects_the_case_detail_route(api) -> None:
    response = await api.get("/api/cases/JL20261130-0001", token=None)

    assert response.status == 401


async def test_it_answers_401_not_404_for_unknown_api_paths_without_a_token(api) -> None:
    unauthenticated = await api.get("/api/no-such-thing", token=None)
    authenticated = await api.get("/api/no-such-thing")

    assert unauthenticated.status == 401
    assert authenticated.status == 404
    assert authenticated.body["error"]["code"] == "not_found"


async def test_it_leaves_the_health_check_open(api) -> None:
    response = await api.get("/health", token=None)

    assert response.status == 200
