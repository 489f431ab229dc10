"""Dispatcher routes (``POST /api/cases/<id>/accept|assign|reject|duplicate|reopen|close``) and the audit trail
(``GET /api/cases/<id>/events``), as a dispatcher's console sees them (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from admin_support import LEAD_UNIT, OTHER_UNIT, Tokens

# Body-shape checks happen before the database is asked: one engine is enough for them.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def test_it_accepts_a_report_with_the_dispatchers_choices(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("reported")

    response = await api.post(
        f"/api/cases/{case_id}/accept",
        {"importance_level": 3, "category": "city_management", "matter_type": "public_service", "note": "路边焚烧"},
        token=tokens.dispatcher,
    )

    assert response.status == 200
    body = response.body
    assert (body["case_id"], body["status"]) == (case_id, "accepted")
    assert (body["category"], body["matter_type"], body["importance_level"]) == (
        "city_management", "public_service", 3,
    )
    assert body["suggested_category"] == "eco_environment"
    assert body["lead_unit"]["code"] == OTHER_UNIT  # routed again by the new category


async def test_it_records_the_dispatcher_token_name_as_the_actor(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("reported")
    await api.post(f"/api/cases/{case_id}/accept", {"importance_level": 1}, token=tokens.dispatcher)

    events = (await api.get(f"/api/cases/{case_id}/events", token=tokens.dispatcher)).body["events"]

    assert events[-1]["event"] == "accepted"
    assert (events[-1]["actor"], events[-1]["actor_role"]) == (Tokens.DISPATCHER_NAME, "dispatcher")


async def test_it_records_the_shared_admin_token_as_admin(api, make_case) -> None:
    case_id = make_case("reported")
    await api.post(f"/api/cases/{case_id}/accept", {"importance_level": 1})

    events = (await api.get(f"/api/cases/{case_id}/events")).body["events"]

    assert (events[-1]["actor"], events[-1]["actor_role"]) == ("admin", "dispatcher")


async def test_it_assigns_by_the_responsibility_list(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("accepted")

    response = await api.post(f"/api/cases/{case_id}/assign", {}, token=tokens.dispatcher)

    assert response.status == 200
    assert response.body["status"] == "assigned"
    assert response.body["lead_unit"]["code"] == LEAD_UNIT
    assert response.body["assigned_at"] is not None


async def test_it_assigns_other_units_when_given_a_reason(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("accepted")

    response = await api.post(
        f"/api/cases/{case_id}/assign",
        {"lead_unit": OTHER_UNIT, "cooperating_units": ["wanghuzhai_zhen_gov"], "reason": "占道焚烧归城管"},
        token=tokens.dispatcher,
    )

    assert response.status == 200
    assert response.body["lead_unit"]["code"] == OTHER_UNIT
    assert [unit["code"] for unit in response.body["cooperating_units"]] == ["wanghuzhai_zhen_gov"]
    events = (await api.get(f"/api/cases/{case_id}/events")).body["events"]
    assert events[-1]["note"] == "占道焚烧归城管"
    assert events[-1]["data"]["override"] is True


async def test_it_wants_a_reason_to_override_the_list(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("accepted")

    response = await api.post(f"/api/cases/{case_id}/assign", {"lead_unit": OTHER_UNIT}, token=tokens.dispatcher)

    assert response.status == 422
    assert response.body["error"]["code"] == "invalid_case_action"
    assert response.body["error"]["context"]["field"] == "reason"


async def test_it_answers_422_for_an_unknown_unit(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("accepted")

    response = await api.post(
        f"/api/cases/{case_id}/assign", {"lead_unit": "no_such_unit", "reason": "试试"}, token=tokens.dispatcher
    )

    assert response.status == 422
    assert response.body["error"]["code"] == "unknown_unit"
    assert response.body["error"]["context"] == {"unit": "no_such_unit"}


async def test_it_answers_422_for_an_unknown_category(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("reported")

    response = await api.post(
        f"/api/cases/{case_id}/accept", {"importance_level": 1, "category": "weather"}, token=tokens.dispatcher
    )

    assert response.status == 422
    assert response.body["error"]["code"] == "unknown_category"


async def test_it_rejects_a_report(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("reported")

    response = await api.post(
        f"/api/cases/{case_id}/reject", {"reason": "out_of_scope", "note": "属于市级事项"}, token=tokens.dispatcher
    )

    assert response.status == 200
    assert (response.body["status"], response.body["rejection_reason"]) == ("rejected", "out_of_scope")


async def test_it_marks_a_duplicate_linked_to_its_original(api, tokens: Tokens, make_case) -> None:
    original = make_case("assigned")
    copy = make_case("reported", reporter_id="wx-resident-2")

    response = await api.post(
        f"/api/cases/{copy}/duplicate", {"of": original.lower(), "note": "同一处焚烧"}, token=tokens.dispatcher
    )

    assert response.status == 200
    assert response.body["status"] == "rejected"
    assert (response.body["rejection_reason"], response.body["duplicate_of"]) == ("duplicate", original)


async def test_it_rejects_as_duplicate_through_reject_too(api, tokens: Tokens, make_case) -> None:
    original = make_case("assigned")
    copy = make_case("reported")

    response = await api.post(
        f"/api/cases/{copy}/reject",
        {"reason": "duplicate", "note": "重复", "duplicate_of": original},
        token=tokens.dispatcher,
    )

    assert response.status == 200
    assert response.body["duplicate_of"] == original


async def test_it_answers_404_for_a_duplicate_of_no_case(api, tokens: Tokens, make_case) -> None:
    copy = make_case("reported")

    response = await api.post(
        f"/api/cases/{copy}/duplicate", {"of": "JL19990101-0001", "note": "重复"}, token=tokens.dispatcher
    )

    assert response.status == 404
    assert response.body["error"]["context"] == {"case_id": "JL19990101-0001"}


async def test_it_wants_the_original_of_a_duplicate(api, tokens: Tokens, make_case) -> None:
    copy = make_case("reported")

    response = await api.post(f"/api/cases/{copy}/duplicate", {"note": "重复"}, token=tokens.dispatcher)

    assert response.status == 422
    assert response.body["error"]["context"] == {"field": "of"}


async def test_it_reopens_a_case_under_review_with_a_new_deadline(
    api, tokens: Tokens, make_case, clock
) -> None:
    case_id = make_case("review")
    before = (await api.get(f"/api/cases/{case_id}")).body
    clock.advance(dt.timedelta(days=1))

    response = await api.post(f"/api/cases/{case_id}/reopen", {}, token=tokens.dispatcher)

    assert before["needs_review"] is True
    assert response.status == 200
    assert (response.body["status"], response.body["needs_review"]) == ("assigned", False)
    assert response.body["deadline"] > before["deadline"]
    events = (await api.get(f"/api/cases/{case_id}/events")).body["events"]
    assert events[-1]["event"] == "assigned" and events[-1]["data"]["new_round"] is True


async def test_it_reopens_only_a_case_under_review(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("returned")  # a unit said "not ours": that is assign's work

    response = await api.post(f"/api/cases/{case_id}/reopen", {}, token=tokens.dispatcher)

    assert response.status == 409
    error = response.body["error"]
    assert error["code"] == "illegal_transition"
    assert error["context"]["from_status"] == "returned"
    assert error["context"]["reason"] == "the case is not under dispatcher review"


async def test_it_reassigns_a_case_a_unit_returned(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("returned")

    response = await api.post(
        f"/api/cases/{case_id}/assign",
        {"category": "city_management", "reason": "单位退回，改派城管"},
        token=tokens.dispatcher,
    )

    assert response.status == 200
    assert (response.body["status"], response.body["lead_unit"]["code"]) == ("assigned", OTHER_UNIT)


async def test_it_closes_a_case_after_review(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("review")

    response = await api.post(f"/api/cases/{case_id}/close", {"reason": "已两次现场核实，答复清楚"}, token=tokens.dispatcher)

    assert response.status == 200
    assert response.body["status"] == "closed"
    assert response.body["closed_at"] is not None


async def test_it_wants_a_reason_to_close(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("review")

    response = await api.post(f"/api/cases/{case_id}/close", {"reason": "  "}, token=tokens.dispatcher)

    assert response.status == 422
    assert response.body["error"]["context"]["field"] == "reason"


async def test_it_answers_409_for_an_action_the_status_does_not_allow(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("reported")

    response = await api.post(f"/api/cases/{case_id}/assign", {}, token=tokens.dispatcher)

    assert response.status == 409
    error = response.body["error"]
    assert error["code"] == "illegal_transition"
    assert (error["context"]["event"], error["context"]["from_status"]) == ("assigned", "reported")
    assert (await api.get(f"/api/cases/{case_id}")).body["status"] == "reported"


async def test_it_answers_404_for_an_action_on_no_case(api, tokens: Tokens) -> None:
    response = await api.post("/api/cases/JL19990101-0001/accept", {"importance_level": 1}, token=tokens.dispatcher)

    assert response.status == 404
    assert response.body["error"]["code"] == "case_not_found"


async def test_it_lists_the_audit_trail_oldest_first(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("in_progress")

    response = await api.get(f"/api/cases/{case_id}/events", token=tokens.dispatcher)

    assert response.status == 200
    assert response.body["case_id"] == case_id
    events = response.body["events"]
    assert [e["event"] for e in events] == ["filed", "accepted", "assigned", "acknowledged"]
    assert [(e["from_status"], e["to_status"]) for e in events[1:]] == [
        ("reported", "accepted"), ("accepted", "assigned"), ("assigned", "in_progress"),
    ]
    assert set(events[0]) == {"at", "actor", "actor_role", "event", "from_status", "to_status", "note", "data"}
    assert dt.datetime.fromisoformat(events[0]["at"]).utcoffset() is not None


async def test_it_answers_404_for_the_events_of_no_case(api) -> None:
    response = await api.get("/api/cases/JL19990101-0001/events")

    assert response.status == 404


@sqlite_only
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"importance_level": "2"}, "importance_level"),
        ({"importance_level": 2.0}, "importance_level"),
        ({"importance_level": True}, "importance_level"),
        ({"importance_level": 1, "category": 7}, "category"),
        ({"importance_level": 1, "note": ["a"]}, "note"),
    ],
)
async def test_it_answers_422_for_a_field_of_the_wrong_type(api, tokens: Tokens, make_case, body, field) -> None:
    case_id = make_case("reported")

    response = await api.post(f"/api/cases/{case_id}/accept", body, token=tokens.dispatcher)

    assert response.status == 422
    assert response.body["error"]["code"] == "invalid_request_body"
    assert response.body["error"]["context"] == {"field": field}


@sqlite_only
@pytest.mark.parametrize("level", [0, 4, None])
async def test_it_answers_422_for_an_importance_level_outside_1_to_3(api, tokens: Tokens, make_case, level) -> None:
    case_id = make_case("reported")

    response = await api.post(f"/api/cases/{case_id}/accept", {"importance_level": level}, token=tokens.dispatcher)

    assert response.status == 422
    assert response.body["error"]["code"] == "invalid_case_action"
    assert response.body["error"]["context"]["field"] == "importance_level"


@sqlite_only
async def test_it_refuses_unknown_fields(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("accepted")

    response = await api.post(
        f"/api/cases/{case_id}/assign", {"cooperating_unit": ["x"]}, token=tokens.dispatcher
    )

    assert response.status == 422
    assert response.body["error"]["context"]["fields"] == ["cooperating_unit"]
    assert "cooperating_units" in response.body["error"]["context"]["allowed"]


@sqlite_only
@pytest.mark.parametrize(("data", "status"), [(b"{not json", 400), (b"\xff\xfe", 400), (b"[1, 2]", 422)])
async def test_it_answers_json_errors_for_a_body_that_is_no_object(
    api, tokens: Tokens, make_case, data: bytes, status: int
) -> None:
    case_id = make_case("reported")

    response = await api.post(f"/api/cases/{case_id}/accept", data=data, token=tokens.dispatcher)

    assert response.status == status
    assert response.body["error"]["code"] in {"malformed_json", "invalid_request_body"}


@sqlite_only
async def test_it_answers_405_for_a_get_on_an_action(api, make_case) -> None:
    case_id = make_case("reported")

    response = await api.get(f"/api/cases/{case_id}/accept")

    assert response.status == 405
