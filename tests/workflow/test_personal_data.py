"""Audited views of residents' personal data (workflow.personal_data)."""

from __future__ import annotations

import datetime as dt

import pytest

from workflow.accounts import AccountService
from workflow.exceptions import CaseNotFound
from workflow.personal_data import UnknownPersonalField, record_view, views_of
from workflow_support import report

PASSWORD = "Julu2026console"


def test_a_view_returns_the_number_and_leaves_its_record(session_factory, case_service, clock):
    case_id = case_service.file_report(report(reporter_phone="138 1234 5678")).case_id
    account = AccountService(session_factory, clock).create("wangfang", PASSWORD, role="dispatcher",
                                                            display_name="调度员王芳")
    assert views_of(session_factory, case_id) == []

    shown = record_view(session_factory, case_id.lower(), actor=account.display_name, account_id=account.id,
                        client_ip="10.0.0.7", now=clock.now)
    clock.advance(dt.timedelta(minutes=5))
    record_view(session_factory, case_id, actor="平台管理员", now=clock.now)

    assert shown == "13812345678"
    views = views_of(session_factory, case_id)
    assert [(v.actor, v.account_id, v.field, v.client_ip) for v in views] == [
        ("调度员王芳", account.id, "reporter_phone", "10.0.0.7"), ("平台管理员", None, "reporter_phone", None)]
    assert views[0].at < views[1].at and views[0].at.tzinfo is not None and views[0].case_id == case_id


def test_a_case_without_a_number_still_records_the_request(session_factory, case_service):
    case_id = case_service.file_report(report()).case_id

    assert record_view(session_factory, case_id, actor="调度员王芳") is None
    assert len(views_of(session_factory, case_id)) == 1


def test_it_refuses_unknown_cases_fields_and_anonymous_viewers(session_factory, case_service):
    case_id = case_service.file_report(report(reporter_phone="13812345678")).case_id
    with pytest.raises(CaseNotFound):
        record_view(session_factory, "JL20261130-9999", actor="调度员王芳")
    with pytest.raises(CaseNotFound):
        views_of(session_factory, "JL20261130-9999")
    with pytest.raises(UnknownPersonalField):
        record_view(session_factory, case_id, actor="调度员王芳", field="description")
    with pytest.raises(ValueError):
        record_view(session_factory, case_id, actor="  ")
    assert views_of(session_factory, case_id) == []
