"""Bearer tokens of the admin API, each scoped to a role and, for a unit, to one unit (table ``api_tokens``).

Roles (:class:`TokenRole`): ``dispatcher`` (调度员: accepts, assigns, rejects, reviews), ``unit`` (staff of one
responsible unit: acknowledges, notes, returns and resolves the cases it leads) and ``admin`` (everything a
dispatcher may, and unit actions on behalf of any unit). The shared ``JUHAOBAN_ADMIN_TOKEN`` is not stored here: the
admin app accepts it as an admin token of its own (:mod:`admin.tokens`).

A token is shown once, when it is created; the database keeps only its SHA-256 hex digest, so a leaked database
holds no usable token. The tokens are 256-bit random strings, so an unsalted fast hash is enough (there is nothing
to brute-force, unlike a password). Revoking keeps the row (the audit trail names tokens' holders) and stops it
being accepted at once: every request looks the token up.

Call it from the CLI (``juhaoban token create …``, the lead's) or a console; the admin API only authenticates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from workflow.cases import Clock, utc_now
from workflow.dispatch import require_active_units
from workflow.exceptions import JuhaobanError
from workflow.models import ApiToken

#: Prefix of every issued token: secret scanners and people recognise it (``jhb_…``).
TOKEN_PREFIX = "jhb_"
#: Random bytes in a token (256 bits), before URL-safe base64.
TOKEN_BYTES = 32
_MAX_NAME = 128  # api_tokens.name, case_events.actor


class TokenRole(str, Enum):
    """What a token may do; the value is what ``api_tokens.role`` stores."""

    DISPATCHER = "dispatcher"
    UNIT = "unit"
    ADMIN = "admin"
    #: A field-sensor gateway (issue 7): may only send readings (``POST /api/sensors/readings``).
    SENSOR = "sensor"


class InvalidTokenRequest(JuhaobanError):
    """A token cannot be created as asked (unknown role, empty name, unit scope missing or not allowed).

    Context: ``field`` and, where safe, ``value``.
    """

    code = "invalid_token_request"


class TokenNotFound(JuhaobanError):
    """No API token has the given id. Context: ``token_id``."""

    code = "token_not_found"


@dataclass(frozen=True)
class ApiTokenView:
    """A stored token without its secret.

    Attributes:
        id: Database id (what :func:`revoke_token` takes).
        name: Audit identity of the holder (``case_events.actor``), e.g. ``调度员王芳`` or ``ecology-desk``.
        role: The token's role.
        unit_code: The unit a ``unit`` token acts for; None for other roles.
        created_at: Aware UTC.
        revoked_at: Aware UTC, or None while the token is valid.
    """

    id: int
    name: str
    role: TokenRole
    unit_code: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        """True until the token is revoked."""
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (datetimes ISO 8601 with offset); never the token."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "unit_code": self.unit_code,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the only time its clear text exists outside the holder's hands.

    Attributes:
        token: The bearer token to hand to the holder (``jhb_…``); it cannot be recovered later.
        record: What is stored about it.
    """

    token: str
    record: ApiTokenView


def hash_token(token: str) -> str:
    """The SHA-256 hex digest of ``token`` (UTF-8), as ``api_tokens.token_hash`` stores it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session_factory: sessionmaker,
    role: TokenRole | str,
    unit_code: str | None = None,
    *,
    name: str,
    clock: Clock | None = None,
) -> IssuedToken:
    """Create a token and return it in clear, once.

    Args:
        session_factory: Over a database migrated to ``0004_api_tokens`` with the reference data loaded.
        role: ``dispatcher``, ``unit`` or ``admin``.
        unit_code: For a ``unit`` token (required then, refused otherwise): the code of an active unit, e.g.
            ``county_ecology``.
        name: Who holds it, 1–128 characters; written as the actor of every action taken with it.
        clock: Returns the current aware time; default :func:`workflow.cases.utc_now`.

    Returns:
        The clear token and its stored record.

    Raises:
        InvalidTokenRequest: Unknown role, empty or over-long name, a unit token without unit, or a unit given for
            another role.
        UnknownUnit: ``unit_code`` names no active unit.
    """
    chosen = _role(role)
    holder = (name or "").strip() if isinstance(name, str) else ""
    if not holder or len(holder) > _MAX_NAME:
        raise InvalidTokenRequest(f"a token's name must be 1–{_MAX_NAME} characters", field="name")
    unit = (unit_code or "").strip() or None
    if (chosen is TokenRole.UNIT) != (unit is not None):
        raise InvalidTokenRequest("a unit token needs unit_code, and only a unit token has one", field="unit_code")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    now = _now(clock)
    with session_factory.begin() as session:
        if unit is not None:
            require_active_units(session, [unit])
        row = ApiToken(name=holder, role=chosen.value, unit_code=unit, token_hash=hash_token(token), created_at=now)
        session.add(row)
        session.flush()
        return IssuedToken(token=token, record=_view(row))


def revoke_token(session_factory: sessionmaker, token_id: int, *, clock: Clock | None = None) -> ApiTokenView:
    """Revoke a token: from now on it is refused (401). Revoking a revoked token changes nothing.

    Raises:
        TokenNotFound: No token has ``token_id``.
    """
    with session_factory.begin() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise TokenNotFound(f"no API token with id {token_id!r}", token_id=token_id)
        if row.revoked_at is None:
            row.revoked_at = _now(clock)
        return _view(row)


def list_tokens(session_factory: sessionmaker, *, include_revoked: bool = False) -> list[ApiTokenView]:
    """The stored tokens (without secrets), oldest first; revoked ones only when ``include_revoked``."""
    query = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    with session_factory() as session:
        return [_view(row) for row in session.execute(query).scalars()]


def find_active_token(session_factory: sessionmaker, token: str) -> ApiTokenView | None:
    """The valid (not revoked) token whose clear text is ``token``, or None.

    Looked up by digest, so nothing is compared character by character and the timing tells nothing about the
    secret.
    """
    query = select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    with session_factory() as session:
        row = session.execute(query).scalar_one_or_none()
        return _view(row) if row is not None else None


def _now(clock: Clock | None) -> dt.datetime:
    now = (clock or utc_now)()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"clock returned naive datetime {now.isoformat()}")
    return now.astimezone(dt.timezone.utc)


def _role(value: TokenRole | str) -> TokenRole:
    try:
        return TokenRole(value)
    except ValueError:
        allowed = [role.value for role in TokenRole]
        raise InvalidTokenRequest(f"unknown token role {value!r}", field="role", value=str(value),
                                  allowed=allowed) from None


def _view(row: ApiToken) -> ApiTokenView:
    return ApiTokenView(
        id=row.id,
        name=row.name,
        role=TokenRole(row.role),
        unit_code=row.unit_code,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
