"""Per-sender message limits: a sender flooding a channel is slowed with a polite reply, not crashed into.

Every input channel of the project wraps Rasa's ``on_new_message`` callback with :func:`limit_messages`. A sender
may send ``messages`` messages per ``per_seconds`` window (default 20 per 60 s, ``JUHAOBAN_RATE_LIMIT=20/60``);
past that, each further message in the window is answered with :data:`RATE_LIMITED_TEXT` on the sender's own
channel and not run through the bot (no NLU, no action calls, no tracker lock held). The counters are shared by
all instances through Redis when ``REDIS_URL`` is set (:mod:`bot.channels.stores`).

Source of the default: residents type a message every few seconds at most; 20 a minute leaves room for a quick
conversation (report, township, phone, 对) several times over while stopping scripts and stuck clients.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, Optional

from rasa.core.channels.channel import UserMessage

from bot.channels.stores import CounterStore, counter_store

logger = logging.getLogger(__name__)

RATE_LIMITED_TEXT = "您发消息太快了，请稍等{seconds}秒再发。刚才这条没有处理，请稍后重新发送。"
ENV_VAR = "JUHAOBAN_RATE_LIMIT"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class RateLimit:
    """At most ``messages`` messages from one sender per ``per_seconds`` seconds (a fixed window).

    Raises:
        ValueError: Either number is not a whole number ≥ 1.
    """

    messages: int = 20
    per_seconds: int = 60

    def __post_init__(self) -> None:
        for name in ("messages", "per_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"rate limit {name} must be a whole number >= 1, got {value!r}")

    @classmethod
    def parse(cls, text: str) -> "RateLimit":
        """``"20/60"`` → 20 messages per 60 seconds.

        Raises:
            ValueError: Not of the form ``<messages>/<seconds>`` with whole numbers ≥ 1.
        """
        try:
            messages, seconds = (int(part) for part in text.strip().split("/"))
        except ValueError:
            raise ValueError(f"{ENV_VAR} must look like 20/60 (messages/seconds), got {text!r}") from None
        return cls(messages, seconds)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "RateLimit":
        """The limit in ``JUHAOBAN_RATE_LIMIT`` (``messages/seconds``), or the default when unset."""
        value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
        return cls.parse(value) if value else cls()


class SenderRateLimiter:
    """Counts each sender's messages in fixed windows of ``limit.per_seconds`` seconds.

    Args:
        store: Where the counts live (in-process or Redis).
        limit: The limit.
        clock: Wall-clock seconds (the window index must agree across instances, so not monotonic).
    """

    def __init__(self, store: CounterStore, limit: RateLimit = RateLimit(),
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self.limit = limit
        self._clock = clock

    def check(self, sender_key: str) -> Optional[int]:
        """Counts one message of ``sender_key``; None when it is within the limit, else the seconds (≥ 1) until
        the sender's window ends."""
        now = self._clock()
        window = int(now // self.limit.per_seconds)
        count = self._store.increment(f"{sender_key}:{window}", self.limit.per_seconds)
        if count <= self.limit.messages:
            return None
        return max(1, math.ceil((window + 1) * self.limit.per_seconds - now))


def default_limiter() -> SenderRateLimiter:
    """The limiter of ``JUHAOBAN_RATE_LIMIT`` over Redis when ``REDIS_URL`` is set, else in-process."""
    return SenderRateLimiter(counter_store(), RateLimit.from_env())


def limit_messages(on_new_message: OnNewMessage, limiter: SenderRateLimiter) -> OnNewMessage:
    """``on_new_message`` guarded by ``limiter``: over the limit, the sender is told to slow down instead.

    The key is ``<input channel>:<sender id>``. A failure of the counter store (Redis down) lets the message
    through: a resident must never lose a report because the limiter is broken.
    """

    async def guarded(message: UserMessage) -> Any:
        key = f"{message.input_channel or 'unknown'}:{message.sender_id}"
        try:
            wait = limiter.check(key)
        except Exception:  # the store is down: serve the resident, log loudly
            logger.exception("rate limiter unavailable; letting %s through", key)
            wait = None
        if wait is None:
            return await on_new_message(message)
        logger.warning("rate limit: %s is over %d messages per %d s", key, limiter.limit.messages,
                       limiter.limit.per_seconds)
        await message.output_channel.send_text_message(message.sender_id, RATE_LIMITED_TEXT.format(seconds=wait))
        return None

    return guarded
