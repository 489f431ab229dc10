"""The console's grid work (issue 6): a grid worker's scope narrowed to their grids, their 帮我办 case worked on the
case page, the dispatcher choosing a waiting 帮我办 case's grid, the 绑定聊天 page."""

from __future__ import annotations

import re

import pytest

from workflow.cases import NewReport
from workflow.grid_work import GridWork
from workflow.models import Grid

VILLAGE = "wanghuzhai_xiaohanzhai"


@pytest.fixture
def grids(session_factory, accounts):
    """小韩寨村 gets two grids: 刘洋 (grid-liu) serves the first, a second worker the second."""
    from workflow.accounts import AccountService

    second = AccountService(session_factory).create("grid-sun", "Julu2026console", role="grid_worker",
                                                    village_code=VILLAGE, display_name="网格员孙丽")
    with session_factory.begin() as session:
        session.add_all([Grid(code="XHZ-1", name="第一网格", village_code=VILLAGE, kind="rural", is_sample=False,
                              worker_account_id=accounts.grid_worker.id),
                         Grid(code="XHZ-2", name="第二网格", village_code=VILLAGE, kind="rural", is_sample=False,
                              worker_account_id=second.id)])
    return second


def _file(case_service, **overrides):
    values = dict(description="帮我家老人办一下高龄补贴", category_code="civil_affairs", matter_type="public_service",
                  township="王虎寨镇", village="小韩寨村", reporter_id="wx-son", channel="wechat", kind="proxy",
                  beneficiary="家里老人")
    values.update(overrides)
    return case_service.file_report(NewReport(**values))


async def test_a_grid_worker_sees_their_grid_and_works_their_proxy_case(browser, case_service, lifecycle, grids):
    mine = _file(case_service, grid_code="XHZ-1")
    theirs = _file(case_service, kind="report", grid_code="XHZ-2", category_code="eco_environment",
                   description="河沟里有黑水")
    unsettled = _file(case_service, kind="report", category_code="eco_environment", description="村口路灯不亮")
    assert (mine.assignee_name, unsettled.grid_code) == ("网格员刘洋", None)

    liu = await browser("grid-liu")
    queue = await liu.get("/console/cases")
    assert mine.case_id in queue.text and unsettled.case_id in queue.text and theirs.case_id not in queue.text
    assert (await liu.get(f"/console/cases/{theirs.case_id}")).status == 403

    page = await liu.get(f"/console/cases/{mine.case_id}")
    assert "帮我办" in page.text and "家里老人" in page.text and 'action-acknowledge' in page.text
    done = await liu.post(f"/console/cases/{mine.case_id}/acknowledge", {"note": "已电话联系"}, follow=False)
    assert done.status == 303 and "done=acknowledge" in done.headers["Location"]
    after = lifecycle.get(mine.case_id)
    assert after.first_response_at is not None and after.status.value == "in_progress"
    assert lifecycle.history(mine.case_id)[-1].actor_role == "grid_worker"

    sun = await browser("grid-sun")
    assert (await sun.post(f"/console/cases/{mine.case_id}/note", {"note": "x"}, follow=False)).status == 403


async def test_the_dispatcher_sets_the_grid_of_a_waiting_proxy_case(browser, case_service, lifecycle, grids):
    waiting = _file(case_service)  # two grids, no household: the dispatcher chooses
    assert waiting.needs_review and waiting.assignee_account_id is None
    dispatcher = await browser("wangfang")
    page = await dispatcher.get(f"/console/cases/{waiting.case_id}")
    assert "action-set_grid" in page.text and "第二网格" in page.text
    done = await dispatcher.post(f"/console/cases/{waiting.case_id}/set_grid", {"grid_code": "XHZ-2"}, follow=False)
    assert "done=set_grid" in done.headers["Location"]
    after = lifecycle.get(waiting.case_id)
    assert (after.grid_code, after.assignee_name, after.status.value) == ("XHZ-2", "网格员孙丽", "assigned")


async def test_the_chat_binding_page_shows_a_code_once_that_binds_the_chat(browser, session_factory, calendar,
                                                                          clock, accounts, grids):
    liu = await browser("grid-liu")
    page = await liu.get("/console/chat-binding")
    assert "还没有绑定聊天" in page.text
    shown = await liu.post("/console/chat-binding", {})
    code = re.search(r'<strong class="code">(\d{6})</strong>', shown.text).group(1)
    assert f"绑定 {code}" in shown.text and shown.headers.get("Cache-Control") == "no-store"
    GridWork(session_factory, calendar, clock=clock).bind_sender(code, "wechat", "wx-liu")
    listed = await liu.get("/console/chat-binding")
    assert "wx-liu" in listed.text and "微信公众号" in listed.text
    await liu.post("/console/chat-binding/unbind", {"channel": "wechat", "sender_id": "wx-liu"})
    assert "wx-liu" not in (await liu.get("/console/chat-binding")).text
