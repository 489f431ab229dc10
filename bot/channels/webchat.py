"""The web chat's channel: Rasa's socket.io channel (name ``socketio``) with the per-sender limit.

The page is served by the admin server at ``/chat`` (:mod:`admin.chat`); it connects to Rasa's ``/socket.io``, asks
for a session (``session_request``) and keeps its session id, so with ``session_persistence: true`` the sender id
is the session id and pushes (``trigger_intent`` with ``output_channel=socketio``: notifications, dispatcher
replies) reach every open page of that session through its socket.io room.

Two corrections to Rasa 3.6's channel:

- Rasa calls ``sio.enter_room(...)`` without ``await``; with python-socketio 5.x that is a coroutine, so the page
  never joined its room and no reply or push reached it (RasaHQ/rasa#13027). ``session_request`` is replaced by
  one that awaits it.
- A session id is what the page sends, so a client could claim somebody else's sender id (a WeChat openid) and
  read that conversation's cases. Only session ids this server hands out are accepted: 32 lower-case hex digits
  (``uuid4().hex``); messages under any other id are dropped.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from bot.channels.limits import SenderRateLimiter, default_limiter, limit_messages

logger = logging.getLogger(__name__)

#: The form of a session id (``uuid4().hex``).
SESSION_ID = re.compile(r"[0-9a-f]{32}")


def valid_session_id(value: Any) -> bool:
    """True when ``value`` has the form of a session id this channel hands out."""
    return isinstance(value, str) and SESSION_ID.fullmatch(value) is not None


class WebChatInput(SocketIOInput):
    """Rasa's socket.io channel, rate-limited per sender, joining session rooms correctly (see the module
    docstring; credentials as :class:`rasa.core.channels.socketio.SocketIOInput`: ``user_message_evt``,
    ``bot_message_evt``, ``session_persistence``, …)."""

    limiter: Optional[SenderRateLimiter] = None

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """As Rasa's socket.io channel; the limiter comes from the environment."""
        channel = super().from_credentials(credentials)
        channel.limiter = default_limiter()
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's socket.io blueprint around the rate-limited, session-checked callback."""
        limited = limit_messages(on_new_message, self.limiter or default_limiter())

        async def checked(message: UserMessage) -> Any:
            if self.session_persistence and not valid_session_id(message.sender_id):
                logger.warning("socket.io message under a session id this server did not hand out: dropped")
                return None
            return await limited(message)

        blueprint = super().blueprint(checked)
        sio = self.sio

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            requested = (data or {}).get("session_id")
            session_id = requested if valid_session_id(requested) else uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        return blueprint
