"""Who may call which route: every route of the API against every kind of caller (SQLite and PostgreSQL).

Each row puts a fresh case, per caller, in a status where the action is allowed, so the status a caller gets says
only whether that caller may do it: 200 allowed; 403 not this role, or not this unit's case; 401 no token. Admin
tokens act for the lead unit (``?unit=``) on unit routes.
"""

from __future__ import annotations

from typing import Any

import pytest

from admin_support import LEAD_UNIT, Tokens

CALLERS = ("dispatcher", "lead_unit", "other_unit", "admin", "stored_admin", "none")
_ADMINS = ("admin", "stored_admin")


def _row(dispatcher: int, lead_unit: int, other_unit: int, admin: int) -> dict[str, int]:
    return {
        "dispatcher": dispatcher, "lead_unit": lead_unit, "other_unit": other_unit,
        "admin": admin, "stored_admin": admin, "none": 401,
    }


DISPATCHING = _row(200, 403, 403, 200)
UNIT_WORK = _row(403, 200, 403, 200)
READING = _row(200, 200, 403, 200)

#: (method, path after /api, status the case needs, body, expected status per caller)
ROUTES: dict[str, tuple[str, str, str | None, Any, dict[str, int]]] = {
    "list cases": ("GET", "/cases", None, None, DISPATCHING),
    "read a case": ("GET", "/cases/{id}", "assigned", None, READING),
    "read the audit trail": ("GET", "/cases/{id}/events", "assigned", None, READING),
    "list a unit's cases": ("GET", "/unit/cases", None, None, _row(403, 200, 200, 200)),
    "accept": ("POST", "/cases/{id}/accept", "reported", {"importance_level": 2}, DISPATCHING),
    "assign": ("POST", "/cases/{id}/assign", "accepted", {}, DISPATCHING),
    "reject": ("POST", "/cases/{id}/reject", "reported", {"reason": "invalid", "note": "无内容"}, DISPATCHING),
    "duplicate": ("POST", "/cases/{id}/duplicate", "reported", {"of": "{original}", "note": "重复"}, DISPATCHING),
    "reopen": ("POST", "/cases/{id}/reopen", "review", {}, DISPATCHING),
    "close": ("POST", "/cases/{id}/close", "review", {"reason": "已答复"}, DISPATCHING),
    "acknowledge": ("POST", "/cases/{id}/acknowledge", "assigned", {}, UNIT_WORK),
    "notes": ("POST", "/cases/{id}/notes", "in_progress", {"note": "已联系"}, UNIT_WORK),
    "return": ("POST", "/cases/{id}/return", "assigned", {"reason": "非本单位职责"}, UNIT_WORK),
    "resolve": ("POST", "/cases/{id}/resolve", "in_progress", {"result": "已处理"}, UNIT_WORK),
}


@pytest.mark.parametrize("route", list(ROUTES))
async def test_it_lets_each_caller_do_only_what_its_role_allows(
    api, tokens: Tokens, make_case, route: str
) -> None:
    method, path, situation, body, expected = ROUTES[route]
    original = make_case("assigned")

    got = {}
    for caller in CALLERS:
        case_id = make_case(situation) if situation else None
        sent = {k: (v.format(original=original) if isinstance(v, str) else v) for k, v in (body or {}).items()}
        params = {"unit": LEAD_UNIT} if caller in _ADMINS else None
        response = await api.request(
            method, "/api" + path.format(id=case_id), params, token=tokens.of(caller),
            json=sent if method == "POST" else None,
        )
        got[caller] = response.status

    assert got == expected


@pytest.mark.parametrize("route", [name for name, row in ROUTES.items() if row[0] == "POST"])
async def test_it_refuses_before_changing_anything(api, tokens: Tokens, make_case, route: str) -> None:
    method, path, situation, body, expected = ROUTES[route]
    refused = next(caller for caller in ("lead_unit", "dispatcher") if expected[caller] == 403)
    case_id = make_case(situation)
    before = (await api.get(f"/api/cases/{case_id}/events")).body["events"]

    response = await api.post(f"/api/cases/{case_id}/{path.rsplit('/', 1)[1]}", body, token=tokens.of(refused))

    assert response.status == 403
    assert response.body["error"]["code"] == "actor_not_allowed"
    assert response.body["error"]["context"]["actor_role"] == ("unit" if refused == "lead_unit" else "dispatcher")
    assert (await api.get(f"/api/cases/{case_id}/events")).body["events"] == before
