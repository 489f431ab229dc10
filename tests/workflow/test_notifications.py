"""The notifications outbox on SQLite and PostgreSQL: what each step of the closed loop tells residents, units and
dispatchers; claiming for delivery (two deliverers never take one row), retries with backoff, giving up; and a
resident's messages for a REST client."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from workflow.db import make_engine, make_session_factory
from workflow.models import Notification
from workflow.notifications import (
    DISPATCH,
    MAX_RETRY_DELAY,
    NotificationKind,
    Outbox,
    enqueue,
    retry_delay,
)
from workflow.transitions import Actor
from workflow_support import report

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
DISPATCHER = Actor.dispatcher("dispatcher-li")
RESIDENT = Actor.resident("wx-openid-1")
ECOLOGY = Actor.unit("county_ecology", "staff-zhang")


def resolved_case(lifecycle, case_service) -> str:
    case_id = case_service.file_report(report()).case_id
    lifecycle.accept(case_id, DISPATCHER, importance_level=2)
    lifecycle.assign(case_id, DISPATCHER)
    lifecycle.acknowledge(case_id, ECOLOGY)
    lifecycle.resolve(case_id, ECOLOGY, result="已到现场制止并清理。")
    return case_id


def texts(outbox: Outbox, role: str, recipient: str) -> list[tuple[str, str]]:
    return [(m.kind, m.text) for m in outbox.messages_for(role, recipient)]


def add(session_factory, now, n: int, **overrides) -> list[int]:
    """``n`` staff messages enqueued at ``now``; their ids."""
    with session_factory.begin() as session:
        rows = [
            enqueue(
                session,
                now=now,
                kind=overrides.get("kind", "overdue"),
                recipient_role=overrides.get("recipient_role", "dispatcher"),
                recipient_id=overrides.get("recipient_id", DISPATCH),
                channel=overrides.get("channel"),
                text=f"第{i}条",
            )
            for i in range(n)
        ]
        session.flush()
        return [row.id for row in rows]


# ---------------------------------------------------------------------- what the closed loop says
def test_the_resident_hears_of_acceptance_with_the_unit_and_the_deadline(lifecycle, case_service, outbox):
    case_id = case_service.file_report(report()).case_id

    lifecycle.accept(case_id, DISPATCHER, importance_level=2)

    (message,) = outbox.messages_for_resident("wx-openid-1")
    assert (message.kind, message.recipient_role, message.channel, message.case_id) == (
        "accepted", "resident", "wechat", case_id,
    )  # fmt: skip
    assert message.text == (
        f"您反映的问题已受理，工单号{case_id}，由县生态环境分局办理，办理时限为2026年12月9日(星期三)17:30前。"
        "本次反映获得20积分。当前积分余额20分。"  # the level-2 award (workflow/points.py), told with the acceptance
    )
    assert dt.datetime.fromisoformat(message.data["deadline"]) == dt.datetime(2026, 12, 9, 17, 30, tzinfo=SHANGHAI)
    assert message.delivered_at is None and message.attempts == 0


def test_an_auto_accepted_report_is_recorded_but_not_pushed_again(lifecycle, case_service, outbox):
    # The bot said "已为您登记并受理" in the same turn: REST clients read it, push channels are not told twice.
    case_id = case_service.file_report(report(category_confidence=0.95)).case_id
    lifecycle.auto_accept(case_id)
    [accepted] = outbox.messages_for_resident("wx-openid-1")
    assert accepted.kind == "accepted" and accepted.delivered_at is not None
    assert outbox.pending(recipient_roles=["resident"]) == []


def test_an_auto_accepted_report_of_a_resident_who_left_is_pushed(lifecycle, case_service, outbox):
    # A finished hotline call: nobody told the caller the case number, so the acceptance goes out (SMS).
    case_id = case_service.file_report(report(category_confidence=0.95)).case_id
    lifecycle.auto_accept(case_id, resident_present=False)
    [pending] = outbox.pending(recipient_roles=["resident"])
    assert pending.kind == "accepted" and case_id in pending.text


def test_a_reopening_the_resident_asked_for_in_the_bot_is_not_pushed_back_to_them(lifecycle, case_service, outbox):
    case_id = resolved_case(lifecycle, case_service)
    outbox.pending(limit=500)  # earlier messages taken by a deliverer
    lifecycle.rate(case_id, RESIDENT, "unsatisfied", comment="还是有人烧")
    due = outbox.pending(limit=500)
    assert [(m.recipient_role, m.kind) for m in due] == [("unit", "reopened")]


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        (
            dict(reason="invalid", note="内容为测试消息"),
            "很抱歉，您的工单{case_id}未予受理（反映内容无法受理）。说明：内容为测试消息。如有疑问或新的情况，欢迎再次反映。",
        ),
        (
            dict(reason="out_of_scope", note="属于法院审理事项。"),
            "很抱歉，您的工单{case_id}未予受理（不属于本平台受理范围）。说明：属于法院审理事项。如有疑问或新的情况，欢迎再次反映。",
        ),
        (
            dict(reason="duplicate", note="同一焚烧点", duplicate_of="{original}"),
            "您的工单{case_id}与工单{original}反映的是同一问题，将在工单{original}中一并办理，不再单独立案。说明：同一焚烧点。",
        ),
    ],
    ids=["invalid", "out_of_scope", "duplicate"],
)
def test_a_rejection_tells_the_resident_why(lifecycle, case_service, outbox, kwargs, expected):
    original = case_service.file_report(report(reporter_id="wx-other")).case_id
    case_id = case_service.file_report(report()).case_id
    kwargs = {k: v.format(original=original) for k, v in kwargs.items()}

    lifecycle.reject(case_id, DISPATCHER, **kwargs)

    (message,) = outbox.messages_for_resident("wx-openid-1")
    assert message.kind == "rejected"
    assert message.text == expected.format(case_id=case_id, original=original)
    assert message.data["reason"] == kwargs["reason"]


def test_the_lead_unit_hears_of_its_new_case(lifecycle, case_service, outbox):
    case_id = case_service.file_report(report(village="东街村", description="秸秆" * 150)).case_id
    lifecycle.accept(case_id, DISPATCHER, importance_level=2)

    lifecycle.assign(case_id, DISPATCHER)

    (message,) = outbox.messages_for("unit", "county_ecology")
    assert (message.kind, message.channel, message.case_id) == ("assigned", None, case_id)
    assert message.text.startswith(
        f"【新工单】工单{case_id}（生态环境，王虎寨镇东街村）已派给你单位办理，办理时限为2026年12月9日(星期三)17:30前。"
        "配合单位：王虎寨镇人民政府、县城市管理综合行政执法局。反映内容：秸秆"
    )
    assert message.text.endswith("秸秆…") and len(message.text) < 320
    assert message.data["cooperating_units"] == ["wanghuzhai_zhen_gov", "county_urban_management"]
    # Cooperating units and the resident are not told of the assignment.
    assert outbox.messages_for("unit", "wanghuzhai_zhen_gov") == []
    assert [m.kind for m in outbox.messages_for_resident("wx-openid-1")] == ["accepted"]


def test_the_dispatchers_hear_of_a_returned_case(lifecycle, case_service, outbox):
    case_id = case_service.file_report(report()).case_id
    lifecycle.accept(case_id, DISPATCHER, importance_level=2)
    lifecycle.assign(case_id, DISPATCHER)

    lifecycle.return_case(case_id, ECOLOGY, reason="系农业废弃物焚烧，应由农业农村局处理")

    assert texts(outbox, "dispatcher", DISPATCH) == [
        ("returned", f"【退回】工单{case_id}被县生态环境分局退回，理由：系农业废弃物焚烧，应由农业农村局处理。请重新派单。")
    ]


def test_the_resident_gets_the_result_and_is_asked_to_rate_it(lifecycle, case_service, outbox):
    case_id = resolved_case(lifecycle, case_service)

    kinds = [m.kind for m in outbox.messages_for_resident("wx-openid-1")]
    message = outbox.messages_for_resident("wx-openid-1")[-1]

    assert kinds == ["accepted", "resolved"]
    assert message.text == (
        f"您的工单{case_id}已由县生态环境分局办结。办理结果：已到现场制止并清理。"
        "请您对办理结果进行评价，回复“满意”“基本满意”或“不满意”。"
    )


def test_a_reopened_case_is_announced_to_the_resident_and_the_unit(lifecycle, case_service, outbox, clock):
    case_id = resolved_case(lifecycle, case_service)
    clock.now = dt.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)

    lifecycle.rate(case_id, RESIDENT, "unsatisfied", comment="还在烧")

    resident = outbox.messages_for_resident("wx-openid-1")[-1]
    assert (resident.kind, resident.text) == (
        "reopened",
        f"您的工单{case_id}已重新交办给县生态环境分局，办理时限为2026年12月16日(星期三)17:30前。",
    )
    assert texts(outbox, "unit", "county_ecology")[-1] == (
        "reopened",
        f"【重新交办】工单{case_id}的反映人对办理结果不满意（评价意见：还在烧），已重新交办你单位，"
        "办理时限为2026年12月16日(星期三)17:30前。",
    )


def test_a_second_unsatisfied_goes_to_the_dispatchers_and_their_closing_to_the_resident(
    lifecycle, case_service, outbox
):
    case_id = resolved_case(lifecycle, case_service)
    lifecycle.rate(case_id, RESIDENT, "unsatisfied")
    lifecycle.acknowledge(case_id, ECOLOGY)
    lifecycle.resolve(case_id, ECOLOGY, result="已再次清理")

    lifecycle.rate(case_id, RESIDENT, "unsatisfied", comment="根本没人来")
    lifecycle.close_after_review(case_id, DISPATCHER, reason="已电话回访，现场确已清理")

    assert texts(outbox, "dispatcher", DISPATCH) == [
        (
            "review_requested",
            f"【待复核】工单{case_id}的反映人第2次对办理结果不满意，评价意见：根本没人来。"
            "请复核：重新派单，或说明理由后办结归档。",
        )
    ]
    assert outbox.messages_for_resident("wx-openid-1")[-1].text == (
        f"您的工单{case_id}经调度人员复核，已办结归档。说明：已电话回访，现场确已清理。感谢您的反映。"
    )


def test_steps_nobody_needs_to_hear_of_send_nothing(lifecycle, case_service, outbox, session_factory):
    case_id = resolved_case(lifecycle, case_service)
    with session_factory() as session:
        before = session.execute(select(func.count()).select_from(Notification)).scalar_one()

    lifecycle.rate(case_id, RESIDENT, "satisfied")

    with session_factory() as session:
        assert session.execute(select(func.count()).select_from(Notification)).scalar_one() == before
    # acknowledged and progress notes were not announced either: accepted, assigned, resolved only
    assert before == 3


# ---------------------------------------------------------------------- enqueue
def test_enqueue_writes_in_the_callers_transaction_only(session_factory, outbox, clock):
    with pytest.raises(RuntimeError):
        with session_factory.begin() as session:
            enqueue(session, now=clock.now, kind="overdue", recipient_role="dispatcher", recipient_id=DISPATCH,
                    text="【超期】测试")  # fmt: skip
            raise RuntimeError("the change failed")
    assert outbox.messages_for("dispatcher", DISPATCH) == []


@pytest.mark.parametrize(
    "overrides",
    [
        dict(kind="gossip"),
        dict(recipient_role="mayor"),
        dict(recipient_id="  "),
        dict(recipient_id="x" * 129),
        dict(text=" "),
        dict(now=dt.datetime(2026, 11, 30, 9, 30)),
    ],
    ids=["kind", "role", "empty-recipient", "long-recipient", "text", "naive-now"],
)
def test_enqueue_refuses_a_malformed_message(session_factory, clock, overrides):
    values = dict(now=clock.now, kind="overdue", recipient_role="dispatcher", recipient_id=DISPATCH, text="超期")
    values.update(overrides)
    with session_factory.begin() as session:
        with pytest.raises(ValueError):
            enqueue(session, **values)


def test_staff_messages_carry_no_channel(session_factory, outbox, clock):
    with session_factory.begin() as session:
        enqueue(session, now=clock.now, kind="assigned", recipient_role="unit", recipient_id="county_ecology",
                text="新工单", channel="wechat")  # fmt: skip
    assert outbox.messages_for("unit", "county_ecology")[0].channel is None


# ---------------------------------------------------------------------- delivery
def test_pending_hands_out_the_oldest_first_and_each_row_once(session_factory, outbox, clock):
    late = add(session_factory, clock.now + dt.timedelta(seconds=5), 2)
    early = add(session_factory, clock.now, 3)
    clock.advance(dt.timedelta(seconds=10))

    first = outbox.pending(limit=4)
    second = outbox.pending(limit=4)

    assert [m.id for m in first] == early + late[:1]
    assert [m.id for m in second] == late[1:]
    assert all(m.attempts == 1 for m in first + second)
    assert outbox.pending() == []


def test_a_claim_runs_out_and_the_row_is_handed_out_again(session_factory, outbox, clock):
    (notification_id,) = add(session_factory, clock.now, 1)
    assert [m.id for m in outbox.pending()] == [notification_id]  # the deliverer dies without reporting back

    clock.advance(dt.timedelta(seconds=119))
    assert outbox.pending() == []
    clock.advance(dt.timedelta(seconds=1))
    (again,) = outbox.pending()
    assert (again.id, again.attempts) == (notification_id, 2)


def test_a_message_is_not_handed_out_before_it_exists(session_factory, outbox, clock):
    add(session_factory, clock.now + dt.timedelta(seconds=1), 1)
    assert outbox.pending() == []


def test_a_delivered_message_is_never_handed_out_again(session_factory, outbox, clock):
    (notification_id,) = add(session_factory, clock.now, 1)
    outbox.pending()

    assert outbox.mark_delivered(notification_id) is True
    assert outbox.mark_delivered(notification_id) is False
    clock.advance(dt.timedelta(days=1))
    assert outbox.pending() == []
    (message,) = outbox.messages_for("dispatcher", DISPATCH)
    assert message.delivered_at == clock.now - dt.timedelta(days=1)
    assert outbox.mark_delivered(999_999) is False


def test_a_failed_delivery_is_retried_with_growing_delays(session_factory, outbox, clock):
    (notification_id,) = add(session_factory, clock.now, 1)
    for attempt, delay in enumerate([30, 60, 120, 240], start=1):
        (claimed,) = outbox.pending()
        assert claimed.attempts == attempt
        failed = outbox.mark_failed(notification_id, "Rasa answered 502")
        assert (failed.last_error, failed.failed_at) == ("Rasa answered 502", None)
        clock.advance(dt.timedelta(seconds=delay - 1))
        assert outbox.pending() == []
        clock.advance(dt.timedelta(seconds=1))


def test_the_retry_delay_doubles_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(8) == retry_delay(50) == MAX_RETRY_DELAY


def test_delivery_is_given_up_after_the_last_attempt(session_factory, clock):
    outbox = Outbox(session_factory, clock=clock, max_attempts=3)
    (notification_id,) = add(session_factory, clock.now, 1)
    for attempt in range(1, 4):
        clock.advance(dt.timedelta(hours=2))
        (claimed,) = outbox.pending()
        assert claimed.attempts == attempt
        result = outbox.mark_failed(notification_id, f"timeout {attempt}")
    assert result.failed_at == clock.now and result.last_error == "timeout 3"
    clock.advance(dt.timedelta(days=1))
    assert outbox.pending() == []


def test_a_permanent_failure_gives_up_at_once_and_a_delivered_row_stays_delivered(session_factory, outbox, clock):
    first, second = add(session_factory, clock.now, 2)
    outbox.pending()

    assert outbox.mark_failed(first, "unknown sender", permanent=True).failed_at == clock.now
    outbox.mark_delivered(second)
    late = outbox.mark_failed(second, "timeout")
    assert (late.failed_at, late.last_error, late.delivered_at) == (None, None, clock.now)
    assert outbox.mark_failed(999_999, "gone") is None
    clock.advance(dt.timedelta(days=1))
    assert outbox.pending() == []


def test_pending_can_be_narrowed_to_roles_and_channels(session_factory, outbox, clock):
    wechat = add(session_factory, clock.now, 1, kind="accepted", recipient_role="resident", recipient_id="wx-1",
                 channel="wechat")  # fmt: skip
    add(session_factory, clock.now, 1, kind="accepted", recipient_role="resident", recipient_id="u-1", channel="rest")
    staff = add(session_factory, clock.now, 1)

    assert [m.id for m in outbox.pending(recipient_roles=["resident"], channels=["wechat", "socketio"])] == wechat
    assert [m.id for m in outbox.pending(recipient_roles=["dispatcher", "unit"])] == staff
    with pytest.raises(ValueError):
        outbox.pending(limit=0)


def test_two_deliverers_never_take_the_same_row(database_url, session_factory, clock):
    ids = add(session_factory, clock.now, 60)
    barrier = threading.Barrier(2)
    taken: list[list[int]] = [[], []]
    engines = [make_engine(database_url) for _ in range(2)]

    def deliver(n: int) -> None:
        outbox = Outbox(make_session_factory(engines[n]), clock=clock)
        barrier.wait(timeout=30)
        while batch := outbox.pending(limit=7):
            taken[n].extend(m.id for m in batch)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for engine in engines:
            engine.dispose()
    assert sorted(taken[0] + taken[1]) == ids  # every row, once


# ---------------------------------------------------------------------- a resident's messages
def test_a_resident_reads_their_messages_oldest_first_and_since_the_last_one(
    lifecycle, case_service, outbox, clock
):
    first = case_service.file_report(report()).case_id
    second = case_service.file_report(report()).case_id
    case_service.file_report(report(reporter_id="wx-neighbour"))
    clock.advance(dt.timedelta(minutes=1))
    lifecycle.accept(second, DISPATCHER, importance_level=1)
    clock.advance(dt.timedelta(minutes=1))
    lifecycle.accept(first, DISPATCHER, importance_level=1)
    lifecycle.accept("JL20261130-0003", DISPATCHER, importance_level=1)  # the neighbour's
    clock.advance(dt.timedelta(minutes=1))
    lifecycle.assign(first, DISPATCHER)  # the unit is told, not the resident
    lifecycle.reject(second, DISPATCHER, reason="duplicate", note="同一焚烧点", duplicate_of=first)

    messages = outbox.messages_for_resident("wx-openid-1")
    assert [(m.case_id, m.kind) for m in messages] == [(second, "accepted"), (first, "accepted"), (second, "rejected")]
    assert [m.created_at for m in messages] == sorted(m.created_at for m in messages)

    newer = outbox.messages_for_resident("wx-openid-1", since=messages[1].created_at)
    assert [(m.case_id, m.kind) for m in newer] == [(second, "rejected")]
    assert outbox.messages_for_resident("wx-openid-1", since=messages[2].created_at) == []
    assert [m.kind for m in outbox.messages_for_resident("wx-openid-1", limit=1)] == ["accepted"]
    assert outbox.messages_for_resident("wx-nobody") == []
    with pytest.raises(ValueError):
        outbox.messages_for_resident("wx-openid-1", since=dt.datetime(2026, 11, 30))


def test_a_message_is_json_ready(lifecycle, case_service, outbox):
    import json

    case_id = case_service.file_report(report()).case_id
    lifecycle.accept(case_id, DISPATCHER, importance_level=1)

    (message,) = outbox.messages_for_resident("wx-openid-1")
    data = json.loads(json.dumps(message.to_dict(), ensure_ascii=False))

    assert data["kind"] == NotificationKind.ACCEPTED.value and data["case_id"] == case_id
    assert data["created_at"] == message.created_at.isoformat()
    assert data["data"]["unit"] == "county_ecology" and data["data"]["status"] == "accepted"
