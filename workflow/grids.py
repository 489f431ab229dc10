"""The grid model (网格化管理, issue 6): county → township → village/community → grid → household → resident.

Tables (migration ``0007_grids``, :mod:`workflow.models`): ``grids``, ``households``, ``residents``,
``resident_channels``. Everything here works in the caller's session and transaction (the caller commits), so the
bot's actions, the console and the import share one set of rules.

Sizing rule (the county's, quoted in issue 6): a rural grid (农村网格) holds 50–60 households, an urban one
(城镇/社区网格) about 100. :func:`grid_size_warning` flags a grid above :data:`MAX_HOUSEHOLDS` — a warning for the
data clerk, never a refusal (a village cannot always be split the day its register grows).

Grid of a location (:func:`resolve_grid`, :func:`grid_for_case`) — the rule, first match wins:

1. a household is known (its code, or the resident bound to the case's sender): that household's grid — provided
   it lies in the given village, when one is given (a household elsewhere says nothing about this place);
2. no village known: no grid;
3. the village has exactly one grid: that grid;
4. the village has several grids and an address was given: the grid of the village's households at exactly that
   address (compared after :func:`workflow.textnorm.normalize_text`, spaces dropped), when they all lie in one grid;
5. otherwise (no grid, or several and nothing settles it): **None**. The village's "first" grid is never picked: a
   wrong grid worker would receive the case silently, while None leaves the choice to the dispatcher, who sees it.

Grid workers: ``grids.worker_account_id`` names one ``grid_worker`` account per grid (a worker may serve several
grids of their village); that worker is the grid's proxy for 帮我办 (:func:`worker_of_grid`). Residents are bound to
the conversations they write from (:func:`bind_channel`): one sender id of a channel belongs to at most one
resident.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.exceptions import JuhaobanError
from workflow.models import GRID_KINDS, Account, Case, Grid, Household, Resident, ResidentChannel
from workflow.textnorm import normalize_text

#: Households per grid the county's rule allows (issue 6: "50–60 rural households or 100 urban"): above the maximum
#: the import warns. The minimum is what the sample generator sizes to (urban: 90–100, "about 100"); no rule warns
#: below it (a partly imported village would be flagged everywhere).
MIN_HOUSEHOLDS = {"rural": 50, "urban": 90}
MAX_HOUSEHOLDS = {"rural": 60, "urban": 100}
#: Chinese names of the grid kinds, as the CSV and the console write them.
GRID_KIND_LABELS = {"rural": "农村", "urban": "城镇"}

_MAX_SENDER_ID = 255  # resident_channels.sender_id, Rasa's events.sender_id
_MAX_CHANNEL = 32
_SPACES = re.compile(r"\s+")


class GridError(JuhaobanError):
    """A grid operation cannot be done as asked. Context: ``field`` and, where safe, ``value``."""

    code = "grid_error"


class UnknownGrid(GridError):
    """No grid has the given code. Context: ``grid``."""

    code = "unknown_grid"


class SenderAlreadyBound(GridError):
    """The channel's sender id is bound to another resident. Context: ``channel``, ``resident_id`` (the other)."""

    code = "sender_already_bound"


# ---------------------------------------------------------------------- sizing
def grid_size_warning(kind: str, households: int) -> str | None:
    """A Chinese warning when a grid of ``kind`` (``rural``/``urban``) holds more households than the county's rule
    allows (60 rural, 100 urban; issue 6), else None.

    Raises:
        ValueError: ``kind`` is not a grid kind.
    """
    if kind not in GRID_KINDS:
        raise ValueError(f"not a grid kind: {kind!r}")
    limit = MAX_HOUSEHOLDS[kind]
    if households <= limit:
        return None
    return (f"{GRID_KIND_LABELS[kind]}网格有 {households} 户，超过 {limit} 户"
            f"（县里的规定：农村网格 50–60 户，城镇网格 100 户左右），请考虑拆分网格")


def household_count(session: Session, grid_code: str) -> int:
    """Number of households registered in the grid (0 for an unknown code)."""
    return session.execute(
        select(func.count()).select_from(Household).where(Household.grid_code == grid_code)
    ).scalar_one()


# ---------------------------------------------------------------------- grids of places and workers
def get_grid(session: Session, grid_code: str) -> Grid:
    """The grid with ``grid_code``.

    Raises:
        UnknownGrid: No grid has that code.
    """
    grid = session.get(Grid, grid_code)
    if grid is None:
        raise UnknownGrid(f"no grid {grid_code!r}", grid=grid_code)
    return grid


def grids_of_village(session: Session, village_code: str) -> list[Grid]:
    """The grids of a village or community, by code (empty for a village without grids or an unknown code)."""
    return list(session.execute(
        select(Grid).where(Grid.village_code == village_code).order_by(Grid.code)
    ).scalars())


def resolve_grid(session: Session, village_code: str | None, *, household_code: str | None = None,
                 address: str | None = None) -> Grid | None:
    """The grid of a location, by the module's rule (household, then the village's only grid, then the address).

    Args:
        village_code: The village or community (``villages.code``) the location lies in, or None when unknown.
        household_code: A household's code (``households.code``), when the location is a known household.
        address: A household address as written in the register (门牌), used only to choose among several grids.

    Returns:
        The grid, or None when the rule cannot settle it (no village, no grid, several grids and nothing to choose
        by, a household in another village): the dispatcher chooses.
    """
    if household_code:
        household = session.execute(
            select(Household).where(Household.code == household_code)
        ).scalar_one_or_none()
        if household is not None and (village_code is None or household.grid.village_code == village_code):
            return household.grid
    if not village_code:
        return None
    grids = grids_of_village(session, village_code)
    if len(grids) == 1:
        return grids[0]
    if len(grids) > 1 and address and address.strip():
        wanted = normalize_address(address)
        candidates = session.execute(
            select(Household.grid_code, Household.address).join(Grid, Grid.code == Household.grid_code)
            .where(Grid.village_code == village_code)
        ).all()
        found = {grid_code for grid_code, written in candidates if normalize_address(written) == wanted}
        if len(found) == 1:
            return next(grid for grid in grids if grid.code in found)
    return None


def grid_for_case(session: Session, case: Case) -> Grid | None:
    """The grid of a case's location (:func:`resolve_grid`): ``case.village_code``, and the household of the
    resident bound to the case's reporter (``case.channel``, ``case.reporter_id``) when it lies in that village.

    Returns None for a case without a village ("a case's location resolves to its grid when the village is
    known", issue 6), or when the village's grids leave the choice open.
    """
    if not case.village_code:
        return None
    resident = resident_by_sender(session, case.channel, case.reporter_id)
    household_code = resident.household.code if resident is not None else None
    return resolve_grid(session, case.village_code, household_code=household_code)


def grid_of_sender(session: Session, channel: str, sender_id: str) -> Grid | None:
    """The grid of the household of the resident bound to ``(channel, sender_id)``, wherever the case is; None for
    an unbound sender. For 帮我办: the grid worker of that grid is the resident's proxy."""
    resident = resident_by_sender(session, channel, sender_id)
    return resident.household.grid if resident is not None else None


def worker_of_grid(session: Session, grid_code: str) -> Account | None:
    """The grid worker (网格员) of a grid: its ``grid_worker`` account, None while the post is vacant or the account
    is disabled (a disabled account receives nothing).

    Raises:
        UnknownGrid: No grid has that code.
    """
    grid = get_grid(session, grid_code)
    account = grid.worker
    if account is None or account.disabled_at is not None:
        return None
    return account


def grids_of_worker(session: Session, account_id: int) -> list[Grid]:
    """The grids an account serves as grid worker, by code (empty for any other account)."""
    return list(session.execute(
        select(Grid).where(Grid.worker_account_id == account_id).order_by(Grid.code)
    ).scalars())


def assign_worker(session: Session, grid_code: str, account_id: int | None) -> Grid:
    """Make ``account_id`` the grid's worker (None: the post is vacant). Idempotent.

    Rule: the account is an active ``grid_worker`` whose ``village_code`` (the console's scope, migration 0006) is
    the grid's village — a worker cannot serve a grid outside the village the console lets them see.

    Raises:
        UnknownGrid: No grid has that code.
        GridError: The account is unknown, not a grid worker, disabled, or of another village (``field`` =
            ``worker_account_id``).
    """
    grid = get_grid(session, grid_code)
    if account_id is not None:
        check_worker(session.get(Account, account_id), grid.village_code, account_id)
    grid.worker_account_id = account_id
    session.flush()
    return grid


def check_worker(account: Account | None, village_code: str, given: Any) -> None:
    """Refuse an account that may not be the worker of a grid in ``village_code`` (see :func:`assign_worker`).

    Raises:
        GridError: With ``field`` = ``worker_account_id`` and ``value`` = ``given``.
    """
    if account is None:
        raise GridError(f"no account {given!r}", field="worker_account_id", value=given)
    if account.role != "grid_worker":
        raise GridError(f"account {account.username!r} is a {account.role}, not a grid worker",
                        field="worker_account_id", value=given)
    if account.disabled_at is not None:
        raise GridError(f"account {account.username!r} is disabled", field="worker_account_id", value=given)
    if account.village_code != village_code:
        raise GridError(f"grid worker {account.username!r} serves village {account.village_code!r}, "
                        f"not {village_code!r}", field="worker_account_id", value=given)


# ---------------------------------------------------------------------- residents and their channels
def normalize_address(address: str) -> str:
    """An address compared as the rule compares them: :func:`~workflow.textnorm.normalize_text`, no whitespace."""
    return _SPACES.sub("", normalize_text(address or ""))


def residents_by_phone(session: Session, phone: str) -> list[Resident]:
    """The residents registered with a phone number (any form :func:`workflow.phones.normalize_phone` accepts).

    Raises:
        ValueError: ``phone`` is not a mainland phone number.
    """
    from workflow.phones import normalize_phone

    return list(session.execute(
        select(Resident).where(Resident.phone == normalize_phone(phone)).order_by(Resident.id)
    ).scalars())


def resident_by_sender(session: Session, channel: str | None, sender_id: str | None) -> Resident | None:
    """The resident bound to a channel's sender id (a WeChat openid on ``wechat``, a web chat id on ``socketio``…),
    or None."""
    if not channel or not sender_id:
        return None
    return session.execute(
        select(Resident).join(ResidentChannel, ResidentChannel.resident_id == Resident.id)
        .where(ResidentChannel.channel == channel, ResidentChannel.sender_id == sender_id)
    ).scalar_one_or_none()


def bind_channel(session: Session, resident_id: int, channel: str, sender_id: str, *,
                 now: dt.datetime | None = None, replace: bool = False) -> ResidentChannel:
    """Bind a channel's sender id to a resident, so the bot knows who writes (and their household's grid).

    Idempotent: binding the same pair to the same resident again returns the existing binding. A resident may have
    several bindings (WeChat and web chat). Safe against a concurrent bind of the same pair (a savepoint catches
    the unique constraint).

    Args:
        resident_id: ``residents.id``.
        channel: Rasa's input channel name (``wechat``, ``socketio``, ``rest``, ``hotline``), 1–32 characters.
        sender_id: The channel's sender id, 1–255 characters.
        now: When (aware UTC); the current time by default.
        replace: Move a binding held by another resident to this one (the person changed phones or households
            were merged) instead of refusing.

    Raises:
        GridError: Unknown resident, or an empty or too long channel or sender id (``field`` names it).
        SenderAlreadyBound: The pair is bound to another resident and ``replace`` is false.
    """
    channel, sender_id = (channel or "").strip(), (sender_id or "").strip()
    if not 0 < len(channel) <= _MAX_CHANNEL:
        raise GridError(f"channel must be 1–{_MAX_CHANNEL} characters", field="channel")
    if not 0 < len(sender_id) <= _MAX_SENDER_ID:
        raise GridError(f"sender id must be 1–{_MAX_SENDER_ID} characters", field="sender_id")
    if session.get(Resident, resident_id) is None:
        raise GridError(f"no resident {resident_id!r}", field="resident_id", value=resident_id)
    now = now or dt.datetime.now(dt.timezone.utc)
    for _ in range(2):
        existing = _binding(session, channel, sender_id)
        if existing is not None:
            if existing.resident_id == resident_id:
                return existing
            if not replace:
                raise SenderAlreadyBound(f"{channel} sender is bound to resident {existing.resident_id}",
                                         channel=channel, resident_id=existing.resident_id)
            existing.resident_id, existing.bound_at = resident_id, now
            session.flush()
            return existing
        binding = ResidentChannel(resident_id=resident_id, channel=channel, sender_id=sender_id, bound_at=now)
        try:
            with session.begin_nested():
                session.add(binding)
        except IntegrityError:  # another transaction bound the pair meanwhile: look again
            continue
        return binding
    raise SenderAlreadyBound(f"{channel} sender was bound concurrently", channel=channel)


def unbind_channel(session: Session, channel: str, sender_id: str) -> bool:
    """Remove the binding of a channel's sender id; True when there was one."""
    existing = _binding(session, channel, sender_id)
    if existing is None:
        return False
    session.delete(existing)
    session.flush()
    return True


def _binding(session: Session, channel: str, sender_id: str) -> ResidentChannel | None:
    return session.execute(
        select(ResidentChannel).where(ResidentChannel.channel == channel, ResidentChannel.sender_id == sender_id)
    ).scalar_one_or_none()
