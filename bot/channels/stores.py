"""Small shared stores of the channels: message de-duplication and per-sender counters.

Each store has an in-process version (one Rasa instance, development, tests) and a Redis version (several instances
behind a load balancer share what they saw), like Rasa's own lock stores. :func:`dedup_store` and
:func:`counter_store` pick Redis when ``REDIS_URL`` is set; ``redis`` is imported only then.
"""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Callable, Optional

#: Prefix of every Redis key the channels write.
KEY_PREFIX = "juhaoban:channels:"

Clock = Callable[[], float]


class DedupStore(ABC):
    """Remembers message ids for a while: :meth:`first_seen` is True once per id within ``ttl_seconds``."""

    @abstractmethod
    def first_seen(self, message_id: str, ttl_seconds: int) -> bool:
        """True when ``message_id`` was not seen in the last ``ttl_seconds`` seconds (and records it)."""

    def forget(self, message_id: str) -> None:
        """Drops ``message_id`` (a message whose handling failed before anything was done may be retried)."""


class InMemoryDedupStore(DedupStore):
    """Process-local de-duplication, bounded to ``max_entries`` ids (the oldest are dropped first)."""

    def __init__(self, max_entries: int = 100_000, clock: Clock = time.monotonic) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    def first_seen(self, message_id: str, ttl_seconds: int) -> bool:
        """See :meth:`DedupStore.first_seen`."""
        now = self._clock()
        with self._lock:
            expires = self._seen.get(message_id)
            if expires is not None and expires > now:
                return False
            self._seen[message_id] = now + ttl_seconds
            self._seen.move_to_end(message_id)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
            return True

    def forget(self, message_id: str) -> None:
        """See :meth:`DedupStore.forget`."""
        with self._lock:
            self._seen.pop(message_id, None)


class RedisDedupStore(DedupStore):
    """De-duplication shared by every instance: ``SET key 1 NX EX ttl`` succeeds for the first of them only."""

    def __init__(self, client, prefix: str = KEY_PREFIX + "dedup:") -> None:
        self._redis = client
        self._prefix = prefix

    def first_seen(self, message_id: str, ttl_seconds: int) -> bool:
        """See :meth:`DedupStore.first_seen`."""
        return bool(self._redis.set(self._prefix + message_id, b"1", nx=True, ex=max(1, int(ttl_seconds))))

    def forget(self, message_id: str) -> None:
        """See :meth:`DedupStore.forget`."""
        self._redis.delete(self._prefix + message_id)


class CounterStore(ABC):
    """Counters that expire: the per-sender message counts of :mod:`bot.channels.limits`."""

    @abstractmethod
    def increment(self, key: str, ttl_seconds: int) -> int:
        """Adds one to ``key`` and returns the new count; a new key expires after ``ttl_seconds`` seconds."""


class InMemoryCounterStore(CounterStore):
    """Process-local counters; expired ones are swept when the table grows past ``max_entries``."""

    def __init__(self, max_entries: int = 100_000, clock: Clock = time.monotonic) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    def increment(self, key: str, ttl_seconds: int) -> int:
        """See :meth:`CounterStore.increment`."""
        now = self._clock()
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + ttl_seconds
            self._counts[key] = (count + 1, expires)
            if len(self._counts) > self._max:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            return count + 1


class RedisCounterStore(CounterStore):
    """Counters shared by every instance: ``INCR`` and, on the first increment, ``EXPIRE`` in one transaction."""

    def __init__(self, client, prefix: str = KEY_PREFIX + "count:") -> None:
        self._redis = client
        self._prefix = prefix

    def increment(self, key: str, ttl_seconds: int) -> int:
        """See :meth:`CounterStore.increment`."""
        name = self._prefix + key
        with self._redis.pipeline() as pipe:
            pipe.incr(name)
            pipe.expire(name, max(1, int(ttl_seconds)), nx=True)
            count, _ = pipe.execute()
        return int(count)


def redis_client(url: str):
    """A Redis client for ``url`` (``redis://host:port/db``), imported lazily."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)


def _redis_url(redis_url: Optional[str]) -> Optional[str]:
    return redis_url if redis_url is not None else (os.environ.get("REDIS_URL") or "").strip() or None


def dedup_store(redis_url: Optional[str] = None) -> DedupStore:
    """Redis-backed when ``redis_url`` (default: ``REDIS_URL``) is set, else in-process."""
    url = _redis_url(redis_url)
    return RedisDedupStore(redis_client(url)) if url else InMemoryDedupStore()


def counter_store(redis_url: Optional[str] = None) -> CounterStore:
    """Redis-backed when ``redis_url`` (default: ``REDIS_URL``) is set, else in-process."""
    url = _redis_url(redis_url)
    return RedisCounterStore(redis_client(url)) if url else InMemoryCounterStore()
