"""Console accounts: who may log in to the dispatcher console, as which role, and the lock-out after wrong passwords.

Roles (:class:`AccountRole`):

- ``dispatcher`` (调度员): every case; accepts, assigns, rejects, merges, reopens and closes; live conversations.
- ``unit``: staff of one responsible unit, a county department or a township (``unit_code``): the cases the unit
  leads once assigned; acknowledges, notes, returns and resolves them.
- ``grid_worker`` (网格员): the cases reported in their village or community (``village_code``: the grid model
  itself comes with the grid data, issue 6); reads only.
- ``admin``: everything a dispatcher may, plus the accounts.
- ``expert`` (农技专家, issue 7): answers the growers' consultations assigned to them (:mod:`workflow.experts`);
  sees only those.

Passwords are hashed with argon2id (``argon2-cffi``'s :class:`~argon2.PasswordHasher` and its defaults, RFC 9106's
second recommended parameter set); a hash made with older parameters is upgraded at the next successful log-in.
Rules (the county's information-security practice, after GB/T 22239-2019 level 3 "identification and
authentication"): passwords of at least :data:`MIN_PASSWORD_LENGTH` characters with letters and digits; after
:data:`MAX_FAILED_LOGINS` wrong passwords in a row the account is locked for :data:`LOCKOUT_SECONDS` seconds; every
attempt is written to ``login_events``. A wrong password, an unknown user name, a locked and a disabled account all
answer the same :class:`LoginFailed` to the caller (the reason is only in ``login_events``), and an unknown name
costs a hash verification too, so neither the message nor the time tells which names exist.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workflow.cases import Clock, utc_now
from workflow.exceptions import JuhaobanError
from workflow.models import Account, LoginEvent, Unit, Village

#: Minimum password length in characters.
MIN_PASSWORD_LENGTH = 10
#: Wrong passwords in a row that lock an account.
MAX_FAILED_LOGINS = 5
#: How long a locked account stays locked, in seconds (15 minutes).
LOCKOUT_SECONDS = 15 * 60

_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_GROUPS, _GROUP_LENGTH = 4, 4
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
_MAX_DISPLAY_NAME = 128
_HASHER = PasswordHasher()
# Verified against when the user name is unknown, so that case costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("juhaoban-no-such-account")


class AccountRole(str, Enum):
    """What an account may do in the console; the value is what ``accounts.role`` stores."""

    DISPATCHER = "dispatcher"
    UNIT = "unit"
    GRID_WORKER = "grid_worker"
    ADMIN = "admin"
    EXPERT = "expert"

    @property
    def label(self) -> str:
        """The role's Chinese name, as the console shows it."""
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    AccountRole.DISPATCHER: "调度员",
    AccountRole.UNIT: "责任单位",
    AccountRole.GRID_WORKER: "网格员",
    AccountRole.ADMIN: "管理员",
    AccountRole.EXPERT: "专家",
}


class InvalidAccount(JuhaobanError):
    """An account cannot be created or changed as asked. Context: ``field`` and, where safe, ``value``."""

    code = "invalid_account"


class AccountExists(JuhaobanError):
    """Another account has this user name. Context: ``username``."""

    code = "account_exists"


class AccountNotFound(JuhaobanError):
    """No account has this id or user name. Context: ``account``."""

    code = "account_not_found"


class LoginFailed(JuhaobanError):
    """The user name and password do not let anyone in (wrong, unknown, locked or disabled: deliberately one error)."""

    code = "login_failed"


@dataclass(frozen=True)
class AccountView:
    """An account without its password hash.

    Attributes:
        id: Database id.
        username: Login name (lower case).
        display_name: Audit identity (``case_events.actor``), e.g. ``调度员王芳``.
        role: The account's role.
        unit_code: The unit of a ``unit`` account, else None.
        village_code: The village or community of a ``grid_worker`` account, else None.
        locked_until: Aware UTC while locked, else None.
        disabled: True once disabled.
        last_login_at: Aware UTC of the last successful log-in, or None.
    """

    id: int
    username: str
    display_name: str
    role: AccountRole
    unit_code: str | None
    village_code: str | None
    locked_until: dt.datetime | None
    disabled: bool
    last_login_at: dt.datetime | None

    def is_locked(self, now: dt.datetime) -> bool:
        """Whether the account is locked at ``now`` (aware)."""
        return self.locked_until is not None and self.locked_until > now


def account_view(account: Account) -> AccountView:
    """The view of an ``accounts`` row (without its password hash)."""
    return AccountView(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=AccountRole(account.role),
        unit_code=account.unit_code,
        village_code=account.village_code,
        locked_until=account.locked_until,
        disabled=account.disabled_at is not None,
        last_login_at=account.last_login_at,
    )


def normalize_username(username: str) -> str:
    """The stored form of a user name: stripped and lower-cased (``WangFang`` and ``wangfang`` are one account)."""
    return (username or "").strip().lower()


def generate_password() -> str:
    """A strong initial password from :mod:`secrets`: four groups of four letters and digits joined by ``-``.

    About 93 bits of entropy; no look-alike characters (easy to read out and type); always letters and digits, so it
    follows :func:`workflow.accounts.check_password_rules`.
    """
    while True:
        groups = ["".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)]
        password = "-".join(groups)
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def check_password_rules(password: str) -> None:
    """Raise :class:`InvalidAccount` (field ``password``) unless ``password`` follows the county's rules.

    Rules: at least :data:`MIN_PASSWORD_LENGTH` characters, at least one letter and one digit, at most 256 characters,
    not only whitespace at either end.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccount(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if len(password) > 256:
        raise InvalidAccount("a password may have at most 256 characters", field="password")
    if password != password.strip():
        raise InvalidAccount("a password may not start or end with whitespace", field="password")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise InvalidAccount("a password needs letters and digits", field="password")


class AccountService:
    """Creates accounts, checks log-ins and keeps the lock-out counters (tables ``accounts``, ``login_events``).

    Args:
        session_factory: Sessions on the migrated case database (units and villages loaded).
        clock: Returns the current aware UTC time (tests pass a frozen clock).
    """

    def __init__(self, session_factory: sessionmaker, clock: Clock = utc_now) -> None:
        self._session_factory = session_factory
        self._clock = clock

    def create(
        self,
        username: str,
        password: str,
        *,
        role: AccountRole | str,
        display_name: str,
        unit_code: str | None = None,
        village_code: str | None = None,
    ) -> AccountView:
        """Create an account.

        Args:
            username: 3–64 characters of lower-case letters, digits, ``_ . -`` (stored lower-cased).
            password: Follows :func:`check_password_rules`; only its argon2id hash is stored.
            role: The account's role.
            display_name: The name written into the audit trail (1–128 characters).
            unit_code: Required for ``unit`` accounts (an active unit of the responsibility list), else refused.
            village_code: Required for ``grid_worker`` accounts (a village of the gazetteer), else refused.

        Raises:
            InvalidAccount: A field breaks the rules above (context ``field``).
            AccountExists: The user name is taken.
        """
        role = _role(role)
        username = normalize_username(username)
        if not _USERNAME.match(username):
            raise InvalidAccount(
                "a user name has 3–64 lower-case letters, digits, '_', '.' or '-' and starts with a letter or digit",
                field="username", value=username[:64],
            )
        display_name = (display_name or "").strip()
        if not display_name or len(display_name) > _MAX_DISPLAY_NAME:
            raise InvalidAccount(f"a display name has 1–{_MAX_DISPLAY_NAME} characters", field="display_name")
        check_password_rules(password)
        unit_code = (unit_code or "").strip() or None
        village_code = (village_code or "").strip() or None
        if (role is AccountRole.UNIT) != (unit_code is not None):
            raise InvalidAccount("a unit account needs its unit; other roles have none", field="unit_code")
        if (role is AccountRole.GRID_WORKER) != (village_code is not None):
            raise InvalidAccount("a grid worker account needs its village; other roles have none",
                                 field="village_code")
        with self._session_factory.begin() as session:
            if unit_code is not None:
                unit = session.get(Unit, unit_code)
                if unit is None or not unit.active:
                    raise InvalidAccount("the unit is not an active unit of the responsibility list",
                                         field="unit_code", value=unit_code)
            if village_code is not None and session.get(Village, village_code) is None:
                raise InvalidAccount("the village is not in the gazetteer", field="village_code", value=village_code)
            if session.scalar(select(Account.id).where(Account.username == username)) is not None:
                raise AccountExists(f"user name {username!r} is taken", username=username)
            account = Account(
                username=username, display_name=display_name, role=role.value, unit_code=unit_code,
                village_code=village_code, password_hash=_HASHER.hash(password), failed_logins=0,
                created_at=self._clock(),
            )
            session.add(account)
            try:
                session.flush()
            except IntegrityError as exc:  # a concurrent create took the name between the check and the insert
                raise AccountExists(f"user name {username!r} is taken", username=username) from exc
            return account_view(account)

    def authenticate(self, username: str, password: str, *, client_ip: str | None = None) -> AccountView:
        """Check a log-in; count a wrong password and lock the account at the limit; record the attempt.

        Args:
            username: As typed (normalised here).
            password: As typed.
            client_ip: The request's client address, for ``login_events``.

        Returns:
            The account, on success (its counter is reset and ``last_login_at`` set).

        Raises:
            LoginFailed: Wrong password, unknown user, locked or disabled account (one error for all four; the
                reason is recorded in ``login_events``).
        """
        name = normalize_username(username)[:64]
        now = self._clock()
        with self._session_factory.begin() as session:
            account = session.scalar(
                select(Account).where(Account.username == name).with_for_update()
            ) if name else None
            outcome, view = self._check(session, account, password or "", now)
            session.add(LoginEvent(at=now, username=name or "?", account_id=account.id if account else None,
                                   outcome=outcome, client_ip=(client_ip or None) and client_ip[:64]))
        if view is None:
            raise LoginFailed("user name or password is wrong, or the account is locked", username=name)
        return view

    def _check(self, session: Session, account: Account | None, password: str,
               now: dt.datetime) -> tuple[str, AccountView | None]:
        if account is None:
            _verify(_DUMMY_HASH, password)
            return "unknown_user", None
        if account.disabled_at is not None:
            _verify(_DUMMY_HASH, password)
            return "disabled", None
        if account.locked_until is not None and account.locked_until > now:
            _verify(_DUMMY_HASH, password)  # not even a right password opens a locked account
            return "locked", None
        if not _verify(account.password_hash, password):
            # Counted in SQL, not read-modify-write: parallel guesses must not lose increments (SQLite takes no row
            # lock for the SELECT above; PostgreSQL's FOR UPDATE would do, SQLite's write lock does it here).
            session.execute(update(Account).where(Account.id == account.id)
                            .values(failed_logins=Account.failed_logins + 1).execution_options(synchronize_session=False))
            failed = session.scalar(select(Account.failed_logins).where(Account.id == account.id))
            if failed >= MAX_FAILED_LOGINS:
                session.execute(update(Account).where(Account.id == account.id)
                                .values(failed_logins=0, locked_until=now + dt.timedelta(seconds=LOCKOUT_SECONDS))
                                .execution_options(synchronize_session=False))
            session.expire(account)
            return "wrong_password", None
        if _HASHER.check_needs_rehash(account.password_hash):
            account.password_hash = _HASHER.hash(password)
        account.failed_logins = 0
        account.locked_until = None
        account.last_login_at = now
        return "success", account_view(account)

    def set_password(self, account_id: int, password: str) -> AccountView:
        """Replace an account's password (an administrator's reset, or the holder's own change); unlocks it.

        Raises:
            InvalidAccount: The password breaks :func:`check_password_rules`.
            AccountNotFound: No account has ``account_id``.
        """
        check_password_rules(password)
        with self._session_factory.begin() as session:
            account = _load(session, account_id)
            account.password_hash = _HASHER.hash(password)
            account.failed_logins = 0
            account.locked_until = None
            return account_view(account)

    def unlock(self, account_id: int) -> AccountView:
        """Lift a lock-out before it runs out. Raises :class:`AccountNotFound`."""
        with self._session_factory.begin() as session:
            account = _load(session, account_id)
            account.failed_logins = 0
            account.locked_until = None
            return account_view(account)

    def disable(self, account_id: int) -> AccountView:
        """Disable an account (kept for the audit trail; it can no longer log in). Raises :class:`AccountNotFound`."""
        with self._session_factory.begin() as session:
            account = _load(session, account_id)
            if account.disabled_at is None:
                account.disabled_at = self._clock()
            return account_view(account)

    def get(self, account_id: int) -> AccountView:
        """One account. Raises :class:`AccountNotFound`."""
        with self._session_factory() as session:
            return account_view(_load(session, account_id))

    def find(self, username: str) -> AccountView:
        """The account with this user name. Raises :class:`AccountNotFound`."""
        name = normalize_username(username)
        with self._session_factory() as session:
            account = session.scalar(select(Account).where(Account.username == name))
            if account is None:
                raise AccountNotFound(f"no account {name!r}", account=name)
            return account_view(account)

    def list(self) -> list[AccountView]:
        """Every account, by role then user name."""
        with self._session_factory() as session:
            accounts = session.scalars(select(Account).order_by(Account.role, Account.username)).all()
            return [account_view(account) for account in accounts]


def _role(role: AccountRole | str) -> AccountRole:
    try:
        return AccountRole(role)
    except ValueError:
        raise InvalidAccount("unknown role", field="role", value=str(role)[:32]) from None


def _load(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise AccountNotFound(f"no account with id {account_id}", account=account_id)
    return account


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
