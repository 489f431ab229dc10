"""Delivers residents' and grid workers' notifications (case accepted, resolved with a request to rate, a new case
in the worker's grid, …) through the bot.

Notifications are written by ``workflow`` into the ``notifications`` outbox in the same transaction as the case
change (:mod:`workflow.notifications`). This deliverer claims residents' pending ones and, for each, calls Rasa::

    POST {rasa_url}/conversations/{sender}/trigger_intent?output_channel={channel}&include_events=NONE
    {"name": "EXTERNAL_case_update",
     "entities": {"notification_text": …, "notification_kind": …, "case_id": …}}

so the bot says it (``actions/notify.py``) on the channel the resident used and the message lands in the
conversation's tracker (DESIGN.md: outbound messages go back through Rasa, not behind its back). A channel that
cannot push (the REST channel) gets Rasa's collecting output channel; its clients read the same messages from
``GET /api/residents/{sender}/messages``.

A grid worker's message (recipient role ``grid_worker``: the sender id and channel of a chat bound to the worker,
issue 6) is delivered exactly like a resident's: the same intent on the worker's channel and sender id.

Delivery is at least once: a row is claimed with a lease (two deliverers never take the same row), marked
delivered on HTTP 2xx, retried with backoff on 5xx or a network error, and given up at once on a 4xx (the request
itself is wrong, e.g. an intent the model does not know).
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Optional

import requests

from workflow.notifications import CHAT_RECIPIENTS, NotificationView, Outbox

logger = logging.getLogger(__name__)

CASE_UPDATE_INTENT = "EXTERNAL_case_update"
#: Seconds between polls of the outbox when it was empty.
DEFAULT_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class DeliveryResult:
    """Counts of one batch: delivered, to be retried, given up."""

    delivered: int = 0
    retried: int = 0
    given_up: int = 0


class RasaDelivery:
    """Pushes residents' and grid workers' notifications into their conversations through Rasa's HTTP API.

    Args:
        outbox: The notifications outbox.
        rasa_url: Base URL of the Rasa server, e.g. ``http://127.0.0.1:5005``.
        token: Rasa's ``--auth-token`` when the server was started with one.
        timeout: Seconds to wait for Rasa per message (the bot runs the action inside the call).
    """

    def __init__(self, outbox: Outbox, rasa_url: str, *, token: Optional[str] = None, timeout: float = 30.0) -> None:
        self._outbox = outbox
        self._base = rasa_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._http = requests.Session()

    def request_for(self, notification: NotificationView) -> tuple[str, dict]:
        """The URL and JSON body that deliver ``notification`` (exposed for tests and logs)."""
        # RFC 3986 pchar stay as they are: Rasa 3.6 does not decode the path, so "hotline%3A138…" would be another
        # conversation than "hotline:138…" (admin.rasa_client.RasaClient.events_url says the same).
        sender = urllib.parse.quote(notification.recipient_id, safe=":@!$&'()*+,;=")
        query = {"output_channel": notification.channel or "collector", "include_events": "NONE"}
        if self._token:
            query["token"] = self._token
        url = f"{self._base}/conversations/{sender}/trigger_intent?{urllib.parse.urlencode(query)}"
        entities = {"notification_text": notification.text, "notification_kind": notification.kind}
        if notification.case_id:
            entities["case_id"] = notification.case_id
        return url, {"name": CASE_UPDATE_INTENT, "entities": entities}

    def deliver_batch(self, limit: int = 50) -> DeliveryResult:
        """Claims up to ``limit`` residents' and grid workers' notifications and delivers each; never raises for one
        message."""
        delivered = retried = given_up = 0
        for notification in self._outbox.pending(limit, recipient_roles=list(CHAT_RECIPIENTS)):
            url, body = self.request_for(notification)
            try:
                response = self._http.post(url, json=body, timeout=self._timeout)
            except requests.RequestException as error:
                self._outbox.mark_failed(notification.id, f"{type(error).__name__}: {error}")
                retried += 1
                continue
            if 200 <= response.status_code < 300:
                self._outbox.mark_delivered(notification.id)
                delivered += 1
            elif 400 <= response.status_code < 500:
                self._outbox.mark_failed(notification.id, f"HTTP {response.status_code}: {response.text[:500]}",
                                         permanent=True)
                given_up += 1
            else:
                self._outbox.mark_failed(notification.id, f"HTTP {response.status_code}: {response.text[:500]}")
                retried += 1
        if delivered or retried or given_up:
            logger.info("notifications: %d delivered, %d to retry, %d given up", delivered, retried, given_up)
        return DeliveryResult(delivered, retried, given_up)

    def run(self, stop: threading.Event, poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        """Delivers until ``stop`` is set: batch after batch while there is work, else waits ``poll_seconds``."""
        while not stop.is_set():
            try:
                result = self.deliver_batch()
            except Exception:  # the database is down: log, wait, try again
                logger.exception("notification delivery failed; retrying in %s s", poll_seconds)
                result = DeliveryResult()
            if not (result.delivered or result.retried or result.given_up):
                stop.wait(poll_seconds)
