"""Case statuses and the sentences residents read about them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from workflow.routing import UnitRef
from workflow.status import CaseStatus, describe_status, status_label

DEADLINE = dt.datetime(2026, 12, 9, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass
class _Case:
    status: str
    case_id: str = "JL20261130-0007"
    deadline: dt.datetime | None = DEADLINE
    lead_unit: UnitRef | None = UnitRef("county_ecology", "县生态环境分局")
    needs_review: bool = False


def test_every_status_has_its_own_label():
    labels = [status.label for status in CaseStatus]
    assert len(set(labels)) == len(CaseStatus) == 9
    assert CaseStatus.REPORTED.label == "已登记，等待受理"
    assert CaseStatus("in_progress") is CaseStatus.IN_PROGRESS


def test_the_assigned_label_names_the_unit():
    assert status_label("assigned", "县生态环境分局") == "已派单至县生态环境分局"
    assert status_label(CaseStatus.ASSIGNED) == "已派单至承办单位"
    assert status_label("accepted", "县生态环境分局") == "已受理"


@pytest.mark.parametrize(
    "status,sentence",
    [
        ("reported", "您的工单JL20261130-0007已登记，等待受理。"),
        ("assigned", "您的工单JL20261130-0007已派单至县生态环境分局，办理时限为2026年12月9日(星期三)17:30前。"),
        ("in_progress", "您的工单JL20261130-0007正在由县生态环境分局办理，办理时限为2026年12月9日(星期三)17:30前。"),
        ("resolved", "您的工单JL20261130-0007已办结，请您对办理结果进行评价。"),
        ("reopened", "您的工单JL20261130-0007已重新交办给县生态环境分局，办理时限为2026年12月9日(星期三)17:30前。"),
    ],
)
def test_it_describes_a_case_to_its_reporter(status, sentence):
    assert describe_status(_Case(status)) == sentence


def test_every_status_has_a_sentence_with_the_case_id():
    for status in CaseStatus:
        assert describe_status(_Case(status.value)).startswith("您的工单JL20261130-0007")


def test_it_rejects_unknown_statuses():
    with pytest.raises(ValueError):
        describe_status(_Case("lost"))


def test_only_resolved_closed_and_rejected_are_not_open():
    assert {s for s in CaseStatus if not s.is_open} == {CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.REJECTED}


def test_a_case_under_dispatcher_review_is_told_as_such():
    sentence = describe_status(_Case("returned", needs_review=True))
    assert sentence == "您的工单JL20261130-0007已转交调度人员复核，我们会尽快给您答复。"
    assert describe_status(_Case("returned")).startswith("您的工单JL20261130-0007正在重新派单")
