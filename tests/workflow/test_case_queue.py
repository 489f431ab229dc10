"""The console's case queue (workflow.case_queue): default rules, filters, scope, overdue, counting and paging."""

from __future__ import annotations

import datetime as dt

import pytest

from workflow.case_queue import ALL_STATUSES, QueueFilter, QueueScope, case_queue, is_overdue
from workflow.transitions import Actor
from workflow_support import report

DISPATCHER = Actor.dispatcher("调度员")
ECOLOGY = Actor.unit("county_ecology", "生态环境分局")
RESIDENT = Actor.resident("wx-openid-1")


@pytest.fixture
def file(case_service, lifecycle):
    """``file(situation, **report overrides) -> case_id`` through the real services."""

    def make(situation: str = "reported", **overrides) -> str:
        case_id = case_service.file_report(report(**overrides)).case_id
        steps = {
            "reported": [],
            "accepted": ["accept"],
            "assigned": ["accept", "assign"],
            "in_progress": ["accept", "assign", "ack"],
            "returned": ["accept", "assign", "return"],
            "resolved": ["accept", "assign", "ack", "resolve"],
            "closed": ["accept", "assign", "ack", "resolve", "satisfied"],
            "rejected": ["reject"],
            "review": ["accept", "assign", "ack", "resolve", "unsatisfied", "ack", "resolve", "unsatisfied"],
        }[situation]
        for step in steps:
            {
                "accept": lambda: lifecycle.accept(case_id, DISPATCHER, importance_level=1),
                "assign": lambda: lifecycle.assign(case_id, DISPATCHER),
                "ack": lambda: lifecycle.acknowledge(case_id, ECOLOGY),
                "return": lambda: lifecycle.return_case(case_id, ECOLOGY, reason="非本单位"),
                "resolve": lambda: lifecycle.resolve(case_id, ECOLOGY, result="已处理"),
                "satisfied": lambda: lifecycle.rate(case_id, RESIDENT, "satisfied"),
                "unsatisfied": lambda: lifecycle.rate(case_id, RESIDENT, "unsatisfied"),
                "reject": lambda: lifecycle.reject(case_id, DISPATCHER, reason="invalid", note="无实际内容"),
            }[step]()
        return case_id

    return make


def ids(page) -> set[str]:
    return {view.case_id for view in page.views}


def test_by_default_it_lists_the_cases_staff_still_have_to_act_on(session_factory, file):
    open_ = {file(s) for s in ("reported", "accepted", "assigned", "in_progress", "returned", "review")}
    finished = {file(s) for s in ("resolved", "closed", "rejected")}

    page = case_queue(session_factory)

    assert ids(page) == open_ and page.total == len(open_)
    assert ids(case_queue(session_factory, QueueFilter(status=ALL_STATUSES))) == open_ | finished
    resolved = case_queue(session_factory, QueueFilter(status="resolved"))
    assert [v.status.value for v in resolved.views] == ["resolved"] and resolved.total == 1


def test_each_filter_narrows_the_queue_in_sql(session_factory, file):
    eco = file("reported")
    city = file("reported", category_code="city_management", suggested_category_code="city_management",
                description="路边摊占道经营")
    julu = file("reported", township="巨鹿镇", description="东关村路灯不亮")
    urgent = file("reported", matter_type="emergency", description="燃气管道漏气，有很大的味道")

    assert ids(case_queue(session_factory, QueueFilter(category="city_management"))) == {city}
    assert ids(case_queue(session_factory, QueueFilter(unit="county_urban_management"))) == {city}
    assert ids(case_queue(session_factory, QueueFilter(township="julu_zhen"))) == {julu}
    assert ids(case_queue(session_factory, QueueFilter(matter_type="emergency"))) == {urgent}
    assert ids(case_queue(session_factory, QueueFilter(text="占道"))) == {city}
    assert ids(case_queue(session_factory, QueueFilter(text=f" {eco.lower()} "))) == {eco}
    both = QueueFilter(category="eco_environment", township="wanghuzhai_zhen", matter_type="other")
    assert ids(case_queue(session_factory, both)) == {eco}


def test_search_text_is_literal_not_a_pattern(session_factory, file):
    file("reported", description="噪音达到100分贝")
    percent = file("reported", description="费用涨了50%以上")

    assert ids(case_queue(session_factory, QueueFilter(text="%"))) == {percent}
    assert ids(case_queue(session_factory, QueueFilter(text="_"))) == set()


def test_overdue_is_the_mark_or_a_running_deadline_that_passed(session_factory, file, clock):
    late = file("assigned", matter_type="emergency", description="河堤有缺口正在漏水")  # 2 h from acceptance
    waiting = file("reported", matter_type="emergency", description="电线杆倒在路上")
    on_time = file("assigned")
    review = file("review")
    clock.advance(dt.timedelta(hours=3))
    now = clock.now

    overdue = case_queue(session_factory, QueueFilter(overdue=True), now=now)
    not_overdue = case_queue(session_factory, QueueFilter(overdue=False), now=now)

    assert ids(overdue) == {late, waiting}
    assert ids(not_overdue) == {on_time, review}
    assert all(is_overdue(v, now) for v in overdue.views)
    assert not any(is_overdue(v, now) for v in not_overdue.views)
    before = case_queue(session_factory, QueueFilter(overdue=True), now=now - dt.timedelta(hours=3))
    assert before.total == 0


def test_a_unit_sees_the_cases_it_leads_once_assigned_and_a_grid_worker_its_village(session_factory, file):
    accepted = file("accepted")  # lead unit county_ecology already, but not dispatched yet
    assigned = file("assigned")
    returned = file("returned")
    in_village = file("reported", village="小韩寨村")
    other_village = file("reported", village="大韩寨村")

    unit = case_queue(session_factory, scope=QueueScope.unit("county_ecology"))
    assert ids(unit) == {assigned, returned} and accepted not in ids(unit)
    assert case_queue(session_factory, scope=QueueScope.unit("county_urban_management")).total == 0
    village = case_queue(session_factory, scope=QueueScope.village("wanghuzhai_xiaohanzhai"))
    assert ids(village) == {in_village} and other_village not in ids(village)
    assert case_queue(session_factory, scope=QueueScope.village("")).total == 0
    assert case_queue(session_factory, scope=QueueScope.everything()).total == 5


def test_it_pages_and_counts_and_orders_by_deadline_or_filing(session_factory, file, clock):
    filed = []
    for n in range(5):
        filed.append(file("reported", description=f"第{n}件事"))
        clock.advance(dt.timedelta(minutes=10))
    urgent = file("reported", matter_type="emergency", description="紧急")  # filed last, due first

    first = case_queue(session_factory, limit=2)
    second = case_queue(session_factory, limit=2, offset=2)
    last = case_queue(session_factory, limit=2, offset=4)
    assert first.total == second.total == last.total == 6
    assert first.views[0].case_id == urgent and not first.has_previous and first.has_next
    assert last.has_previous and not last.has_next and len(last.views) == 2
    deadline_order = [v.case_id for p in (first, second, last) for v in p.views]
    assert sorted(deadline_order) == sorted([*filed, urgent]) and len(set(deadline_order)) == 6

    newest = case_queue(session_factory, order="newest", limit=6)
    assert [v.case_id for v in newest.views] == [urgent, *reversed(filed)]
    beyond = case_queue(session_factory, offset=50)
    assert beyond.views == () and beyond.total == 6


def test_it_refuses_values_it_does_not_know(session_factory):
    with pytest.raises(ValueError):
        QueueFilter(status="pending")
    with pytest.raises(ValueError):
        QueueFilter(matter_type="urgent")
    with pytest.raises(ValueError):
        case_queue(session_factory, order="oldest")
    with pytest.raises(ValueError):
        case_queue(session_factory, limit=0)
    with pytest.raises(ValueError):
        case_queue(session_factory, now=dt.datetime(2026, 11, 30, 9, 0))
