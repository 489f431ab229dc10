"""The console's client of Rasa's HTTP API: take a conversation over, speak in it as staff, hand it back.

Rasa runs with ``--enable-api --auth-token T`` (``JUHAOBAN_RASA_TOKEN``); every call carries ``?token=T``. All three
operations append events to the conversation's tracker in one request::

    POST {rasa_url}/conversations/{sender}/tracker/events
         ?execute_side_effects=true&output_channel={channel}&include_events=NONE&token=T
    [{"event": "pause"}, {"event": "bot", "text": …, "metadata": {"juhaoban_staff": "调度员王芳"}}]

What Rasa does with it (``rasa/server.py`` ``append_events``, Rasa 3.6): under the conversation's lock it appends
the events to the tracker, sends every ``bot`` event through the output channel named by ``output_channel`` (the
input channel's ``get_output_channel()``), and only then saves the tracker. So:

- The staff's messages reach the resident through the channel the resident used and are recorded in the
  tracker as bot messages, marked ``metadata.juhaoban_staff`` = the staff member's display name
  (:mod:`admin.conversations` reads them back as ``staff`` messages).
- ``wechat`` sends a customer-service message (the platform refuses when the resident has not written for 48 hours),
  ``socketio`` (the web chat) emits to the page's session room, ``hotline`` sends an SMS when a gateway is
  configured. ``rest`` has no output channel: Rasa uses its collecting channel, so the message is only in the
  tracker (a REST client sees it only if it reads the tracker). A channel that is switched off behaves the same.
- If sending fails (WeChat refuses, the SMS gateway is down), Rasa answers 500 and saves nothing: neither the
  pause nor the message. :class:`RasaRefused` then means "nothing changed in the conversation".
- While the tracker is paused Rasa still logs what the resident writes but runs no action: the bot answers nothing.
  Two things end the pause on Rasa's side without a hand-back: a resident's ``/restart``, and a new session, which
  Rasa starts when the resident writes more than the domain's ``session_expiration_time`` (120 minutes) after their
  own previous message (``MessageProcessor._has_session_expired`` looks at the last *user* event only; the staff's
  messages do not keep the session alive). :class:`admin.conversations.ConversationSummary` ``paused`` shows it;
  the console should offer to take over again when its take-over is open but the tracker is no longer paused.

Why aiohttp: the console runs on sanic's event loop; aiohttp (already locked, used by the tests' clients and the
hotline channel) keeps a connection pool per loop without a worker thread per request. Create the client in the
app's ``before_server_start`` listener (or lazily inside a request) and :meth:`RasaClient.close` it after stop.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from typing import Any, Optional

import aiohttp
from yarl import URL

from workflow.exceptions import JuhaobanError

#: Metadata key of a bot event that a staff member sent: the staff member's display name.
STAFF_METADATA_KEY = "juhaoban_staff"
#: Metadata key of the bot's "back to the assistant" message: who handed the conversation back.
HAND_BACK_METADATA_KEY = "juhaoban_handed_back_by"
#: What the resident reads when a staff member takes the conversation over (``{staff}``: display name).
TAKE_OVER_TEXT = "您好，巨好办工作人员（{staff}）已接入，接下来由人工为您服务。请直接说明您的问题，我们会尽快答复。"
#: What the resident reads when the conversation is handed back to the bot.
HAND_BACK_TEXT = (
    "本次人工服务已结束，感谢您的耐心。接下来由智能助手继续为您服务：有问题可以直接说，"
    "也可以发工单号查询办理进度；需要人工可以再说“转人工”。"
)
#: Longest staff message accepted, in characters (WeChat splits long texts into parts; an SMS gateway may too).
MAX_STAFF_MESSAGE = 2000
_MAX_STAFF_NAME = 128
#: Characters of Rasa's error body kept in :class:`RasaRefused`.
_BODY_EXCERPT = 300
#: Characters of a URL path segment that need no percent-encoding (RFC 3986 ``pchar``): what Rasa receives as sent.
_PCHAR = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@")
#: ``output_channel`` when the channel is unknown: Rasa uses the tracker's latest input channel.
LATEST_CHANNEL = "latest"


class RasaUnavailable(JuhaobanError):
    """Rasa could not be reached or did not answer in time; the conversation may or may not have changed.

    Context: ``url`` (without the token), ``error`` (the exception's class and message).
    """

    code = "rasa_unavailable"


class RasaRefused(JuhaobanError):
    """Rasa answered with a status other than 2xx. For the tracker-events route nothing was saved.

    Context: ``sender_id``, ``status`` (HTTP status), ``body`` (the first 300 characters of the answer).
    401/403: the token is wrong; 409: Rasa has no model loaded yet; 500: Rasa's output channel failed to send.
    """

    code = "rasa_refused"


class UnaddressableConversation(JuhaobanError):
    """A sender id Rasa's HTTP API cannot address: it has characters a URL path must percent-encode (space, ``?``,
    ``#``, ``%``, ``/``, non-ASCII, …) and Rasa 3.6 does not decode path parameters, so the events would land in a
    conversation named with the escapes (and its output channel would send to that wrong recipient). Ids of our
    channels never need it (WeChat openids, web chat session ids, ``hotline:<number>``). Context: ``sender_id``.
    """

    code = "unaddressable_conversation"


class InvalidStaffMessage(JuhaobanError):
    """A staff message or staff name is empty or too long. Context: ``field``, ``limit``."""

    code = "invalid_staff_message"


def _staff_name(staff: str) -> str:
    staff = (staff or "").strip()
    if not staff or len(staff) > _MAX_STAFF_NAME:
        raise InvalidStaffMessage(f"the staff name needs 1–{_MAX_STAFF_NAME} characters", field="staff",
                                  limit=_MAX_STAFF_NAME)
    return staff


def take_over_events(staff: str) -> list[dict[str, Any]]:
    """The events of a take-over: pause the bot, then the staff's announcement.

    Raises:
        InvalidStaffMessage: An empty or too long ``staff``.
    """
    staff = _staff_name(staff)
    return [
        {"event": "pause"},
        {"event": "bot", "text": TAKE_OVER_TEXT.format(staff=staff), "metadata": {STAFF_METADATA_KEY: staff}},
    ]


def staff_message_events(text: str, staff: str) -> list[dict[str, Any]]:
    """The event of one staff message (surrounding whitespace dropped).

    Raises:
        InvalidStaffMessage: An empty or too long ``text`` (over :data:`MAX_STAFF_MESSAGE`) or ``staff``.
    """
    staff = _staff_name(staff)
    text = (text or "").strip()
    if not text or len(text) > MAX_STAFF_MESSAGE:
        raise InvalidStaffMessage(f"a message needs 1–{MAX_STAFF_MESSAGE} characters", field="text",
                                  limit=MAX_STAFF_MESSAGE)
    return [{"event": "bot", "text": text, "metadata": {STAFF_METADATA_KEY: staff}}]


def hand_back_events(staff: str) -> list[dict[str, Any]]:
    """The events of a hand-back: resume the bot, then the bot says it is back (a bot message, not a staff one).

    Raises:
        InvalidStaffMessage: An empty or too long ``staff``.
    """
    staff = _staff_name(staff)
    return [
        {"event": "resume"},
        {"event": "bot", "text": HAND_BACK_TEXT, "metadata": {HAND_BACK_METADATA_KEY: staff}},
    ]


class RasaClient:
    """Async client of the Rasa server's conversation API.

    Args:
        base_url: The Rasa server, e.g. ``http://127.0.0.1:5005``.
        token: Rasa's ``--auth-token``, or None when it runs without one.
        timeout: Seconds for a whole request (connecting, Rasa sending through the channel, the answer). The WeChat
            API or an SMS gateway is called inside the request; 15 s covers their own timeouts.
        session: An aiohttp session to use (not closed by :meth:`close`); default one created on first use in the
            running event loop.
    """

    def __init__(self, base_url: str, *, token: Optional[str] = None, timeout: float = 15.0,
                 session: Optional[aiohttp.ClientSession] = None) -> None:
        self._base = base_url.rstrip("/")
        self._token = token or None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> "RasaClient":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session this client created (idempotent)."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None if self._owns_session else self._session

    def events_url(self, sender_id: str, channel: Optional[str]) -> str:
        """The URL that appends events to ``sender_id``'s tracker and sends bot events through ``channel``
        (None: the conversation's latest input channel). Contains the token: do not log it.

        The sender id goes into the path as it is: Rasa 3.6 (sanic 21.12 routes without ``unquote``) does not
        decode ``%3A`` back to ``:``, so ``hotline:138…`` must be sent with its colon, and an id that would need
        escapes cannot be addressed at all.

        Raises:
            UnaddressableConversation: ``sender_id`` is empty or has a character outside RFC 3986's ``pchar``.
        """
        if not sender_id or not set(sender_id) <= _PCHAR:
            raise UnaddressableConversation("Rasa's HTTP API cannot address this sender id (it would need "
                                            "percent-encoding, which Rasa does not decode)", sender_id=sender_id)
        sender = sender_id
        query = {"execute_side_effects": "true", "output_channel": channel or LATEST_CHANNEL,
                 "include_events": "NONE"}
        if self._token:
            query["token"] = self._token
        return f"{self._base}/conversations/{sender}/tracker/events?{urllib.parse.urlencode(query)}"

    async def take_over(self, sender_id: str, *, staff: str, channel: Optional[str]) -> str:
        """Pause the bot in ``sender_id``'s conversation and tell the resident that ``staff`` has joined.

        Args:
            sender_id: The conversation.
            staff: The staff member's display name (shown to the resident and recorded in the tracker).
            channel: The resident's input channel (``wechat``, ``socketio``, ``rest``, ``hotline``), or None for
                the conversation's latest.

        Returns:
            The announcement the resident received.

        Raises:
            InvalidStaffMessage: An empty or too long ``staff``.
            UnaddressableConversation: See :meth:`events_url`.
            RasaUnavailable: Rasa could not be reached or timed out.
            RasaRefused: Rasa answered non-2xx (nothing was saved).
        """
        events = take_over_events(staff)
        await self.append_events(sender_id, events, channel=channel)
        return events[1]["text"]

    async def send(self, sender_id: str, text: str, *, staff: str, channel: Optional[str]) -> str:
        """Send ``text`` to the resident as ``staff`` (recorded as a bot message marked with the staff's name).

        Expand canned replies first (:meth:`admin.canned_replies.CannedReplies.expand`).

        Returns:
            The text sent (stripped).

        Raises:
            InvalidStaffMessage: An empty or too long ``text`` or ``staff``.
            UnaddressableConversation: See :meth:`events_url`.
            RasaUnavailable: Rasa could not be reached or timed out.
            RasaRefused: Rasa answered non-2xx (the message was not delivered and not recorded).
        """
        events = staff_message_events(text, staff)
        await self.append_events(sender_id, events, channel=channel)
        return events[0]["text"]

    async def hand_back(self, sender_id: str, *, staff: str, channel: Optional[str]) -> str:
        """Resume the bot and let it tell the resident it is back and what they can do.

        Returns:
            The message the resident received.

        Raises:
            InvalidStaffMessage: An empty or too long ``staff``.
            UnaddressableConversation: See :meth:`events_url`.
            RasaUnavailable: Rasa could not be reached or timed out.
            RasaRefused: Rasa answered non-2xx (the bot is still paused).
        """
        events = hand_back_events(staff)
        await self.append_events(sender_id, events, channel=channel)
        return events[1]["text"]

    async def append_events(self, sender_id: str, events: list[dict[str, Any]], *,
                            channel: Optional[str]) -> dict[str, Any]:
        """Append ``events`` to the tracker, sending ``bot`` events through ``channel``; returns Rasa's answer
        (the tracker's current state without its events).

        Raises:
            UnaddressableConversation: See :meth:`events_url`.
            RasaUnavailable: Connection refused or reset, DNS failure, or no answer within the timeout.
            RasaRefused: A status other than 2xx.
        """
        url = self.events_url(sender_id, channel)
        public_url = url.split("?", 1)[0]
        session = self._session_or_new()
        try:
            async with session.post(URL(url, encoded=True), json=events, timeout=self._timeout) as response:
                body = await response.text()
                if not 200 <= response.status < 300:
                    raise RasaRefused(f"Rasa answered HTTP {response.status}", sender_id=sender_id,
                                      status=response.status, body=body[:_BODY_EXCERPT])
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            detail = f"{type(error).__name__}: {error}"
            if self._token:
                detail = detail.replace(self._token, "***")
            raise RasaUnavailable(f"Rasa could not be reached at {self._base}", url=public_url,
                                  error=detail[:_BODY_EXCERPT]) from None
        try:
            answer = json.loads(body) if body else {}
        except ValueError:
            answer = {}
        return answer if isinstance(answer, dict) else {}

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise RuntimeError("the aiohttp session given to RasaClient is closed")
            self._session = aiohttp.ClientSession()
        return self._session
