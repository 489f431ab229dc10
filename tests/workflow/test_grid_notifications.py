"""Notices to grid workers (issue 6): a new case in their grid on the chat they bound, a 帮我办 case assigned to them,
never their own patrol report; delivered through the bot like a resident's message."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from grid_support import make_grids, proxy, report
from juhaoban.delivery import RasaDelivery
from workflow.grid_work import GridWork
from workflow.models import Notification


@pytest.fixture
def workers(session_factory):
    return make_grids(session_factory)


@pytest.fixture
def work(session_factory, calendar, clock):
    return GridWork(session_factory, calendar, clock=clock)


def _worker_messages(session_factory):
    with session_factory() as session:
        return list(session.execute(select(Notification).where(Notification.recipient_role == "grid_worker")
                                    .order_by(Notification.id)).scalars())


def test_the_bound_worker_hears_of_a_new_case_in_the_grid(case_service, session_factory, work, workers):
    work.bind_sender(work.issue_binding_code(workers["liu"]), "wechat", "wx-liu")
    view = case_service.file_report(report())

    [told] = _worker_messages(session_factory)
    assert (told.kind, told.recipient_id, told.channel) == ("grid_case", "wx-liu", "wechat")
    assert told.text.startswith("您的网格新收到一件反映：")
    assert view.case_id in told.text and "焚烧秸秆" in told.text and "王虎寨镇小韩寨村" in told.text
    assert "办理时限" in told.text


def test_nobody_is_told_without_a_grid_or_a_bound_chat(case_service, session_factory, work, workers):
    case_service.file_report(report())                     # 刘洋 has bound no chat
    work.bind_sender(work.issue_binding_code(workers["zhao"]), "wechat", "wx-zhao")
    case_service.file_report(report(village="大韩寨村"))   # two grids: none settled
    assert _worker_messages(session_factory) == []


def test_the_worker_is_not_told_of_their_own_patrol_report(case_service, session_factory, work, workers):
    work.bind_sender(work.issue_binding_code(workers["liu"]), "wechat", "wx-liu")
    patrol = case_service.file_report(report(kind="patrol", grid_code="XHZ-1", reporter_id="wx-liu"))
    assert patrol.grid_code == "XHZ-1"
    assert _worker_messages(session_factory) == []
    case_service.file_report(report(kind="patrol", grid_code="XHZ-1", reporter_id="wx-someone-else"))
    assert len(_worker_messages(session_factory)) == 1


def test_the_worker_is_told_of_a_proxy_case_assigned_to_them(case_service, session_factory, work, workers):
    work.bind_sender(work.issue_binding_code(workers["liu"]), "socketio", "web-liu")
    view = case_service.file_report(proxy())
    [told] = _worker_messages(session_factory)
    assert (told.kind, told.channel, told.recipient_id) == ("proxy_assigned", "socketio", "web-liu")
    assert "帮我办" in told.text and "家里老人" in told.text and view.case_id in told.text and "首次响应" in told.text


def test_grid_worker_messages_are_delivered_on_the_workers_channel(case_service, session_factory, outbox, work,
                                                                   workers):
    work.bind_sender(work.issue_binding_code(workers["liu"]), "wechat", "wx-liu")
    case_service.file_report(report())
    [pending] = [n for n in outbox.pending(10) if n.recipient_role == "grid_worker"]
    url, body = RasaDelivery(outbox, "http://rasa:5005").request_for(pending)
    assert url.startswith("http://rasa:5005/conversations/wx-liu/trigger_intent?output_channel=wechat")
    assert body["name"] == "EXTERNAL_case_update" and body["entities"]["notification_kind"] == "grid_case"
