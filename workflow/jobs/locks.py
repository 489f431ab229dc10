"""The sweep lock: at most one deadline sweep at a time among the instances that share it.

An optimisation, not a guarantee: the sweep's effects are conditional updates (:mod:`workflow.jobs.sweep`), so two
sweeps at once are merely wasted work. Hence a lock that cannot be reached is logged and the sweep runs anyway
(:func:`workflow.jobs.scheduler.deadline_sweep`), and a holder that dies loses the lock when its time-to-live ends.

Two versions with the same behaviour (Rasa's ``lock_store.py`` style): :class:`InMemorySweepLock` for one process,
:class:`RedisSweepLock` for several instances (``REDIS_URL``; ``redis`` is imported only when it is used).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from workflow.settings import Settings

#: Redis key of the lock.
DEFAULT_KEY = "juhaoban:jobs:deadline_sweep"
#: How long a holder keeps the lock at most (seconds): far above a sweep's duration, short enough after a crash.
DEFAULT_TTL_SECONDS = 300.0

# Delete the key only if it still holds our token (another instance may hold it after our TTL ran out).
_RELEASE_SCRIPT = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""


class SweepLock:
    """A lock with a time-to-live, identified by the token :meth:`acquire` returns.

    Args:
        ttl_seconds: The lock frees itself this long after :meth:`acquire` (> 0).

    Raises:
        ValueError: ``ttl_seconds`` is not positive.
    """

    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds!r}")
        self.ttl_seconds = ttl_seconds

    def acquire(self) -> str | None:
        """Take the lock if nobody holds it; return the token to release it with, or None when it is held."""
        raise NotImplementedError

    def release(self, token: str) -> bool:
        """Release the lock if ``token`` still holds it; True when it did (False: expired, taken by another)."""
        raise NotImplementedError


class InMemorySweepLock(SweepLock):
    """The lock within one process (one instance, tests).

    Args:
        ttl_seconds: See :class:`SweepLock`.
        monotonic: Clock in seconds (tests); default :func:`time.monotonic`.
    """

    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS, monotonic: Callable[[], float] = time.monotonic):
        super().__init__(ttl_seconds)
        self._monotonic = monotonic
        self._guard = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def acquire(self) -> str | None:
        with self._guard:
            now = self._monotonic()
            if self._token is not None and now < self._expires:
                return None
            self._token, self._expires = uuid.uuid4().hex, now + self.ttl_seconds
            return self._token

    def release(self, token: str) -> bool:
        with self._guard:
            if self._token != token or self._monotonic() >= self._expires:
                return False
            self._token = None
            return True


class RedisSweepLock(SweepLock):
    """The lock in Redis, shared by every instance on the same Redis (``SET key token NX PX ttl``).

    Args:
        url: ``redis://host:6379/0``; or give ``client``.
        client: A ``redis.Redis`` client to use instead of one made from ``url``.
        key: The Redis key (default ``juhaoban:jobs:deadline_sweep``).
        ttl_seconds: See :class:`SweepLock`.

    Raises:
        ValueError: Neither ``url`` nor ``client``, or a bad ``ttl_seconds``.
        redis.RedisError: From :meth:`acquire`/:meth:`release` when Redis cannot be reached.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        key: str = DEFAULT_KEY,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        super().__init__(ttl_seconds)
        if client is None:
            if not url:
                raise ValueError("RedisSweepLock needs a url or a client")
            import redis  # only when Redis is configured

            client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._client = client
        self.key = key

    def acquire(self) -> str | None:
        token = uuid.uuid4().hex
        taken = self._client.set(self.key, token, nx=True, px=max(1, int(self.ttl_seconds * 1000)))
        return token if taken else None

    def release(self, token: str) -> bool:
        return bool(self._client.eval(_RELEASE_SCRIPT, 1, self.key, token))


def sweep_lock(settings: Settings) -> SweepLock:
    """The lock for these settings: Redis when ``REDIS_URL`` is set, else in-memory (one instance)."""
    if settings.redis_url:
        return RedisSweepLock(settings.redis_url)
    return InMemorySweepLock()
