"""Browser sessions of the dispatcher console (table ``console_sessions``).

A session starts at a successful log-in and is carried by a cookie holding a random token of
:data:`TOKEN_BYTES` bytes; the database keeps only its SHA-256 digest (a leaked table opens no session). Each
session has its own CSRF token, which every form and script request sends back (synchronizer-token pattern, OWASP
CSRF Prevention Cheat Sheet). A session ends at log-out, :data:`IDLE_SECONDS` after its last request, or
:data:`MAX_AGE_SECONDS` after log-in, whichever comes first (a dispatcher's shift, then log in again); when the
account is disabled or locked; and for every session of an account whose password is reset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from workflow.accounts import AccountView, account_view
from workflow.cases import Clock, utc_now
from workflow.models import Account, ConsoleSession

#: Random bytes in a session token and in a CSRF token.
TOKEN_BYTES = 32
#: Seconds without a request after which a session ends (2 hours).
IDLE_SECONDS = 2 * 3600
#: Seconds after log-in after which a session ends whatever happens (12 hours: one long shift).
MAX_AGE_SECONDS = 12 * 3600
# Don't write last_seen_at on every request: once a minute is precise enough for a 2-hour idle limit.
_TOUCH_SECONDS = 60


@dataclass(frozen=True)
class SessionView:
    """A live session and its account.

    Attributes:
        id: Database id.
        account: The logged-in account.
        csrf_token: The token forms and scripts must send back.
        expires_at: Aware UTC of the absolute end.
    """

    id: int
    account: AccountView
    csrf_token: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ConsoleSessions:
    """Starts, finds and ends console sessions.

    Args:
        session_factory: Sessions on the migrated case database.
        clock: Returns the current aware UTC time.
    """

    def __init__(self, session_factory: sessionmaker, clock: Clock = utc_now) -> None:
        self._session_factory = session_factory
        self._clock = clock

    def start(self, account: AccountView, *, client_ip: str | None = None) -> tuple[str, SessionView]:
        """Start a session for ``account`` (just authenticated).

        Returns:
            ``(cookie_token, session)``: the clear token to put in the cookie (shown only now) and the session.
        """
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        with self._session_factory.begin() as db:
            row = ConsoleSession(
                token_hash=_digest(token), account_id=account.id, csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
                created_at=now, last_seen_at=now, expires_at=now + dt.timedelta(seconds=MAX_AGE_SECONDS),
                client_ip=(client_ip or None) and client_ip[:64],
            )
            db.add(row)
            db.flush()
            return token, SessionView(row.id, account, row.csrf_token, row.expires_at)

    def find(self, token: str | None) -> SessionView | None:
        """The live session a cookie token belongs to, or None (unknown, ended, idle too long, account unusable).

        Refreshes the session's ``last_seen_at`` (at most once a minute).
        """
        if not token or len(token) > 128:
            return None
        now = self._clock()
        with self._session_factory.begin() as db:
            row = db.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == _digest(token)))
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                return None
            if row.last_seen_at + dt.timedelta(seconds=IDLE_SECONDS) <= now:
                row.revoked_at = now
                return None
            account = db.get(Account, row.account_id)
            if account is None or account.disabled_at is not None or (
                account.locked_until is not None and account.locked_until > now
            ):
                return None
            if (now - row.last_seen_at).total_seconds() >= _TOUCH_SECONDS:
                row.last_seen_at = now
            return SessionView(row.id, account_view(account), row.csrf_token, row.expires_at)

    def end(self, token: str | None) -> None:
        """End the session of a cookie token (log-out); nothing happens for an unknown token."""
        if not token:
            return
        with self._session_factory.begin() as db:
            db.execute(
                update(ConsoleSession)
                .where(ConsoleSession.token_hash == _digest(token), ConsoleSession.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )

    def end_all(self, account_id: int) -> int:
        """End every live session of an account (password reset, account disabled); returns how many ended."""
        with self._session_factory.begin() as db:
            result = db.execute(
                update(ConsoleSession)
                .where(ConsoleSession.account_id == account_id, ConsoleSession.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
            return result.rowcount or 0
