"""帮我办 (proxy) cases (issue 6): assignment to the household's grid worker, acceptance at once, the first response
due in 2 working days, the requester told at each step, the dispatcher choosing the grid when nobody can."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from grid_support import ONE_GRID_VILLAGE, bind_resident, make_grids, proxy
from workflow.cases import CaseService
from workflow.exceptions import InvalidReport, NotCaseAssignee
from workflow.grid_work import GridWork
from workflow.models import Notification
from workflow.status import CaseStatus
from workflow.transitions import Actor

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def workers(session_factory):
    return make_grids(session_factory)


def _requester_messages(session_factory, sender="wx-son-far-away"):
    with session_factory() as session:
        return list(session.execute(select(Notification).where(Notification.recipient_role == "resident",
                                                               Notification.recipient_id == sender)
                                    .order_by(Notification.id)).scalars())


def test_an_unbound_relatives_request_goes_to_the_villages_only_grid_worker_and_is_accepted(
        case_service, session_factory, workers, clock):
    view = case_service.file_report(proxy())

    assert (view.kind, view.beneficiary, view.grid_code, view.grid_name) == ("proxy", "家里老人", "XHZ-1", "第一网格")
    assert (view.assignee_account_id, view.assignee_name) == (workers["liu"], "刘洋")
    assert view.status is CaseStatus.ASSIGNED and not view.needs_review
    assert view.lead_unit.code == "county_civil_affairs"  # the routed unit stays the lead unit
    assert view.accepted_at == view.assigned_at == clock.now
    # Monday 30 Nov 2026 09:30: 2 working days → Wednesday 2 Dec 17:30 Shanghai; public service: the same.
    assert view.first_response_due == dt.datetime(2026, 12, 2, 17, 30, tzinfo=SHANGHAI)
    assert view.deadline == dt.datetime(2026, 12, 2, 17, 30, tzinfo=SHANGHAI)
    [told] = _requester_messages(session_factory)
    assert told.kind == "proxy_filed"
    assert "帮我办" in told.text and "家里老人" in told.text and view.case_id in told.text
    assert "已交给小韩寨村网格员刘洋，两个工作日内" in told.text
    assert told.delivered_at is not None  # the bot says it in the same turn


def test_the_first_response_is_due_two_working_days_later_on_the_official_calendar_across_national_day(
        session_factory, calendar, workers):
    # Wednesday 30 Sep 2026 09:00 Shanghai; 1–7 Oct are the National Day holiday: day 1 is Thu 8 Oct, day 2 Fri 9 Oct.
    filed_at = dt.datetime(2026, 9, 30, 9, 0, tzinfo=SHANGHAI)
    service = CaseService(session_factory, calendar, clock=lambda: filed_at)
    view = service.file_report(proxy(matter_type="other"))
    assert view.first_response_due == dt.datetime(2026, 10, 9, 17, 30, tzinfo=SHANGHAI)
    assert view.deadline > view.first_response_due  # the whole case keeps its matter type's deadline (7 days)


def test_the_household_of_the_bound_requester_decides_among_several_grids(case_service, session_factory, workers):
    bind_resident(session_factory, "H-DHZ-1", "wechat", "wx-son-far-away")
    view = case_service.file_report(proxy(village="大韩寨村"))
    assert (view.grid_code, view.assignee_name, view.status) == ("DHZ-1", "赵敏", CaseStatus.ASSIGNED)


def test_several_grids_and_no_household_wait_for_the_dispatcher_with_the_reason(case_service, lifecycle,
                                                                                 session_factory, workers):
    view = case_service.file_report(proxy(village="大韩寨村"))

    assert view.status is CaseStatus.REPORTED and view.needs_review
    assert (view.grid_code, view.assignee_account_id, view.first_response_due) == (None, None, None)
    [filed] = lifecycle.history(view.case_id)
    assert "未能确定被帮办人所在的网格" in filed.note and filed.data["review_reason"] == filed.note
    [told] = _requester_messages(session_factory)
    assert "正在为您安排网格员" in told.text


def test_a_grid_without_a_worker_waits_for_the_dispatcher(case_service, lifecycle, session_factory, workers):
    bind_resident(session_factory, "H-DHZ-2", "wechat", "wx-son-far-away")  # DHZ-2 has no worker
    view = case_service.file_report(proxy(village="大韩寨村"))
    assert (view.grid_code, view.assignee_account_id, view.needs_review) == ("DHZ-2", None, True)
    assert "暂无网格员" in lifecycle.history(view.case_id)[0].note


def test_the_dispatcher_sets_the_grid_and_the_case_goes_to_its_worker(case_service, session_factory, calendar, clock,
                                                                       workers):
    view = case_service.file_report(proxy(village="大韩寨村"))
    work = GridWork(session_factory, calendar, clock=clock)
    clock.advance(dt.timedelta(hours=1))
    after = work.set_grid(view.case_id, Actor.dispatcher("调度员王芳"), "DHZ-1")
    assert (after.grid_code, after.assignee_name, after.status, after.needs_review) == (
        "DHZ-1", "赵敏", CaseStatus.ASSIGNED, False)
    assert after.first_response_due == dt.datetime(2026, 12, 2, 17, 30, tzinfo=SHANGHAI)
    assert "已交给大韩寨村网格员赵敏" in _requester_messages(session_factory)[-1].text
    with pytest.raises(Exception):  # a grid without a worker cannot take a proxy case
        work.set_grid(view.case_id, Actor.dispatcher("调度员王芳"), "DHZ-2")


def test_the_worker_acknowledges_notes_and_resolves_and_the_requester_hears_each_step(
        case_service, lifecycle, session_factory, clock, workers):
    view = case_service.file_report(proxy())
    liu = Actor.grid_worker(workers["liu"], "刘洋")
    clock.advance(dt.timedelta(hours=3))
    acknowledged = lifecycle.acknowledge(view.case_id, liu, note="已电话联系老人，明天上门")
    assert acknowledged.status is CaseStatus.IN_PROGRESS and acknowledged.first_response_at == clock.now
    clock.advance(dt.timedelta(days=1))
    noted = lifecycle.add_note(view.case_id, liu, "材料已交到民政所")
    assert noted.first_response_at == acknowledged.first_response_at  # the first response is the first one
    resolved = lifecycle.resolve(view.case_id, liu, result="高龄补贴已申请，下月起发放")
    assert resolved.status is CaseStatus.RESOLVED

    filed, ack, note, done = _requester_messages(session_factory)
    assert ack.kind == "proxy_response" and "网格员刘洋已接手" in ack.text and "家里老人" in ack.text
    assert "材料已交到民政所" in note.text and "帮我办" in note.text
    assert done.kind == "resolved" and "已由网格员刘洋办结" in done.text and "满意" in done.text
    assert "家里老人" in done.text
    assert lifecycle.history(view.case_id)[-3].data["first_response"] is True


def test_another_worker_may_not_act_on_the_proxy_case_nor_any_worker_on_a_report(case_service, lifecycle, workers):
    view = case_service.file_report(proxy())
    with pytest.raises(NotCaseAssignee):
        lifecycle.acknowledge(view.case_id, Actor.grid_worker(workers["zhao"], "赵敏"))
    report = case_service.file_report(proxy(kind="report", category_code="eco_environment"))
    with pytest.raises(NotCaseAssignee):
        lifecycle.add_note(report.case_id, Actor.grid_worker(workers["liu"], "刘洋"), "看过了")


def test_a_proxy_request_may_come_without_a_category_but_not_with_an_unknown_kind(case_service, workers):
    view = case_service.file_report(proxy(category_code=None))
    assert view.category is None and view.status is CaseStatus.ASSIGNED
    with pytest.raises(InvalidReport) as raised:
        case_service.file_report(proxy(kind="errand"))
    assert raised.value.context["field"] == "kind"
    with pytest.raises(InvalidReport):
        case_service.file_report(proxy(beneficiary="老" * 201))


def test_a_patrol_report_names_its_grid_and_village(case_service, workers):
    view = case_service.file_report(proxy(kind="patrol", township=None, village=None, grid_code="DHZ-2",
                                          category_code="eco_environment", description="河边有人倒垃圾"))
    assert (view.kind, view.grid_code, view.village_code, view.township) == (
        "patrol", "DHZ-2", "wanghuzhai_dahanzhai", "wanghuzhai_zhen")
    assert view.status is CaseStatus.REPORTED
    with pytest.raises(InvalidReport) as raised:
        case_service.file_report(proxy(kind="patrol", village="小韩寨村", grid_code="DHZ-2"))
    assert raised.value.context["field"] == "grid_code"


def test_every_case_gets_its_grid_when_the_rule_settles_it(case_service, workers):
    assert case_service.file_report(proxy(kind="report")).grid_code == "XHZ-1"
    assert case_service.file_report(proxy(kind="report", village="大韩寨村")).grid_code is None
    assert case_service.file_report(proxy(kind="report", village=None)).grid_code is None
    assert ONE_GRID_VILLAGE
