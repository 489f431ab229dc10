"""The channels' shared stores, the same tests in process and on Redis (like Rasa's lock store tests)."""

from __future__ import annotations

import uuid

import pytest

from bot.channels.stores import (
    InMemoryCounterStore,
    InMemoryDedupStore,
    RedisCounterStore,
    RedisDedupStore,
    counter_store,
    dedup_store,
    redis_client,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def dedup(request):
    if request.param == "memory":
        return InMemoryDedupStore(max_entries=3)
    return RedisDedupStore(redis_client(REDIS_URL), prefix=f"juhaoban:test:{uuid.uuid4().hex}:")


@pytest.fixture(params=["memory", "redis"])
def counters(request):
    if request.param == "memory":
        return InMemoryCounterStore()
    return RedisCounterStore(redis_client(REDIS_URL), prefix=f"juhaoban:test:{uuid.uuid4().hex}:")


def test_it_sees_a_message_id_first_only_once(dedup):
    assert dedup.first_seen("wechat:1", 60) is True
    assert dedup.first_seen("wechat:1", 60) is False
    assert dedup.first_seen("wechat:2", 60) is True


def test_a_forgotten_id_counts_as_new(dedup):
    dedup.first_seen("wechat:9", 60)
    dedup.forget("wechat:9")
    assert dedup.first_seen("wechat:9", 60) is True


def test_in_process_ids_expire_and_the_table_stays_bounded():
    clock = Clock()
    store = InMemoryDedupStore(max_entries=2, clock=clock)
    store.first_seen("a", 10)
    clock.now += 11
    assert store.first_seen("a", 10) is True  # expired
    store.first_seen("b", 10)
    store.first_seen("c", 10)
    assert store.first_seen("a", 10) is True  # dropped as the oldest


def test_it_counts_per_key(counters):
    assert [counters.increment("rest:u1:1", 60) for _ in range(3)] == [1, 2, 3]
    assert counters.increment("rest:u2:1", 60) == 1


def test_redis_counters_expire_with_their_window():
    client = redis_client(REDIS_URL)
    store = RedisCounterStore(client, prefix=f"juhaoban:test:{uuid.uuid4().hex}:")
    store.increment("k", 60)
    store.increment("k", 60)
    ttl = client.ttl(store._prefix + "k")
    assert 0 < ttl <= 60  # set on the first increment, not pushed back by later ones


def test_redis_is_used_when_configured():
    assert isinstance(dedup_store(REDIS_URL), RedisDedupStore)
    assert isinstance(counter_store(REDIS_URL), RedisCounterStore)
    assert isinstance(dedup_store(""), InMemoryDedupStore)
    assert isinstance(counter_store(""), InMemoryCounterStore)
