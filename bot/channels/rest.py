"""Rasa's REST channel (``POST /webhooks/rest/webhook``) with the per-sender limit of :mod:`bot.channels.limits`.

Same name (``rest``), URL, request and response as :class:`rasa.core.channels.rest.RestInput`; the differences: a
flooding sender gets the polite "slow down" reply in the response list, and a ``message`` that is not text (null, a
number, a list) is read as its text or as empty instead of failing deep inside Rasa with a stack trace and ``[]``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint

from bot.channels.limits import SenderRateLimiter, default_limiter, limit_messages


class RestInput(RasaRestInput):
    """The REST channel, rate-limited per sender.

    Args:
        limiter: The limiter; default :func:`bot.channels.limits.default_limiter` (``JUHAOBAN_RATE_LIMIT``,
            Redis when ``REDIS_URL`` is set).
    """

    def __init__(self, limiter: Optional[SenderRateLimiter] = None) -> None:
        self.limiter = limiter or default_limiter()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """The channel takes no credentials."""
        return cls()

    def _extract_message(self, req) -> Text:
        """The ``message`` as text: a number as its digits, anything else that is not a string as ""."""
        message = (req.json or {}).get("message") if isinstance(req.json, dict) else None
        if isinstance(message, str):
            return message
        if isinstance(message, (int, float)) and not isinstance(message, bool):
            return str(message)
        return ""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's REST blueprint around the rate-limited callback."""
        return super().blueprint(limit_messages(on_new_message, self.limiter))
