"""A filed case driven through the whole loop with HTTP calls only, by a dispatcher and the lead unit, each with its
own token: accept → assign → acknowledge → note → resolve (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from admin_support import LEAD_UNIT, Tokens, report


async def test_it_takes_a_filed_case_to_resolved_over_http(api, tokens: Tokens, case_service, clock) -> None:
    case_id = case_service.file_report(report()).case_id  # what the bot does when the resident confirms

    waiting = await api.get("/api/cases", {"status": "reported"}, token=tokens.dispatcher)
    assert [case["case_id"] for case in waiting.body["cases"]] == [case_id]

    clock.advance(dt.timedelta(minutes=20))
    accepted = await api.post(f"/api/cases/{case_id}/accept", {"importance_level": 2}, token=tokens.dispatcher)
    assert (accepted.status, accepted.body["status"]) == (200, "accepted")

    assigned = await api.post(f"/api/cases/{case_id}/assign", {}, token=tokens.dispatcher)
    assert (assigned.status, assigned.body["lead_unit"]["code"]) == (200, LEAD_UNIT)

    todo = await api.get("/api/unit/cases", {"status": "assigned"}, token=tokens.lead_unit)
    assert [case["case_id"] for case in todo.body["cases"]] == [case_id]

    clock.advance(dt.timedelta(hours=1))
    acknowledged = await api.post(f"/api/cases/{case_id}/acknowledge", {"note": "已签收"}, token=tokens.lead_unit)
    assert acknowledged.body["status"] == "in_progress"

    noted = await api.post(f"/api/cases/{case_id}/notes", {"note": "已派人到东关村"}, token=tokens.lead_unit)
    assert noted.body["status"] == "in_progress"

    clock.advance(dt.timedelta(hours=3))
    resolved = await api.post(
        f"/api/cases/{case_id}/resolve", {"result": "已制止焚烧，现场清理完毕"}, token=tokens.lead_unit
    )
    assert resolved.status == 200
    assert (resolved.body["status"], resolved.body["result"]) == ("resolved", "已制止焚烧，现场清理完毕")
    assert dt.datetime.fromisoformat(resolved.body["deadline"]) > clock.now

    trail = (await api.get(f"/api/cases/{case_id}/events", token=tokens.dispatcher)).body["events"]
    assert [(e["event"], e["actor"], e["to_status"]) for e in trail] == [
        ("filed", "wx-resident-1", "reported"),
        ("accepted", Tokens.DISPATCHER_NAME, "accepted"),
        ("assigned", Tokens.DISPATCHER_NAME, "assigned"),
        ("acknowledged", Tokens.LEAD_UNIT_NAME, "in_progress"),
        ("progress_noted", Tokens.LEAD_UNIT_NAME, "in_progress"),
        ("resolved", Tokens.LEAD_UNIT_NAME, "resolved"),
    ]
    assert (await api.get(f"/api/cases/{case_id}", token=tokens.lead_unit)).body == resolved.body
