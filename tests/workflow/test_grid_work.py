"""Grid workers' chats and cases (workflow.grid_work): one-time binding codes (single use, expiry, lock-out), who a
sender is, unbinding, a worker's open cases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from grid_support import make_grids, proxy, report
from workflow.grid_work import BindingCodeInvalid, BindingLocked, GridRef, GridWork, NotGridWorker, hash_code
from workflow.grid_work_models import WorkerBindingCode


@pytest.fixture
def workers(session_factory):
    return make_grids(session_factory)


@pytest.fixture
def work(session_factory, calendar, clock):
    return GridWork(session_factory, calendar, clock=clock)


def test_a_code_binds_the_chat_once_and_the_bot_then_knows_the_worker(work, session_factory, workers):
    code = work.issue_binding_code(workers["liu"])
    assert len(code) == 6 and code.isdigit()
    with session_factory() as session:
        [row] = session.execute(select(WorkerBindingCode)).scalars()
        assert row.code_hash == hash_code(code) != code  # only the digest is stored

    worker = work.bind_sender(f" {code} ", "wechat", "wx-liu")
    assert (worker.account_id, worker.display_name) == (workers["liu"], "刘洋")
    assert worker.grids == (GridRef("XHZ-1", "第一网格", "wanghuzhai_xiaohanzhai", "小韩寨村", "wanghuzhai_zhen",
                                    "王虎寨镇"),)
    assert work.worker_of_sender("wechat", "wx-liu") == worker
    assert work.worker_of_sender(None, "wx-liu") == worker
    assert work.worker_of_sender("socketio", "wx-liu") is None
    assert work.worker_of_sender("wechat", "wx-somebody") is None

    with pytest.raises(BindingCodeInvalid) as raised:  # single use
        work.bind_sender(code, "socketio", "web-liu")
    assert "绑定码不正确或已过期" in raised.value.message


def test_a_code_expires_after_ten_minutes_and_a_new_one_voids_the_old(work, clock, workers):
    code = work.issue_binding_code(workers["liu"])
    clock.advance(dt.timedelta(minutes=10))
    with pytest.raises(BindingCodeInvalid):
        work.bind_sender(code, "wechat", "wx-liu")
    first = work.issue_binding_code(workers["liu"])
    second = work.issue_binding_code(workers["liu"])
    if first != second:
        with pytest.raises(BindingCodeInvalid):
            work.bind_sender(first, "wechat", "wx-liu")
    assert work.bind_sender(second, "wechat", "wx-liu").account_id == workers["liu"]


def test_five_wrong_codes_lock_the_sender_out_for_fifteen_minutes(work, clock, workers):
    code = work.issue_binding_code(workers["liu"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(BindingCodeInvalid):
            work.bind_sender(wrong, "wechat", "wx-guesser")
    with pytest.raises(BindingLocked) as raised:  # even the right code
        work.bind_sender(code, "wechat", "wx-guesser")
    assert "15分钟" in raised.value.message
    assert work.bind_sender(code, "wechat", "wx-liu").account_id == workers["liu"]  # other senders are not locked
    clock.advance(dt.timedelta(minutes=15, seconds=1))
    with pytest.raises(BindingCodeInvalid):  # counted again, not locked: the code was used meanwhile
        work.bind_sender(code, "wechat", "wx-guesser")


def test_only_grid_workers_get_codes_and_a_disabled_workers_code_binds_nothing(work, session_factory, workers):
    from workflow.accounts import AccountService

    dispatcher = AccountService(session_factory).create("wangfang", "Julu2026console", role="dispatcher",
                                                        display_name="调度员王芳")
    with pytest.raises(NotGridWorker):
        work.issue_binding_code(dispatcher.id)
    code = work.issue_binding_code(workers["zhao"])
    AccountService(session_factory).disable(workers["zhao"])
    with pytest.raises(BindingCodeInvalid):
        work.bind_sender(code, "wechat", "wx-zhao")


def test_binding_a_chat_again_moves_it_and_unbind_removes_it(work, workers):
    work.bind_sender(work.issue_binding_code(workers["liu"]), "wechat", "wx-shared")
    assert work.bind_sender(work.issue_binding_code(workers["zhao"]), "wechat", "wx-shared").display_name == "赵敏"
    assert [chat.sender_id for chat in work.chats_of_worker(workers["zhao"])] == ["wx-shared"]
    assert work.chats_of_worker(workers["liu"]) == []
    assert work.unbind_of_worker(workers["liu"], "wechat", "wx-shared") is False  # not theirs
    assert work.unbind("wechat", "wx-shared") is True
    assert work.unbind("wechat", "wx-shared") is False
    assert work.worker_of_sender("wechat", "wx-shared") is None


def test_a_workers_open_cases_are_their_grids_and_their_proxy_cases_earliest_deadline_first(
        work, case_service, lifecycle, workers):
    from workflow.transitions import Actor

    other = case_service.file_report(report())                                        # XHZ-1, 7 working days
    helped = case_service.file_report(proxy())                                        # XHZ-1, proxy, 2 days
    elsewhere = case_service.file_report(report(village="大韩寨村"))                  # no grid
    emergency = case_service.file_report(report(matter_type="emergency"))             # XHZ-1, 2 hours
    lifecycle.reject(emergency.case_id, Actor.dispatcher("调度员"), reason="invalid", note="误报")

    assert [v.case_id for v in work.open_cases_of_worker(workers["liu"])] == [helped.case_id, other.case_id]
    assert [v.case_id for v in work.open_cases_of_worker(workers["liu"], limit=1)] == [helped.case_id]
    assert work.open_cases_of_worker(workers["zhao"]) == []
    assert elsewhere.grid_code is None
    with pytest.raises(ValueError):
        work.open_cases_of_worker(workers["liu"], limit=0)
