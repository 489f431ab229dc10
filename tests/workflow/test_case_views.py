"""What API clients read of a case and of its audit trail: every closed-loop field, JSON-ready."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from workflow.case_views import normalize_case_id
from workflow.cases import NewReport
from workflow.transitions import Actor

CLOSED_LOOP_FIELDS = {
    "suggested_matter_type", "importance_level", "accepted_at", "assigned_at", "resolved_at", "closed_at", "result",
    "result_photo", "rating", "rating_label", "rating_comment", "unsatisfied_count", "rejection_reason",
    "duplicate_of", "needs_review",
}  # fmt: skip


def _file(case_service, **overrides):
    values = dict(
        description="小区门口下水道堵了，污水横流",
        category_code="urban_rural_construction",
        suggested_category_code="urban_rural_construction",
        category_confidence=0.7,
        matter_type="public_service",
        township="巨鹿镇",
        reporter_id="wx-7",
    )
    values.update(overrides)
    return case_service.file_report(NewReport(**values))


def test_a_new_case_shows_empty_closed_loop_fields(case_service):
    data = _file(case_service).to_dict()
    assert CLOSED_LOOP_FIELDS <= set(data)
    assert data["suggested_matter_type"] == "public_service"
    assert data["unsatisfied_count"] == 0 and data["needs_review"] is False
    assert all(data[key] is None for key in CLOSED_LOOP_FIELDS - {"suggested_matter_type", "unsatisfied_count",
                                                                   "needs_review"})  # fmt: skip


def test_a_closed_case_shows_its_whole_loop(case_service, lifecycle, clock):
    case_id = _file(case_service).case_id
    unit = Actor.unit("county_housing")
    lifecycle.accept(case_id, Actor.dispatcher("d-1"), importance_level=3, matter_type="other")
    lifecycle.assign(case_id, Actor.dispatcher("d-1"))
    lifecycle.acknowledge(case_id, unit)
    clock.advance(dt.timedelta(hours=5))
    lifecycle.resolve(case_id, unit, result="已疏通下水道", photo="oss://p/1.jpg")
    clock.advance(dt.timedelta(hours=1))
    view = lifecycle.rate(case_id, Actor.resident("wx-7"), "satisfied", comment="谢谢")

    data = json.loads(json.dumps(view.to_dict(), ensure_ascii=False))

    assert (data["status"], data["matter_type"], data["suggested_matter_type"]) == ("closed", "other", "public_service")
    assert (data["importance_level"], data["result"], data["result_photo"]) == (3, "已疏通下水道", "oss://p/1.jpg")
    assert (data["rating"], data["rating_label"], data["rating_comment"]) == ("satisfied", "满意", "谢谢")
    assert data["accepted_at"] == data["assigned_at"] == "2026-11-30T01:30:00+00:00"
    assert (data["resolved_at"], data["closed_at"]) == ("2026-11-30T06:30:00+00:00", "2026-11-30T07:30:00+00:00")
    assert data["status_description"] == f"您的工单{case_id}已办结归档，感谢您的反映。"


def test_a_rejected_duplicate_shows_its_original(case_service, lifecycle):
    original = _file(case_service).case_id
    copy = _file(case_service).case_id
    data = lifecycle.reject(copy, Actor.dispatcher("d-1"), reason="duplicate", note="重复", duplicate_of=original)
    assert (data.to_dict()["rejection_reason"], data.to_dict()["duplicate_of"]) == ("duplicate", original)


def test_the_audit_trail_is_json_ready(case_service, lifecycle):
    case_id = _file(case_service).case_id
    lifecycle.accept(case_id, Actor.dispatcher("d-1"), importance_level=1)
    rows = [row.to_dict() for row in lifecycle.history(case_id)]
    assert json.loads(json.dumps(rows, ensure_ascii=False)) == rows
    assert [(r["event"], r["from_status"], r["to_status"]) for r in rows] == [
        ("filed", None, "reported"),
        ("accepted", "reported", "accepted"),
    ]
    assert rows[1]["at"] == "2026-11-30T01:30:00+00:00"


@pytest.mark.parametrize("typed", [" ｊｌ20261130－0001 ", "jl20261130-0001", "JL20261130-0001。"])
def test_case_ids_are_forgiven_their_typing(typed):
    assert normalize_case_id(typed) == "JL20261130-0001"
