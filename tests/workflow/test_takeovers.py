"""Take-overs of bot conversations: one open per conversation (also under a race), hand-back, message counts."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

import workflow.takeovers as takeovers_module
from workflow.models import Account, ConversationTakeover
from workflow.takeovers import AlreadyTakenOver, InvalidTakeover, NotTakenOver, TakeoverService

SENDER = "oWx-openid-7Qk2"


@pytest.fixture
def takeovers(session_factory, clock) -> TakeoverService:
    return TakeoverService(session_factory, clock)


@pytest.fixture
def account_id(session_factory, clock) -> int:
    with session_factory.begin() as session:
        account = Account(username="wangfang", display_name="调度员王芳", role="dispatcher",
                          password_hash="$argon2id$test", failed_logins=0, created_at=clock.now)
        session.add(account)
        session.flush()
        return account.id


def test_take_opens_a_takeover_with_the_channel_and_the_holder(takeovers, clock, account_id):
    view = takeovers.take(SENDER, channel="wechat", account_id=account_id, taken_by="调度员王芳")
    assert view.open and view.sender_id == SENDER and view.channel == "wechat"
    assert (view.account_id, view.taken_by, view.taken_at, view.messages_sent) == (account_id, "调度员王芳", clock.now, 0)
    assert view.taken_at.tzinfo is not None and view.taken_at.utcoffset() == dt.timedelta(0)
    assert takeovers.current(SENDER) == view
    assert takeovers.open_takeovers() == {SENDER: view}
    assert view.to_dict()["taken_at"] == "2026-11-30T01:30:00+00:00" and view.to_dict()["open"] is True


def test_a_second_take_names_who_holds_the_conversation(takeovers, account_id):
    first = takeovers.take(SENDER, channel="socketio", account_id=account_id, taken_by="调度员王芳")
    with pytest.raises(AlreadyTakenOver) as error:
        takeovers.take(SENDER, channel="socketio", taken_by="调度员李强")
    assert error.value.code == "already_taken_over"
    assert error.value.context == {"sender_id": SENDER, "taken_by": "调度员王芳", "account_id": account_id,
                                   "taken_at": first.taken_at.isoformat()}
    assert takeovers.open_takeovers() == {SENDER: first}


def test_release_hands_back_and_the_conversation_can_be_taken_again(takeovers, clock):
    first = takeovers.take(SENDER, channel="wechat", taken_by="调度员王芳")
    clock.advance(dt.timedelta(minutes=12))
    released = takeovers.release(SENDER, released_by="调度员王芳")
    assert not released.open and released.id == first.id
    assert (released.released_at, released.released_by) == (clock.now, "调度员王芳")
    assert takeovers.current(SENDER) is None and takeovers.open_takeovers() == {}
    clock.advance(dt.timedelta(minutes=1))
    second = takeovers.take(SENDER, channel="wechat", taken_by="调度员李强")
    assert second.id != first.id and second.open
    assert [v.id for v in takeovers.history(SENDER)] == [second.id, first.id]


def test_release_and_record_message_without_a_takeover_raise_not_taken_over(takeovers):
    with pytest.raises(NotTakenOver) as error:
        takeovers.release(SENDER, released_by="调度员王芳")
    assert error.value.code == "not_taken_over" and error.value.context == {"sender_id": SENDER}
    takeovers.take(SENDER, channel=None, taken_by="调度员王芳")
    takeovers.release(SENDER, released_by="调度员王芳")
    with pytest.raises(NotTakenOver):
        takeovers.release(SENDER, released_by="调度员王芳")
    with pytest.raises(NotTakenOver):
        takeovers.record_message(SENDER)


def test_record_message_counts_the_staff_messages_of_the_open_takeover(takeovers):
    takeovers.take(SENDER, channel="wechat", taken_by="调度员王芳")
    assert takeovers.record_message(SENDER).messages_sent == 1
    assert takeovers.record_message(SENDER).messages_sent == 2
    assert takeovers.release(SENDER, released_by="调度员王芳").messages_sent == 2


def test_takeovers_of_different_conversations_are_independent(takeovers):
    takeovers.take("a", channel="wechat", taken_by="调度员王芳")
    takeovers.take("b", channel="rest", taken_by="调度员王芳")
    assert sorted(takeovers.open_takeovers()) == ["a", "b"]
    takeovers.release("a", released_by="调度员王芳")
    assert list(takeovers.open_takeovers()) == ["b"]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(sender_id=" ", channel="wechat", taken_by="王芳"), "sender_id"),
        (dict(sender_id="x" * 256, channel="wechat", taken_by="王芳"), "sender_id"),
        (dict(sender_id=SENDER, channel="wechat", taken_by=""), "taken_by"),
        (dict(sender_id=SENDER, channel="w" * 33, taken_by="王芳"), "channel"),
        (dict(sender_id=SENDER, channel="wechat", taken_by="王芳", account_id=987654), "account_id"),
    ],
)
def test_invalid_takes_are_refused_naming_the_field(takeovers, kwargs, field):
    kwargs = dict(kwargs)
    sender_id = kwargs.pop("sender_id")
    with pytest.raises(InvalidTakeover) as error:
        takeovers.take(sender_id, **kwargs)
    assert error.value.code == "invalid_takeover" and error.value.context["field"] == field
    assert takeovers.open_takeovers() == {}


def test_the_unique_index_refuses_a_take_whose_check_missed_the_holder(takeovers, monkeypatch):
    """The race in slow motion: the pre-check sees nothing, the insert hits the partial unique index."""
    holder = takeovers.take(SENDER, channel="wechat", taken_by="调度员王芳")
    real_open_row = takeovers_module._open_row
    calls = []

    def blind_first(session, sender_id):
        calls.append(sender_id)
        return None if len(calls) == 1 else real_open_row(session, sender_id)

    monkeypatch.setattr(takeovers_module, "_open_row", blind_first)
    with pytest.raises(AlreadyTakenOver) as error:
        takeovers.take(SENDER, channel="wechat", taken_by="调度员李强")
    assert error.value.context["taken_by"] == "调度员王芳"
    monkeypatch.undo()
    assert takeovers.open_takeovers() == {SENDER: holder}


def test_two_concurrent_takes_of_one_conversation_exactly_one_wins(takeovers, session_factory, monkeypatch):
    """Both threads check before either inserts (a barrier after the check), then both insert at once."""
    barrier = threading.Barrier(2, timeout=30)
    real_open_row = takeovers_module._open_row
    local = threading.local()

    def checked_together(session, sender_id):
        found = real_open_row(session, sender_id)
        if not getattr(local, "waited", False):
            local.waited = True
            barrier.wait()
        return found

    monkeypatch.setattr(takeovers_module, "_open_row", checked_together)
    outcomes: dict[str, object] = {}

    def take(name: str) -> None:
        try:
            outcomes[name] = takeovers.take(SENDER, channel="wechat", taken_by=name)
        except Exception as error:  # noqa: BLE001 - recorded for the assertions
            outcomes[name] = error

    threads = [threading.Thread(target=take, args=(name,)) for name in ("调度员王芳", "调度员李强")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    winners = [name for name, outcome in outcomes.items() if not isinstance(outcome, Exception)]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], AlreadyTakenOver) and losers[0].context["taken_by"] == winners[0]
    with session_factory() as session:
        rows = session.scalars(select(ConversationTakeover)).all()
        assert [(row.taken_by, row.released_at) for row in rows] == [(winners[0], None)]
