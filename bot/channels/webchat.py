"""The web chat's channel: Rasa's socket.io channel (name ``socketio``) with the per-sender limit.

The page is served by the admin server at ``/chat`` (:mod:`admin.chat`); it connects to Rasa's ``/socket.io``, asks
for a session (``session_request``) and keeps its session id, so with ``session_persistence: true`` the sender id
is the session id and pushes (``trigger_intent`` with ``output_channel=socketio``: notifications, dispatcher
replies) reach every open page of that session through its socket.io room.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from bot.channels.limits import SenderRateLimiter, default_limiter, limit_messages


class WebChatInput(SocketIOInput):
    """Rasa's socket.io channel, rate-limited per sender (see :class:`rasa.core.channels.socketio.SocketIOInput`
    for the credentials: ``user_message_evt``, ``bot_message_evt``, ``session_persistence``, …)."""

    limiter: Optional[SenderRateLimiter] = None

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """As Rasa's socket.io channel; the limiter comes from the environment."""
        channel = super().from_credentials(credentials)
        channel.limiter = default_limiter()
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's socket.io blueprint around the rate-limited callback."""
        limiter = self.limiter or default_limiter()
        return super().blueprint(limit_messages(on_new_message, limiter))
