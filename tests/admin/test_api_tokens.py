"""Role-scoped API tokens (workflow/api_tokens.py) and how the API treats them: created once in clear, stored as a
hash, refused once revoked (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from admin_support import LEAD_UNIT
from workflow.api_tokens import (
    InvalidTokenRequest,
    TokenNotFound,
    TokenRole,
    create_token,
    find_active_token,
    list_tokens,
    revoke_token,
)
from workflow.exceptions import UnknownUnit
from workflow.models import API_TOKEN_ROLES, ApiToken


def test_it_returns_the_token_in_clear_once_and_stores_only_its_hash(session_factory, clock) -> None:
    issued = create_token(session_factory, "unit", LEAD_UNIT, name="生态环境分局-张科长", clock=clock)

    assert issued.token.startswith("jhb_") and len(issued.token) > 40
    record = issued.record
    assert (record.role, record.unit_code, record.name) == (TokenRole.UNIT, LEAD_UNIT, "生态环境分局-张科长")
    assert record.created_at == clock.now and record.revoked_at is None and record.active
    with session_factory() as session:
        row = session.execute(select(ApiToken)).scalar_one()
        stored = [str(value) for value in (row.name, row.role, row.unit_code, row.token_hash)]
    assert issued.token not in stored
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert "token" not in record.to_dict() and issued.token not in str(record.to_dict())


def test_it_issues_a_different_token_each_time(session_factory) -> None:
    first = create_token(session_factory, "dispatcher", name="调度员王芳")
    second = create_token(session_factory, "dispatcher", name="调度员王芳")

    assert first.token != second.token
    assert first.record.id != second.record.id


def test_it_finds_a_valid_token_and_forgets_it_once_revoked(session_factory, clock) -> None:
    issued = create_token(session_factory, "admin", name="平台管理员")
    assert find_active_token(session_factory, issued.token) == issued.record
    clock.advance(dt.timedelta(hours=2))

    revoked = revoke_token(session_factory, issued.record.id, clock=clock)

    assert revoked.revoked_at == clock.now and not revoked.active
    assert find_active_token(session_factory, issued.token) is None
    assert find_active_token(session_factory, issued.token + "x") is None


def test_it_keeps_the_first_revocation_time(session_factory, clock) -> None:
    issued = create_token(session_factory, "dispatcher", name="调度员王芳")
    first = revoke_token(session_factory, issued.record.id, clock=clock)
    clock.advance(dt.timedelta(days=1))

    again = revoke_token(session_factory, issued.record.id, clock=clock)

    assert again.revoked_at == first.revoked_at


def test_it_lists_tokens_without_the_revoked_unless_asked(session_factory) -> None:
    kept = create_token(session_factory, "dispatcher", name="调度员王芳")
    gone = create_token(session_factory, "dispatcher", name="调度员老赵")
    revoke_token(session_factory, gone.record.id)

    assert [t.id for t in list_tokens(session_factory)] == [kept.record.id]
    assert [t.id for t in list_tokens(session_factory, include_revoked=True)] == [kept.record.id, gone.record.id]


def test_it_answers_token_not_found_for_an_unknown_id(session_factory) -> None:
    with pytest.raises(TokenNotFound) as raised:
        revoke_token(session_factory, 999)
    assert raised.value.context == {"token_id": 999}


@pytest.mark.parametrize(
    ("role", "unit", "name", "field"),
    [
        ("unit", None, "某单位", "unit_code"),
        ("dispatcher", LEAD_UNIT, "调度员", "unit_code"),
        ("admin", LEAD_UNIT, "管理员", "unit_code"),
        ("resident", None, "居民", "role"),
        ("dispatcher", None, "   ", "name"),
        ("dispatcher", None, "x" * 129, "name"),
    ],
)
def test_it_refuses_a_token_it_could_not_use(session_factory, role, unit, name, field) -> None:
    with pytest.raises(InvalidTokenRequest) as raised:
        create_token(session_factory, role, unit, name=name)
    assert raised.value.context["field"] == field
    assert list_tokens(session_factory, include_revoked=True) == []


def test_it_refuses_a_unit_token_for_no_unit(session_factory) -> None:
    with pytest.raises(UnknownUnit):
        create_token(session_factory, "unit", "no_such_unit", name="某单位")


def test_it_names_the_same_roles_as_the_table_allows() -> None:
    assert tuple(role.value for role in TokenRole) == API_TOKEN_ROLES


async def test_it_accepts_a_stored_token_until_it_is_revoked(api, session_factory) -> None:
    issued = create_token(session_factory, "dispatcher", name="调度员王芳")
    before = await api.get("/api/cases", token=issued.token)

    revoke_token(session_factory, issued.record.id)
    after = await api.get("/api/cases", token=issued.token)

    assert before.status == 200
    assert after.status == 401
    assert after.body["error"]["code"] == "unauthorized"
    assert 'error="invalid_token"' in after.headers["WWW-Authenticate"]


async def test_it_still_accepts_the_shared_admin_token(api, admin_token: str) -> None:
    response = await api.get("/api/cases", token=admin_token)

    assert response.status == 200
