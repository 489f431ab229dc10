"""``/api/cases``: what an API client sees for cases filed through the case service (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from admin.app import create_app
from workflow.cases import CaseService, CaseView, NewReport

# Query validation happens before the database is asked: checking it on one engine is enough.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CASE_FIELDS = {
    "case_id",
    "status",
    "category",
    "matter_type",
    "township",
    "village",
    "description",
    "reporter",
    "channel",
    "created_at",
    "deadline",
    "lead_unit",
    "cooperating_units",
}


def _report(**overrides: object) -> NewReport:
    values: dict = {
        "description": "东关村村口有人焚烧秸秆，烟很大",
        "category_code": "eco_environment",
        "matter_type": "other",
        "township": "王虎寨镇",
        "reporter_id": "wx-resident-1",
        "channel": "wechat",
    }
    values.update(overrides)
    return NewReport(**values)


@pytest.fixture
def filed(case_service: CaseService, clock) -> list[CaseView]:
    """Four cases filed ten minutes apart, oldest first."""
    reports = [
        _report(),
        _report(
            description="小区楼道灯坏了一个月没人修",
            category_code="urban_rural_construction",
            matter_type="public_service",
            township="julu_zhen",
            reporter_id="wx-resident-2",
        ),
        _report(
            description="路边有人占道经营",
            category_code="city_management",
            township="巨鹿",
            reporter_id="wx-resident-1",
            reporter_phone="13800138000",
        ),
        _report(
            description="想问一下低保怎么申请",
            category_code="civil_affairs",
            matter_type="policy_consultation",
            township="官亭",
            reporter_id="hotline-0319-1",
            channel="hotline",
        ),
    ]
    views = []
    for report in reports:
        views.append(case_service.file_report(report))
        clock.advance(dt.timedelta(minutes=10))
    return views


def _ids(body: dict) -> list[str]:
    return [case["case_id"] for case in body["cases"]]


async def test_it_returns_a_case_as_json(api, filed: list[CaseView], clock) -> None:
    case = filed[0]

    response = await api.get(f"/api/cases/{case.case_id}")

    assert response.status == 200
    body = response.body
    assert CASE_FIELDS <= body.keys()
    assert body["case_id"] == case.case_id
    assert body["status"] == "reported"
    assert body["category"] == "eco_environment"
    assert body["matter_type"] == "other"
    assert body["township"] == "wanghuzhai_zhen"
    assert body["description"] == "东关村村口有人焚烧秸秆，烟很大"
    assert body["reporter"] == "wx-resident-1"
    assert body["channel"] == "wechat"
    assert body["lead_unit"] == {"code": "county_ecology", "name": "县生态环境分局"}
    assert {"code": "wanghuzhai_zhen_gov", "name": "王虎寨镇人民政府"} in body["cooperating_units"]


async def test_it_gives_dates_in_iso_8601_with_an_offset(api, filed: list[CaseView]) -> None:
    case = filed[0]

    body = (await api.get(f"/api/cases/{case.case_id}")).body

    created_at = dt.datetime.fromisoformat(body["created_at"])
    deadline = dt.datetime.fromisoformat(body["deadline"])
    assert created_at.utcoffset() is not None and deadline.utcoffset() is not None
    assert created_at == case.created_at
    assert deadline == case.deadline
    assert deadline > created_at


async def test_it_finds_a_case_id_typed_in_lower_case(api, filed: list[CaseView]) -> None:
    case = filed[1]

    response = await api.get(f"/api/cases/{case.case_id.lower()}")

    assert response.status == 200
    assert response.body["case_id"] == case.case_id


async def test_it_answers_404_json_for_an_unknown_case(api, filed: list[CaseView]) -> None:
    response = await api.get("/api/cases/JL19990101-0001")

    assert response.status == 404
    assert response.body["error"]["code"] == "case_not_found"
    assert response.body["error"]["context"] == {"case_id": "JL19990101-0001"}
    assert response.body["error"]["message"]


async def test_it_lists_cases_newest_first_with_the_page(api, filed: list[CaseView]) -> None:
    response = await api.get("/api/cases")

    assert response.status == 200
    assert _ids(response.body) == [case.case_id for case in reversed(filed)]
    assert response.body["limit"] == 50
    assert response.body["offset"] == 0
    assert response.body["cases"][0] == filed[-1].to_dict()


async def test_it_pages_with_limit_and_offset(api, filed: list[CaseView]) -> None:
    response = await api.get("/api/cases", {"limit": "2", "offset": "1"})

    assert response.status == 200
    assert _ids(response.body) == [filed[2].case_id, filed[1].case_id]
    assert (response.body["limit"], response.body["offset"]) == (2, 1)


async def test_it_filters_by_reporter(api, filed: list[CaseView]) -> None:
    response = await api.get("/api/cases", {"reporter": "wx-resident-1"})

    assert _ids(response.body) == [filed[2].case_id, filed[0].case_id]


async def test_it_filters_by_status(api, filed: list[CaseView]) -> None:
    reported = await api.get("/api/cases", {"status": "reported"})
    closed = await api.get("/api/cases", {"status": "closed"})

    assert len(reported.body["cases"]) == len(filed)
    assert closed.status == 200
    assert closed.body["cases"] == []


async def test_it_filters_by_category(api, filed: list[CaseView]) -> None:
    response = await api.get("/api/cases", {"category": "civil_affairs"})

    assert _ids(response.body) == [filed[3].case_id]


@pytest.mark.parametrize("township", ["julu_zhen", "巨鹿镇", "巨鹿"])
async def test_it_filters_by_township_code_name_or_alias(
    api, filed: list[CaseView], township: str
) -> None:
    response = await api.get("/api/cases", {"township": township})

    assert response.status == 200
    assert _ids(response.body) == [filed[2].case_id, filed[1].case_id]


async def test_it_combines_filters(api, filed: list[CaseView]) -> None:
    response = await api.get(
        "/api/cases", {"reporter": "wx-resident-1", "category": "eco_environment", "status": "reported"}
    )

    assert _ids(response.body) == [filed[0].case_id]


async def test_it_ignores_unknown_and_empty_query_parameters(api, filed: list[CaseView]) -> None:
    response = await api.get("/api/cases", {"colour": "blue", "status": "", "_": "1701234567"})

    assert response.status == 200
    assert len(response.body["cases"]) == len(filed)


@sqlite_only
@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("status", "bogus"),
        ("status", "REPORTED"),
        ("category", "not_a_category"),
        ("category", "生态环境"),
        ("township", "北京"),
        ("limit", "0"),
        ("limit", "201"),
        ("limit", "abc"),
        ("limit", "1.5"),
        ("limit", "-1"),
        ("limit", "+5"),
        ("offset", "-1"),
        ("offset", "ten"),
        ("offset", "99999999999999999999"),
        ("reporter", "x" * 201),
    ],
)
async def test_it_rejects_invalid_query_parameters_with_422(
    api, parameter: str, value: str
) -> None:
    response = await api.get("/api/cases", {parameter: value})

    assert response.status == 422
    error = response.body["error"]
    assert error["code"] == "invalid_query_parameter"
    assert error["context"]["parameter"] == parameter
    assert parameter in error["message"]


@sqlite_only
async def test_it_lists_the_allowed_values_of_a_bad_status(api) -> None:
    response = await api.get("/api/cases", {"status": "bogus"})

    context = response.body["error"]["context"]
    assert context["value"] == "bogus"
    assert "reported" in context["allowed"] and "in_progress" in context["allowed"]


@pytest.mark.parametrize("limit", ["1", "200"])
async def test_it_accepts_limits_at_both_ends(api, filed: list[CaseView], limit: str) -> None:
    response = await api.get("/api/cases", {"limit": limit})

    assert response.status == 200
    assert len(response.body["cases"]) == min(int(limit), len(filed))


async def test_it_answers_500_json_without_a_stack_trace_when_the_database_fails(
    make_settings, serve_app, unreachable_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(unreachable_database_url))
    async with serve_app(app) as api:
        response = await api.get("/api/cases")

    assert response.status == 500
    assert response.body == {
        "error": {"code": "internal_error", "message": "Internal server error; it has been logged.", "context": {}}
    }
    assert "Traceback" not in str(response.body)
    logged = [r for r in caplog.records if r.name == "admin.errors" and r.exc_info]
    assert logged and "GET /api/cases" in logged[0].getMessage()


async def test_dispatchers_list_the_overdue_cases(api, case_service, lifecycle, clock, session_factory):
    from admin_support import report
    from workflow.jobs.sweep import run_due
    from workflow.transitions import Actor

    late = case_service.file_report(report(matter_type="policy_consultation")).case_id
    on_time = case_service.file_report(report()).case_id
    for case_id in (late, on_time):
        lifecycle.accept(case_id, Actor.dispatcher("李"), importance_level=1)
    run_due(lifecycle, lifecycle.get(late).deadline)  # the sweep at the policy question's deadline

    overdue = await api.get("/api/cases", {"overdue": "true"})
    assert [c["case_id"] for c in overdue.body["cases"]] == [late] and overdue.body["cases"][0]["overdue"] is True
    in_time = await api.get("/api/cases", {"overdue": "false"})
    assert [c["case_id"] for c in in_time.body["cases"]] == [on_time]
    assert (await api.get("/api/cases", {"overdue": "maybe"})).status == 422
