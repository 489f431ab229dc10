"""The official account's side of the WeChat API: the access token and customer-service messages.

Built on ``wechatpy``'s :class:`~wechatpy.WeChatClient` (the protocol: endpoints, JSON bodies, error codes, the
retry with a fresh token on 40001/40014/42001). What this module adds, because the county runs several Rasa
instances:

- the access token is cached in a store every instance shares (Redis when ``REDIS_URL`` is set, wechatpy's
  in-process store otherwise), with a time-to-live shorter than the platform's ``expires_in`` by
  :data:`REFRESH_MARGIN_SECONDS`, so it is renewed before it expires;
- one refresh at a time across instances: a lock (Redis or in-process) around the fetch, and after waiting for it an
  instance uses the token another instance just fetched instead of fetching again (the platform invalidates the
  previous token on every fetch, so parallel fetches would make the instances knock out each other's tokens);
- the API base URL is configuration (``WECHAT_API_BASE``): tests point it at a local stand-in server.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Dict, Optional

from wechatpy import WeChatClient
from wechatpy.session import SessionStorage

logger = logging.getLogger(__name__)

#: Renew the token this many seconds before the platform's expiry (tokens live 7,200 s).
REFRESH_MARGIN_SECONDS = 300
#: Longest wait for another instance's refresh (seconds) before fetching anyway.
LOCK_TIMEOUT_SECONDS = 10
#: The platform's limit for one text message is 2,048 bytes; longer replies are split on line breaks.
MAX_TEXT_BYTES = 2000
DEFAULT_API_BASE = "https://api.weixin.qq.com/cgi-bin/"


class ExpiringMemoryStorage(SessionStorage):
    """wechatpy's session storage in process memory, honouring ``ttl`` (wechatpy's own MemoryStorage ignores it,
    so a token would be used past its expiry).

    Args:
        clock: Monotonic seconds (tests move it).
    """

    def __init__(self, clock=time.monotonic) -> None:
        self._data: Dict[str, tuple[Any, Optional[float]]] = {}
        self._clock = clock

    def get(self, key, default=None):
        """The value, or ``default`` when absent or expired."""
        value, expires = self._data.get(key, (default, None))
        if expires is not None and expires <= self._clock():
            self._data.pop(key, None)
            return default
        return value

    def set(self, key, value, ttl=None):
        """Stores ``value`` for ``ttl`` seconds (None: until deleted)."""
        if value is None:
            return
        self._data[key] = (value, self._clock() + ttl if ttl else None)

    def delete(self, key):
        """Removes ``key``."""
        self._data.pop(key, None)


class _ProcessLock:
    """An in-process stand-in for a Redis lock (``acquire(blocking_timeout=…)``, ``release()``)."""

    _locks: Dict[str, threading.Lock] = {}
    _guard = threading.Lock()

    def __init__(self, name: str) -> None:
        with self._guard:
            self._lock = self._locks.setdefault(name, threading.Lock())

    def acquire(self, blocking_timeout: float) -> bool:
        return self._lock.acquire(timeout=blocking_timeout)

    def release(self) -> None:
        self._lock.release()


class CountyWeChatClient(WeChatClient):
    """wechatpy's client with a shared, early-renewed access token and a configurable API base.

    Args:
        appid: The official account's AppID.
        secret: Its AppSecret.
        api_base_url: Base of the API, ending in ``/`` (default the platform's ``…/cgi-bin/``).
        redis: A ``redis.Redis`` client to share the token and the refresh lock, or None (one process).
        timeout: Seconds per HTTP request.
        storage: In-process token storage when ``redis`` is None (tests pass one with a movable clock).
    """

    def __init__(self, appid: str, secret: str, api_base_url: str = DEFAULT_API_BASE, *, redis=None,
                 timeout: float = 10.0, storage: Optional[SessionStorage] = None) -> None:
        if redis is not None:
            from wechatpy.session.redisstorage import RedisStorage

            session = RedisStorage(redis, prefix="juhaoban:wechat")
            lock = redis.lock(f"juhaoban:wechat:{appid}:token-refresh", timeout=LOCK_TIMEOUT_SECONDS * 3)
        else:
            session = storage or ExpiringMemoryStorage()
            lock = _ProcessLock(f"wechat:{appid}")
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.API_BASE_URL = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
        self._refresh_lock = lock
        self._token_in_use: Optional[str] = None

    @property
    def access_token(self) -> str:
        """The cached token, fetched (once across instances) when there is none or it is about to expire."""
        token = self.session.get(self.access_token_key)
        if not token:
            self.fetch_access_token()
            token = self.session.get(self.access_token_key)
        self._token_in_use = token
        return token

    def fetch_access_token(self) -> Dict[str, Any]:
        """Fetches a new token from ``{api_base}token`` unless another instance replaced the one in use meanwhile.

        Also called by wechatpy when the platform rejects the token in use (40001, 40014, 42001).

        Raises:
            wechatpy.exceptions.WeChatClientException: The platform refused (wrong AppID/secret, IP not
                whitelisted, …) or could not be reached.
        """
        locked = self._refresh_lock.acquire(blocking_timeout=LOCK_TIMEOUT_SECONDS)
        try:
            current = self.session.get(self.access_token_key)
            if current and current != self._token_in_use:
                logger.info("WeChat access token was renewed by another instance")
                return {"access_token": current}
            result = self._fetch_access_token(
                url=self.API_BASE_URL + "token",
                params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            )
            expires_in = int(result.get("expires_in", 7200))
            ttl = max(60, expires_in - REFRESH_MARGIN_SECONDS)
            self.session.set(self.access_token_key, result["access_token"], ttl)
            self.expires_at = int(time.time()) + ttl
            logger.info("WeChat access token fetched (renewed again in %d s)", ttl)
            return result
        finally:
            if locked:
                try:
                    self._refresh_lock.release()
                except Exception:  # a Redis lock that timed out meanwhile: nothing to release
                    logger.warning("token refresh lock had expired before release")

    def send_text(self, openid: str, text: str) -> None:
        """Sends ``text`` to ``openid`` through the customer-service message API, split into parts of at most
        :data:`MAX_TEXT_BYTES` bytes on line breaks.

        Raises:
            wechatpy.exceptions.WeChatClientException: The platform refused a part (45015: the resident has not
                written in the last 48 hours; 40003: unknown openid …) or could not be reached.
        """
        for part in split_text(text):
            self.message.send_text(openid, part)

    def create_menu(self, menu: Dict[str, Any]) -> Dict[str, Any]:
        """Publishes the custom menu (``{"button": […]}``); returns the platform's answer."""
        return self.menu.create(menu)


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-8 bytes, cut at line breaks where possible."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode("utf-8")) > limit:  # one line longer than a part: cut it by characters
            cut = _prefix_within(line, limit)
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode("utf-8")) > limit:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return [part.rstrip("\n") or part for part in parts]


def _prefix_within(text: str, limit: int) -> int:
    size = 0
    for index, char in enumerate(text):
        size += len(char.encode("utf-8"))
        if size > limit:
            return max(1, index)
    return len(text)
