"""Unit routes (``GET /api/unit/cases``, ``POST /api/cases/<id>/acknowledge|notes|return|resolve``) as a unit's
staff see them, with a unit token or an admin acting for a unit (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from admin_support import LEAD_UNIT, OTHER_UNIT, Tokens

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _ids(body: dict) -> list[str]:
    return [case["case_id"] for case in body["cases"]]


async def test_it_lists_the_cases_assigned_to_the_unit_earliest_deadline_first(
    api, tokens: Tokens, make_case, clock
) -> None:
    ordinary = make_case("assigned")
    clock.advance(dt.timedelta(minutes=5))
    urgent = make_case("in_progress", matter_type="public_service")  # 2 working days, not 7
    make_case("accepted")  # routed to the unit, but not assigned yet: not its business
    make_case("assigned", category_code="city_management")  # another unit's

    response = await api.get("/api/unit/cases", token=tokens.lead_unit)

    assert response.status == 200
    assert response.body["unit"] == {"code": LEAD_UNIT, "name": "县生态环境分局"}
    assert _ids(response.body) == [urgent, ordinary]
    assert (response.body["limit"], response.body["offset"]) == (50, 0)


async def test_it_filters_the_unit_list_by_status(api, tokens: Tokens, make_case) -> None:
    assigned = make_case("assigned")
    working = make_case("in_progress")
    returned = make_case("returned")

    one = await api.get("/api/unit/cases", {"status": "in_progress"}, token=tokens.lead_unit)
    several = await api.get(
        "/api/unit/cases?status=assigned&status=returned", token=tokens.lead_unit
    )

    assert _ids(one.body) == [working]
    assert sorted(_ids(several.body)) == sorted([assigned, returned])


async def test_it_pages_the_unit_list(api, tokens: Tokens, make_case, clock) -> None:
    cases = []
    for _ in range(3):
        cases.append(make_case("assigned"))
        clock.advance(dt.timedelta(hours=1))

    response = await api.get("/api/unit/cases", {"limit": "1", "offset": "1"}, token=tokens.lead_unit)

    assert _ids(response.body) == [cases[1]]


async def test_it_shows_another_units_list_to_that_unit_only(api, tokens: Tokens, make_case) -> None:
    theirs = make_case("assigned", category_code="city_management")

    other = await api.get("/api/unit/cases", token=tokens.other_unit)
    lead = await api.get("/api/unit/cases", token=tokens.lead_unit)

    assert _ids(other.body) == [theirs]
    assert other.body["unit"]["code"] == OTHER_UNIT
    assert _ids(lead.body) == []


async def test_it_lets_an_admin_list_a_named_units_cases(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("assigned")

    response = await api.get("/api/unit/cases", {"unit": LEAD_UNIT}, token=tokens.admin)

    assert response.status == 200
    assert _ids(response.body) == [case_id]


@sqlite_only
async def test_it_wants_an_admin_to_name_the_unit(api, tokens: Tokens) -> None:
    missing = await api.get("/api/unit/cases", token=tokens.admin)
    unknown = await api.get("/api/unit/cases", {"unit": "no_such_unit"}, token=tokens.admin)

    assert (missing.status, unknown.status) == (422, 422)
    assert missing.body["error"]["context"]["parameter"] == "unit"
    assert unknown.body["error"]["context"] == {"parameter": "unit", "value": "no_such_unit"}


@sqlite_only
async def test_it_refuses_a_unit_token_naming_another_unit(api, tokens: Tokens) -> None:
    same = await api.get("/api/unit/cases", {"unit": LEAD_UNIT}, token=tokens.lead_unit)
    other = await api.get("/api/unit/cases", {"unit": OTHER_UNIT}, token=tokens.lead_unit)

    assert same.status == 200
    assert other.status == 403
    assert other.body["error"]["code"] == "actor_not_allowed"


@sqlite_only
@pytest.mark.parametrize(("parameter", "value"), [("status", "done"), ("limit", "0"), ("offset", "-1")])
async def test_it_answers_422_for_a_bad_unit_list_parameter(api, tokens: Tokens, parameter, value) -> None:
    response = await api.get("/api/unit/cases", {parameter: value}, token=tokens.lead_unit)

    assert response.status == 422
    assert response.body["error"]["context"]["parameter"] == parameter


async def test_it_acknowledges_a_case(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("assigned")

    response = await api.post(f"/api/cases/{case_id}/acknowledge", token=tokens.lead_unit)

    assert response.status == 200
    assert response.body["status"] == "in_progress"
    events = (await api.get(f"/api/cases/{case_id}/events", token=tokens.lead_unit)).body["events"]
    assert (events[-1]["actor"], events[-1]["actor_role"]) == (Tokens.LEAD_UNIT_NAME, "unit")
    assert events[-1]["data"]["unit"] == LEAD_UNIT


async def test_it_adds_a_progress_note_without_changing_the_status(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("in_progress")

    response = await api.post(f"/api/cases/{case_id}/notes", {"note": "已联系村委会，明天到现场"}, token=tokens.lead_unit)

    assert response.status == 200
    assert response.body["status"] == "in_progress"
    events = (await api.get(f"/api/cases/{case_id}/events", token=tokens.lead_unit)).body["events"]
    assert (events[-1]["event"], events[-1]["note"]) == ("progress_noted", "已联系村委会，明天到现场")


async def test_it_returns_a_case_to_the_dispatcher(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("assigned")

    response = await api.post(f"/api/cases/{case_id}/return", {"reason": "属城管职责"}, token=tokens.lead_unit)

    assert response.status == 200
    assert response.body["status"] == "returned"


async def test_it_resolves_a_case_with_a_photo(api, tokens: Tokens, make_case, clock) -> None:
    case_id = make_case("in_progress")

    response = await api.post(
        f"/api/cases/{case_id}/resolve",
        {"result": "已到现场制止焚烧并清理", "photo": "https://files.example/case/1.jpg"},
        token=tokens.lead_unit,
    )

    assert response.status == 200
    body = response.body
    assert (body["status"], body["result"], body["result_photo"]) == (
        "resolved", "已到现场制止焚烧并清理", "https://files.example/case/1.jpg",
    )
    assert dt.datetime.fromisoformat(body["resolved_at"]) == clock.now


async def test_it_lets_an_admin_act_for_a_named_unit(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("assigned")

    response = await api.post(f"/api/cases/{case_id}/acknowledge", params={"unit": LEAD_UNIT}, token=tokens.admin)

    assert response.status == 200
    events = (await api.get(f"/api/cases/{case_id}/events")).body["events"]
    assert (events[-1]["actor"], events[-1]["actor_role"], events[-1]["data"]["unit"]) == (
        "admin", "unit", LEAD_UNIT,
    )


async def test_it_answers_403_when_a_unit_acts_on_a_case_it_does_not_lead(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("assigned")

    response = await api.post(f"/api/cases/{case_id}/acknowledge", token=tokens.other_unit)

    assert response.status == 403
    assert response.body["error"]["code"] == "not_case_unit"
    assert response.body["error"]["context"] == {"case_id": case_id, "unit": OTHER_UNIT}


async def test_it_answers_403_when_a_unit_reads_a_case_not_assigned_to_it(api, tokens: Tokens, make_case) -> None:
    not_yet = make_case("accepted")  # the list routes it to the lead unit, but no dispatcher assigned it
    others = make_case("assigned", category_code="city_management")
    mine = make_case("assigned")

    responses = [await api.get(f"/api/cases/{case_id}", token=tokens.lead_unit) for case_id in (not_yet, others, mine)]

    assert [r.status for r in responses] == [403, 403, 200]
    assert responses[0].body["error"]["code"] == "not_case_unit"


async def test_it_answers_404_when_a_unit_reads_no_case(api, tokens: Tokens) -> None:
    response = await api.get("/api/cases/JL19990101-0001", token=tokens.lead_unit)

    assert response.status == 404


async def test_it_answers_409_when_resolving_before_acknowledging(api, tokens: Tokens, make_case) -> None:
    case_id = make_case("assigned")

    response = await api.post(f"/api/cases/{case_id}/resolve", {"result": "已处理"}, token=tokens.lead_unit)

    assert response.status == 409
    assert response.body["error"]["code"] == "illegal_transition"
    assert response.body["error"]["context"]["from_status"] == "assigned"


@sqlite_only
@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("notes", {}, "note"),
        ("notes", {"note": "  "}, "note"),
        ("return", {}, "reason"),
        ("resolve", {"photo": "x.jpg"}, "result"),
        ("resolve", {"result": "已处理", "photo": "x" * 513}, "photo"),
    ],
)
async def test_it_answers_422_for_missing_or_invalid_input(api, tokens: Tokens, make_case, action, body, field) -> None:
    case_id = make_case("in_progress")

    response = await api.post(f"/api/cases/{case_id}/{action}", body, token=tokens.lead_unit)

    assert response.status == 422
    assert response.body["error"]["code"] == "invalid_case_action"
    assert response.body["error"]["context"]["field"] == field
