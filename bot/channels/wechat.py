"""The county's WeChat official account (微信公众号) as a Rasa input channel, on ``wechatpy`` for the protocol.

Mounted at ``/webhooks/wechat/webhook``:

- ``GET``: URL verification (``signature``, ``timestamp``, ``nonce``, ``echostr``): echoes ``echostr`` when the
  signature is right, 403 otherwise.
- ``POST``: one message or event as XML. The ``signature`` is checked on every request (and its ``timestamp`` must
  be within :data:`MAX_CLOCK_SKEW_SECONDS` of now, so a captured request cannot be replayed later); in safe mode
  (``encrypt_type=aes``) the body is decrypted (``msg_signature``) and the reply encrypted.

Messages become what the bot understands (:func:`rasa_text`): text as is; voice as its ``Recognition`` text with
``metadata.message_type = "voice"``; a location as ``/share_location{latitude, longitude, location_label}`` and an
image as ``/share_image{media_id, pic_url}`` (``actions/channel_events.py``); subscribe as ``/subscribe`` (welcome
and menu); menu CLICK keys (:data:`MENU_INTENTS`) as their intents. The sender id is the resident's openid.

The platform waits 5 seconds for an answer and then retries the same message up to 3 times. So:

- a message is handled once: its ``MsgId`` (events: sender + ``CreateTime`` + event) is remembered for
  :data:`DEDUP_TTL_SECONDS` in a store every instance shares (Redis when ``REDIS_URL`` is set), and a retry gets
  ``success`` without being run again;
- when the bot answers within ``reply_timeout`` seconds (default :data:`DEFAULT_REPLY_TIMEOUT`, under the
  platform's 5 s with room for the network), the answer is the passive reply in the HTTP response; otherwise the
  response is ``success`` at once and the bot's messages, as they come, go out through the customer-service
  message API (:mod:`bot.channels.wechat_api`).

Pushes (case notifications through Rasa's ``trigger_intent`` with ``output_channel=wechat``, dispatcher replies)
use the customer-service message API too (:class:`WeChatOutput`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot.channels.limits import SenderRateLimiter, default_limiter, limit_messages
from bot.channels.stores import DedupStore, dedup_store, redis_client
from bot.channels.wechat_api import DEFAULT_API_BASE, MAX_TEXT_BYTES, CountyWeChatClient

logger = logging.getLogger(__name__)

CHANNEL_NAME = "wechat"
#: Seconds the bot may take before the answer goes out through the customer-service API instead.
DEFAULT_REPLY_TIMEOUT = 4.0
#: How long a message id is remembered (seconds): the platform's retries come within about 15 s.
DEDUP_TTL_SECONDS = 300
#: credentials.yml key → environment variable that overrides it.
ENV_OVERRIDES = {
    "token": "WECHAT_TOKEN",
    "appid": "WECHAT_APPID",
    "secret": "WECHAT_SECRET",
    "encoding_aes_key": "WECHAT_AES_KEY",
    "api_base_url": "WECHAT_API_BASE",
}
#: Menu CLICK keys → the intent each one means (the menu itself: :data:`MENU`).
MENU_INTENTS = {
    "REPORT": "start_report",
    "MY_CASES": "ask_case_status",
    "MY_POINTS": "ask_points",
    "HUMAN": "request_human",
}
#: The official account's custom menu (published with :meth:`CountyWeChatClient.create_menu`).
MENU = {
    "button": [
        {"type": "click", "name": "我要反映", "key": "REPORT"},
        {"type": "click", "name": "我的工单", "key": "MY_CASES"},
        {
            "name": "更多",
            "sub_button": [
                {"type": "click", "name": "我的积分", "key": "MY_POINTS"},
                {"type": "click", "name": "人工服务", "key": "HUMAN"},
            ],
        },
    ]
}
UNSUPPORTED_TEXT = "目前只能接收文字、语音、图片和位置。请用文字或语音说一下遇到了什么问题。"
UNHEARD_VOICE_TEXT = "这条语音没听清，请再说一遍，或者直接打字告诉我。"
UNREADABLE_LOCATION_TEXT = "没能读出这个位置，请直接说一下是哪个乡镇、哪个村。"
BUSY_TEXT = "抱歉，系统出了点问题，这条消息没有处理成功，请稍后再发一次。"
#: A signed request older or newer than this (seconds) is refused: a captured request cannot be replayed after the
#: de-duplication window (:data:`DEDUP_TTL_SECONDS`) has forgotten it.
MAX_CLOCK_SKEW_SECONDS = 300


class WeChatConfigError(ValueError):
    """credentials.yml lacks a key of the WeChat channel, or a value is unusable (names the key)."""


@dataclass(frozen=True)
class WeChatConfig:
    """The official account's settings.

    Attributes:
        token: The server-configuration Token (signatures).
        appid: AppID.
        secret: AppSecret (access token for the customer-service API).
        encoding_aes_key: EncodingAESKey (43 characters) for safe mode, or "" for plain mode only.
        api_base_url: Base URL of the API, ending in ``/``.
        reply_timeout: Seconds to wait for the bot before answering ``success`` and replying actively.
    """

    token: str
    appid: str
    secret: str
    encoding_aes_key: str = ""
    api_base_url: str = DEFAULT_API_BASE
    reply_timeout: float = DEFAULT_REPLY_TIMEOUT

    @property
    def enabled(self) -> bool:
        """True when token, AppID and secret are all set."""
        return bool(self.token and self.appid and self.secret)

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]],
                         environ: Optional[Dict[str, str]] = None) -> "WeChatConfig":
        """Reads the keys of credentials.yml; each environment variable of :data:`ENV_OVERRIDES` wins when set.

        Raises:
            WeChatConfigError: A key is missing from credentials.yml, the AES key is not 43 characters, or
                ``reply_timeout`` is not a number between 0.5 and 4.8 seconds.
        """
        credentials = credentials or {}
        env = os.environ if environ is None else environ
        missing = [key for key in ENV_OVERRIDES if key not in credentials]
        if missing:
            raise WeChatConfigError(f"credentials.yml: the wechat channel needs the keys {', '.join(missing)} "
                                    "(empty values are allowed; environment variables override them)")
        values = {key: str(env.get(var) or credentials.get(key) or "").strip()
                  for key, var in ENV_OVERRIDES.items()}
        if values["encoding_aes_key"] and len(values["encoding_aes_key"]) != 43:
            raise WeChatConfigError("encoding_aes_key (WECHAT_AES_KEY) must be the 43-character EncodingAESKey")
        values["api_base_url"] = values["api_base_url"] or DEFAULT_API_BASE
        if not values["api_base_url"].endswith("/"):
            values["api_base_url"] += "/"
        try:
            timeout = float(credentials.get("reply_timeout", DEFAULT_REPLY_TIMEOUT))
        except (TypeError, ValueError):
            timeout = -1.0
        if not 0.5 <= timeout <= 4.8:
            raise WeChatConfigError("reply_timeout must be between 0.5 and 4.8 seconds (the platform waits 5 s)")
        return cls(**values, reply_timeout=timeout)


class WeChatOutput(OutputChannel):
    """Sends the bot's messages to a resident through the customer-service message API."""

    @classmethod
    def name(cls) -> Text:
        """Channel name."""
        return CHANNEL_NAME

    def __init__(self, client: CountyWeChatClient) -> None:
        self._client = client

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Sends ``text`` to the openid ``recipient_id`` (in a worker thread: wechatpy is synchronous).

        Raises:
            wechatpy.exceptions.WeChatClientException: The platform refused or could not be reached; Rasa's
                ``trigger_intent`` then fails and the notification deliverer retries later.
        """
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._client.send_text, recipient_id, text)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        """Images from the bot are sent as their link (the bot sends none today)."""
        await self.send_text_message(recipient_id, image)


class ReplyCollector(OutputChannel):
    """The output channel of one incoming message: collects replies for the passive answer until
    :meth:`go_active`, then sends everything (collected and later) through ``active`` in order."""

    @classmethod
    def name(cls) -> Text:
        """Channel name."""
        return CHANNEL_NAME

    def __init__(self, active: OutputChannel) -> None:
        self._active_channel = active
        self._texts: List[str] = []
        self._active = False
        self._lock = asyncio.Lock()

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Collects ``text`` while the passive answer is still possible, else sends it actively."""
        async with self._lock:
            if not self._active:
                self._texts.append(text)
                return
            await self._send(recipient_id, text)

    def passive_text(self) -> Optional[str]:
        """The collected replies joined for one passive answer, or None when they do not fit in one."""
        text = "\n\n".join(self._texts)
        return text if len(text.encode("utf-8")) <= MAX_TEXT_BYTES else None

    async def go_active(self, recipient_id: Text) -> None:
        """From now on send actively, starting with what was collected."""
        async with self._lock:
            self._active = True
            pending, self._texts = self._texts, []
            for text in pending:
                await self._send(recipient_id, text)

    async def _send(self, recipient_id: Text, text: Text) -> None:
        try:
            await self._active_channel.send_text_message(recipient_id, text)
        except Exception:  # a failed push is logged; the conversation itself is in the tracker
            logger.exception("WeChat customer-service message to %s failed", recipient_id)


def rasa_text(message) -> Tuple[Optional[str], Dict[str, Any], Optional[str]]:
    """What the bot gets for a parsed wechatpy message: ``(text, metadata, direct_reply)``.

    ``text`` is None when the bot is not to run; ``direct_reply`` is then what the resident is told without
    the bot (an unsupported type, an unheard voice), or None for nothing (unsubscribe, view events …).
    """
    metadata: Dict[str, Any] = {"message_type": message.type}
    if message.type == "text":
        return (message.content or "").strip() or None, metadata, None
    if message.type == "voice":
        recognised = (message.recognition or "").strip()
        metadata["media_id"] = message.media_id
        return (recognised or None), metadata, (None if recognised else UNHEARD_VOICE_TEXT)
    if message.type == "location":
        try:
            entities = {"latitude": float(message.location_x), "longitude": float(message.location_y),
                        "location_label": (message.label or "").strip()}
        except (TypeError, ValueError):
            return None, metadata, UNREADABLE_LOCATION_TEXT
        return _intent("share_location", entities), metadata, None
    if message.type == "image":
        return _intent("share_image", {"media_id": message.media_id or "", "pic_url": message.image or ""}), \
            metadata, None
    if message.type == "event":
        event = (message.event or "").lower()
        metadata["event"] = event
        if event in ("subscribe", "subscribe_scan"):
            return "/subscribe", metadata, None
        if event == "click":
            intent = MENU_INTENTS.get(message.key or "")
            if intent is None:
                logger.warning("unknown WeChat menu key %r", message.key)
            return (f"/{intent}" if intent else None), metadata, None
        return None, metadata, None  # unsubscribe, VIEW, LOCATION reports, template results …
    return None, metadata, UNSUPPORTED_TEXT


def _intent(name: str, entities: Dict[str, Any]) -> str:
    """Rasa's ``/intent{"entity": value}`` message form (handled without NLU by Rasa's RegexMessageHandler)."""
    return f"/{name}{json.dumps(entities, ensure_ascii=False)}"


def message_key(message) -> str:
    """The de-duplication key: ``MsgId``, or for events (which have none) sender, ``CreateTime`` and event."""
    if getattr(message, "id", 0):
        return f"wechat:{message.id}"
    return f"wechat:{message.source}:{message.create_time.timestamp():.0f}:{getattr(message, 'event', '')}"


class WeChatInput(InputChannel):
    """The official account's webhook.

    Args:
        config: The account's settings.
        client: The API client (default: built from ``config``, sharing the token through Redis when
            ``REDIS_URL`` is set).
        dedup: Where message ids are remembered (default :func:`bot.channels.stores.dedup_store`).
        limiter: Per-sender limit (default :func:`bot.channels.limits.default_limiter`).
    """

    @classmethod
    def name(cls) -> Text:
        """Channel name: the webhook is ``/webhooks/wechat/webhook``."""
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Builds the channel from credentials.yml plus the environment.

        Raises:
            WeChatConfigError: See :meth:`WeChatConfig.from_credentials`.
        """
        return cls(WeChatConfig.from_credentials(credentials))

    def __init__(self, config: WeChatConfig, *, client: Optional[CountyWeChatClient] = None,
                 dedup: Optional[DedupStore] = None, limiter: Optional[SenderRateLimiter] = None) -> None:
        self.config = config
        if client is None and config.enabled:
            redis_url = (os.environ.get("REDIS_URL") or "").strip()
            client = CountyWeChatClient(config.appid, config.secret, config.api_base_url,
                                        redis=redis_client(redis_url) if redis_url else None)
        self.client = client
        self.crypto = (WeChatCrypto(config.token, config.encoding_aes_key, config.appid)
                       if config.encoding_aes_key else None)
        self.dedup = dedup or dedup_store()
        self.limiter = limiter or default_limiter()
        self._tasks: set = set()
        if not config.enabled:
            logger.warning("WeChat channel is off: token, appid and secret are not all set")

    def get_output_channel(self) -> Optional[OutputChannel]:
        """The customer-service message sender (for pushes), or None while the channel is off."""
        return WeChatOutput(self.client) if self.client is not None else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """``GET /`` health, ``GET /webhook`` URL verification, ``POST /webhook`` messages."""
        webhook = Blueprint("wechat_webhook", __name__)
        guarded = limit_messages(on_new_message, self.limiter)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.config.enabled else "not configured"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.config.enabled:
                return response.text("wechat channel not configured", status=503)
            if not self._signed(request):
                return response.text("invalid signature", status=403)
            return response.text(request.args.get("echostr", ""))

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.config.enabled:
                return response.text("wechat channel not configured", status=503)
            if not self._signed(request):
                return response.text("invalid signature", status=403)
            try:
                message = parse_message(self._decrypt(request))
            except InvalidSignatureException:
                return response.text("invalid msg_signature", status=403)
            except Exception as error:  # not XML, no MsgType, undecryptable: the sender's fault, said plainly
                logger.warning("unreadable WeChat message: %s", error)
                return response.text("bad message", status=400)
            return await self._handle(request, message, guarded)

        return webhook

    # -- helpers ---------------------------------------------------------------------------------------------
    def _signed(self, request: Request) -> bool:
        args = request.args
        try:
            if abs(time.time() - int(args.get("timestamp", ""))) > MAX_CLOCK_SKEW_SECONDS:
                return False
        except ValueError:
            return False
        try:
            check_signature(self.config.token, args.get("signature", ""), args.get("timestamp", ""),
                            args.get("nonce", ""))
        except InvalidSignatureException:
            return False
        return True

    def _safe_mode(self, request: Request) -> bool:
        return request.args.get("encrypt_type", "raw").lower() == "aes"

    def _decrypt(self, request: Request) -> str:
        body = request.body.decode("utf-8")
        if not self._safe_mode(request):
            return body
        if self.crypto is None:
            raise ValueError("an AES message arrived but encoding_aes_key is not configured")
        args = request.args
        return self.crypto.decrypt_message(body, args.get("msg_signature", ""), args.get("timestamp", ""),
                                           args.get("nonce", ""))

    def _reply(self, request: Request, message, text: str) -> HTTPResponse:
        # wechatpy puts the content in one CDATA section: a "]]>" in it (a resident's words quoted back) would end
        # the section and break the XML. Split it across two sections; the platform reads the same text.
        xml = TextReply(message=message, content=text.replace("]]>", "]]]]><![CDATA[>")).render()
        if self._safe_mode(request) and self.crypto is not None:
            xml = self.crypto.encrypt_message(xml, request.args.get("nonce", ""), request.args.get("timestamp"))
        return response.text(xml, content_type="application/xml")

    async def _handle(self, request: Request, message, on_new_message) -> HTTPResponse:
        try:
            first = self.dedup.first_seen(message_key(message), DEDUP_TTL_SECONDS)
        except Exception:  # the store is down: better to risk a double answer than to drop the message
            logger.exception("WeChat de-duplication store unavailable")
            first = True
        if not first:
            logger.info("WeChat retry of %s ignored", message_key(message))
            return response.text("success")
        text, metadata, direct = rasa_text(message)
        if text is None:
            return self._reply(request, message, direct) if direct else response.text("success")
        collector = ReplyCollector(WeChatOutput(self.client))
        user_message = UserMessage(text, collector, message.source, input_channel=CHANNEL_NAME,
                                   metadata=metadata)
        task = asyncio.create_task(on_new_message(user_message))
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        done, _ = await asyncio.wait({task}, timeout=self.config.reply_timeout)
        if task in done:
            failed = task.exception() is not None
            if failed:  # nothing was done: let the platform's retry (or the resident) try again
                self.dedup.forget(message_key(message))
            passive = collector.passive_text() if not failed else BUSY_TEXT
            if passive is not None:
                return self._reply(request, message, passive) if passive else response.text("success")
        await collector.go_active(message.source)
        return response.text("success")

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("handling a WeChat message failed", exc_info=task.exception())
