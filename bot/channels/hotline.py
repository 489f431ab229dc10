"""The county hotline (热线) as a Rasa input channel: finished calls arrive as ASR transcripts and become cases.

Mounted at ``/webhooks/hotline/webhook`` (``GET /webhooks/hotline/`` is the health check). The call centre posts
each call once it has ended::

    POST /webhooks/hotline/webhook
    {"call_id": "HL-20261130-0001", "caller": "13831912345", "started_at": "2026-11-30T09:12:05+08:00",
     "turns": [{"speaker": "agent" | "caller", "text": "…", "start_s": 0.0, "end_s": 3.2, "asr_confidence": 0.93},
               …],
     "case_id": "JL20261120-0003"}            # only for a 回访 (follow-up) call about that case

and gets what was filed (``workflow.hotline.HotlineDesk.take_call``)::

    {"call_id", "duplicate": false, "cases": [{"case_id", "category", "category_name", "township",
     "township_name", "status", …}], "answered": [status answers, ratings], "not_filed": [{"text", "reason"}]}

A malformed call is answered 400 ``{"error": "invalid_call", "field": "turns[2].speaker", "message": …}`` and
nothing is filed; a body that is not JSON 400 ``invalid_json``; a Rasa server whose model is still loading 503;
anything unexpected 500 with a generic message (the stack trace goes to the log). The same call posted again is
answered with the first outcome and ``duplicate: true``. Nothing of a call goes through the conversation
(``on_new_message``): the caller has hung up; the transcript is read by :func:`bot.transcripts.read_call` with the
loaded model (``request.app.ctx.agent.parse_message``) and filed by :mod:`workflow.hotline`.

Pushes (case notifications through Rasa's ``trigger_intent`` with ``output_channel=hotline``) go out as SMS when an
SMS gateway is configured (:class:`HotlineOutput`: ``POST {"phone", "text"}``); otherwise Rasa collects them and
they stay readable in the outbox and ``GET /api/residents/{sender}/messages``.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import os
import threading
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.transcripts import Parse, PlaceCorrector, read_call
from workflow.exceptions import InvalidCall
from workflow.hotline import CHANNEL, HotlineDesk, number_of_reporter, parse_call

logger = logging.getLogger(__name__)

CHANNEL_NAME = CHANNEL
#: Environment variable that overrides the ``sms_url`` key of credentials.yml.
SMS_URL_ENV = "JUHAOBAN_HOTLINE_SMS_URL"
#: The keys credentials.yml may give the channel (all optional).
CREDENTIAL_KEYS = ("sms_url", "token")
#: Environment variable that overrides the ``token`` key: the call centre's shared secret.
TOKEN_ENV = "JUHAOBAN_HOTLINE_TOKEN"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
#: Seconds the SMS gateway may take per message.
SMS_TIMEOUT_SECONDS = 10.0
_MOBILE_PREFIX = "1"
_dumps = functools.partial(json.dumps, ensure_ascii=False)


class HotlineConfigError(ValueError):
    """credentials.yml gives the hotline channel a key it does not know (a typo would silently turn SMS off)."""


def _error(status: int, code: str, message: str, **context: Any) -> HTTPResponse:
    return response.json({"error": code, "message": message, **context}, status=status, dumps=_dumps)


class HotlineOutput(OutputChannel):
    """Sends the bot's messages to a hotline caller as SMS: ``POST {sms_url} {"phone": <number>, "text": …}``.

    The recipient is the case's reporter id, ``hotline:<number>`` (:func:`workflow.hotline.reporter_id_for`).

    Args:
        sms_url: The gateway's URL.
        timeout: Seconds per message.
    """

    @classmethod
    def name(cls) -> Text:
        """Channel name."""
        return CHANNEL_NAME

    def __init__(self, sms_url: str, timeout: float = SMS_TIMEOUT_SECONDS) -> None:
        self.sms_url = sms_url
        self.timeout = timeout

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Sends ``text`` to the number in ``recipient_id``; a number that cannot take SMS (a landline, a hidden
        number) is logged and skipped (the message stays in the outbox and the conversation).

        Raises:
            aiohttp.ClientError: The gateway answered an error or could not be reached; Rasa's ``trigger_intent``
                then fails and the notification deliverer retries later.
        """
        phone = number_of_reporter(recipient_id)
        if phone is None or not phone.startswith(_MOBILE_PREFIX):
            logger.warning("no SMS to %s: not a mobile number", recipient_id)
            return
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(self.sms_url, json={"phone": phone, "text": text}) as answer:
                answer.raise_for_status()

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        """An image is sent as its link."""
        await self.send_text_message(recipient_id, image)


class HotlineIntake:
    """Takes one posted call: check it, read it with the NLU, file it (the channel and ``juhaoban import-calls``).

    Args:
        desk: Files matters and answers questions (database work runs in a worker thread).
        places: Place-name correction over the county's gazetteer.
    """

    def __init__(self, desk: HotlineDesk, places: PlaceCorrector) -> None:
        self.desk = desk
        self.places = places

    async def take(self, body: Any, parse: Parse) -> Dict[str, Any]:
        """Take one call (the decoded JSON body).

        Returns:
            The outcome (:meth:`workflow.hotline.HotlineDesk.take_call`); a call taken before is not read again.

        Raises:
            InvalidCall: The body is not a valid call (``context["field"]`` names what is wrong).
        """
        call = parse_call(body)
        previous = await _in_thread(self.desk.previous_outcome, call.call_id)
        if previous is not None:
            return previous
        reading = await read_call(call.turns, parse, self.places, follow_up=call.case_id is not None)
        return await _in_thread(self.desk.take_call, call, reading)


async def _in_thread(function: Callable, *args: Any) -> Any:
    """Runs blocking database work off the event loop (the Rasa server keeps answering meanwhile)."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(function, *args))


def build_intake(settings) -> HotlineIntake:
    """The intake over the database and data of ``settings`` (:class:`workflow.settings.Settings`)."""
    from workflow.cases import CaseService
    from workflow.db import make_engine, make_session_factory
    from workflow.gazetteer import Gazetteer
    from workflow.lifecycle import CaseLifecycle
    from workflow.policy import load_policy
    from workflow.workcalendar import WorkingCalendar

    session_factory = make_session_factory(make_engine(settings.database_url))
    calendar = WorkingCalendar.default(settings.data_dir)
    policy = load_policy(settings.data_dir)
    cases = CaseService(session_factory, calendar, policy=policy)
    lifecycle = CaseLifecycle(session_factory, calendar, policy=policy,
                              auto_accept_threshold=settings.auto_accept_threshold)
    places = PlaceCorrector(Gazetteer.load(settings.data_dir))
    return HotlineIntake(HotlineDesk(session_factory, cases, lifecycle), places)


class HotlineInput(InputChannel):
    """The hotline's webhook (see the module docstring).

    Args:
        sms_url: SMS gateway for pushes, or None (pushes are collected, not sent).
        token: The call centre's shared secret: calls must carry ``Authorization: Bearer <token>``. Without one
            only clients on this machine (loopback) may post: a posted call can read a caller's cases and, as a
            回访, rate them, so the webhook is never open to the Internet.
        intake: The intake; default built on first use from the environment (``DATABASE_URL``, data dir).
        parse: The NLU, text → parse dict; default the Rasa server's loaded model (tests inject one).
    """

    @classmethod
    def name(cls) -> Text:
        """Channel name: the webhook is ``/webhooks/hotline/webhook``."""
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]],
                         environ: Optional[Dict[str, str]] = None) -> InputChannel:
        """Reads credentials.yml (no key is required; ``sms_url`` optional), ``JUHAOBAN_HOTLINE_SMS_URL`` wins.

        Raises:
            HotlineConfigError: An unknown key (names it), or an ``sms_url`` that is not an http(s) URL.
        """
        credentials = credentials or {}
        env = os.environ if environ is None else environ
        unknown = sorted(set(credentials) - set(CREDENTIAL_KEYS))
        if unknown:
            raise HotlineConfigError(f"credentials.yml: the hotline channel knows only {', '.join(CREDENTIAL_KEYS)}; "
                                     f"unknown: {', '.join(unknown)}")
        sms_url = str(env.get(SMS_URL_ENV) or credentials.get("sms_url") or "").strip() or None
        if sms_url is not None and not sms_url.startswith(("http://", "https://")):
            raise HotlineConfigError(f"sms_url ({SMS_URL_ENV}) must be an http(s) URL, got {sms_url!r}")
        token = str(env.get(TOKEN_ENV) or credentials.get("token") or "").strip() or None
        return cls(sms_url=sms_url, token=token)

    def __init__(self, sms_url: Optional[str] = None, *, intake: Optional[HotlineIntake] = None,
                 parse: Optional[Parse] = None, token: Optional[str] = None) -> None:
        self.sms_url = sms_url
        self.token = token
        self._intake = intake
        self._parse = parse
        self._lock = threading.Lock()

    def get_output_channel(self) -> Optional[OutputChannel]:
        """The SMS sender when a gateway is configured, else None (Rasa collects the messages)."""
        return HotlineOutput(self.sms_url) if self.sms_url else None

    def intake(self) -> HotlineIntake:
        """The intake, built from the environment on first use."""
        with self._lock:
            if self._intake is None:
                from workflow.settings import Settings

                self._intake = build_intake(Settings.from_env())
            return self._intake

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """``GET /`` health, ``POST /webhook`` one finished call."""
        webhook = Blueprint("hotline_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "sms": bool(self.sms_url)})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
            body = self._extract_call(request)
            if body is _NOT_JSON:
                return _error(400, "invalid_json", "the body must be one call as a JSON object")
            parse = self._parse or self._extract_parser(request)
            if parse is None:
                return _error(503, "model_not_ready", "the NLU model is not loaded yet; post the call again later")
            try:
                outcome = await self.intake().take(body, parse)
            except InvalidCall as error:
                return _error(400, error.code, error.message, field=error.context.get("field"))
            except Exception:  # the call was not filed (one transaction): say so, keep the trace in the log
                logger.exception("hotline call could not be handled")
                return _error(500, "internal_error", "the call could not be handled and was not filed; "
                                                     "post it again later")
            return response.json(outcome, dumps=_dumps)

        return webhook

    # -- helpers ---------------------------------------------------------------------------------------------
    def _refusal(self, request: Request) -> Optional[HTTPResponse]:
        """401/403 unless the request carries the token (or, with none configured, comes from this machine)."""
        if self.token is None:
            if request.ip in _LOOPBACK:
                return None
            return _error(403, "forbidden", f"set {TOKEN_ENV} and send it as a Bearer token to post calls "
                                            "from another machine")
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            return None
        return _error(401, "unauthorized", "missing or wrong Bearer token")

    @staticmethod
    def _extract_call(request: Request) -> Any:
        try:
            return json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            return _NOT_JSON

    @staticmethod
    def _extract_parser(request: Request) -> Optional[Parse]:
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or not agent.is_ready():
            return None
        return agent.parse_message


_NOT_JSON = object()
