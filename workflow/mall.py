"""The points mall (积分超市): a catalogue with stock and prices in points, redemption on the exchange day, a pickup
code, collection in the collection days, and the return of what was not collected.

Source: ../shared/DESIGN.md "Points (积分善治)" ("redeem only on the 5th of a month (exchange day), goods handed out
7th–14th; stock never oversold") and issue 6. Days are Asia/Shanghai calendar days; the numbers are
``data/points/policy.yml`` (:class:`workflow.points.PointsPolicy`); the sample goods ``data/points/catalogue.yml``.

Rules:

- **Redeem** (:meth:`Mall.redeem`) only on the exchange day (the 5th, 00:00–23:59 Asia/Shanghai); on any other day
  :class:`MallClosed` carries the next exchange day (this month's 5th before it, next month's after it) and a
  Chinese sentence for the bot. 1–``max_quantity`` pieces of one active item; the price is the item's at that
  moment, ``points`` = price × quantity.
- **Atomic, never oversold, never spent twice.** One transaction: (1) ``UPDATE mall_items SET stock = stock - q
  WHERE code = … AND active AND stock >= q`` — a conditional update, so concurrent redemptions of one item queue on
  its row and the last pieces go to exactly as many as there are; (2) the holder's account row is locked
  (:func:`workflow.points.lock_account`) and the balance checked, (3) the redemption row and the ledger debit
  (source ``redemption:<id>``) written. Not enough points (:class:`~workflow.points.InsufficientPoints`) or stock
  (:class:`OutOfStock`) rolls everything back. Locks are always taken item → account, so redemptions and returns
  never deadlock; CHECKs (stock ≥ 0, balance ≥ 0) are the last line of defence.
- **Pickup code**: 6 characters from ``ACDEFGHJKMNPQRTUVWXY34679`` (no 0/O, 1/I/L, 2/Z, 5/S, 8/B: read out and
  typed without mistakes), random (``secrets``), unique over all redemptions (a unique index; a clash, about one in
  240 million per pair, makes that one redemption fail with an IntegrityError the caller may retry). Input is
  normalised (case, blanks, dashes).
- **Collect** (:meth:`Mall.collect`) only in the collection window of the redemption's month: from 00:00 of the
  7th to 23:59:59 of the 14th Asia/Shanghai (``collect_from`` ≤ now < ``collect_until``, fixed on the redemption,
  so a later policy change does not move it); marked ``collected`` with who handed it out.
- **Return** (:meth:`Mall.return_uncollected`, a job; run it daily): a redemption still ``reserved`` once its
  window has ended (from 00:00 on the 15th) goes back: status ``returned``, its pieces back to stock, its points
  refunded (source ``redemption:<id>:refund``, paying off owed points first like every credit), the resident told
  (``redemption_returned``). Idempotent: a conditional ``UPDATE … WHERE status = 'reserved'`` decides, so running it
  twice, or racing a late collection, returns each redemption at most once.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workflow.cases import Clock, utc_now
from workflow.exceptions import ReferenceDataError
from workflow.notifications import NotificationKind
from workflow.points import SHANGHAI, InvalidPointsAction, PointsError, PointsLedger, PointsPolicy, lock_account
from workflow.points_models import MallItem, MallRedemption

CATALOGUE_FILE = Path("points") / "catalogue.yml"
PICKUP_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
PICKUP_LENGTH = 6
_WEEKDAYS = "一二三四五六日"


# ---------------------------------------------------------------------- errors
class MallClosed(PointsError):
    """Redemption attempted on a day that is not the exchange day.

    Attributes:
        next_exchange: The next exchange day (Asia/Shanghai date).
        text_zh: What the bot can say (``积分兑换每月5日开放，下一个兑换日是2026年12月5日（星期六）。``).

    Context: ``today``, ``next_exchange`` (ISO dates), ``exchange_day``.
    """

    code = "mall_closed"

    def __init__(self, message: str, *, today: dt.date, next_exchange: dt.date, exchange_day: int) -> None:
        super().__init__(message, today=today.isoformat(), next_exchange=next_exchange.isoformat(),
                         exchange_day=exchange_day)
        self.next_exchange = next_exchange
        self.text_zh = f"积分兑换每月{exchange_day}日开放，下一个兑换日是{format_day_zh(next_exchange)}。"


class UnknownItem(PointsError):
    """No active catalogue item matches. Context: ``item`` (as given) and ``candidates`` (names, when ambiguous)."""

    code = "unknown_item"


class OutOfStock(PointsError):
    """Fewer pieces in stock than wanted. Context: ``item`` (code), ``name``, ``stock``, ``wanted``."""

    code = "out_of_stock"


class UnknownPickupCode(PointsError):
    """No redemption has the pickup code. Context: ``pickup_code``."""

    code = "unknown_pickup_code"


class RedemptionNotReserved(PointsError):
    """The redemption was already collected or returned. Context: ``pickup_code``, ``status``."""

    code = "redemption_not_reserved"


class CollectionClosed(PointsError):
    """Collection outside the redemption's window. Context: ``pickup_code``, ``first_day``, ``last_day`` (ISO)."""

    code = "collection_closed"


# ---------------------------------------------------------------------- views
@dataclass(frozen=True)
class ItemView:
    """A catalogue item: ``number`` residents type, ``price`` points per piece, ``stock`` pieces."""

    code: str
    number: int
    name: str
    price: int
    stock: int
    is_sample: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(code=self.code, number=self.number, name=self.name, price=self.price, stock=self.stock,
                    is_sample=self.is_sample)


@dataclass(frozen=True)
class RedemptionView:
    """A redemption as residents and staff see it.

    Attributes:
        points: Points spent (price × quantity).
        status: ``reserved``, ``collected`` or ``returned``.
        redeemed_at, collected_at, returned_at: Aware UTC.
        first_day, last_day: The collection window, Asia/Shanghai dates, inclusive.
    """

    id: int
    holder_id: str
    item_code: str
    item_name: str
    quantity: int
    points: int
    status: str
    pickup_code: str
    redeemed_at: dt.datetime
    first_day: dt.date
    last_day: dt.date
    collected_at: dt.datetime | None
    collected_by: str | None
    returned_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        stamp = lambda value: value.isoformat() if value is not None else None  # noqa: E731
        return dict(id=self.id, holder_id=self.holder_id, item_code=self.item_code, item_name=self.item_name,
                    quantity=self.quantity, points=self.points, status=self.status, pickup_code=self.pickup_code,
                    redeemed_at=stamp(self.redeemed_at), first_day=self.first_day.isoformat(),
                    last_day=self.last_day.isoformat(), collected_at=stamp(self.collected_at),
                    collected_by=self.collected_by, returned_at=stamp(self.returned_at))


@dataclass(frozen=True)
class MallCalendar:
    """The mall's days around ``today`` (Asia/Shanghai): whether it redeems today, the next exchange day (today on
    an exchange day), and this month's collection days."""

    today: dt.date
    is_exchange_day: bool
    next_exchange: dt.date
    collection_first_day: dt.date
    collection_last_day: dt.date
    is_collection_day: bool


def mall_calendar(now: dt.datetime, policy: PointsPolicy) -> MallCalendar:
    """The mall's calendar at ``now`` (aware)."""
    today = now.astimezone(SHANGHAI).date()
    exchange = today.replace(day=policy.exchange_day)
    if today > exchange:
        exchange = _next_month(today).replace(day=policy.exchange_day)
    first, last = (today.replace(day=d) for d in policy.collection_days)
    return MallCalendar(today, today.day == policy.exchange_day, exchange, first, last, first <= today <= last)


def format_day_zh(day: dt.date) -> str:
    """``2026年12月5日（星期六）``."""
    return f"{day.year}年{day.month}月{day.day}日（星期{_WEEKDAYS[day.weekday()]}）"


# ---------------------------------------------------------------------- the mall
class Mall:
    """The points mall's service (the bot's "积分能换什么", redeem, "我的兑换"; the staff's hand-out; the job).

    Args:
        session_factory: Over a migrated database.
        clock: Aware ``now`` when a method is given none; default :func:`workflow.cases.utc_now`.
        ledger: The points ledger (its policy gives the days and ``max_quantity``); default one over the factory.
    """

    def __init__(self, session_factory: sessionmaker, *, clock: Clock | None = None,
                 ledger: PointsLedger | None = None) -> None:
        self._session_factory = session_factory
        self._clock = clock or utc_now
        self._ledger = ledger or PointsLedger(session_factory, clock=self._clock)

    @property
    def policy(self) -> PointsPolicy:
        return self._ledger.policy

    def calendar(self, now: dt.datetime | None = None) -> MallCalendar:
        """Exchange and collection days around now (for the bot: "每月5日兑换，7日至14日领取")."""
        return mall_calendar(self._when(now), self.policy)

    # ------------------------------------------------------------------ catalogue
    def catalogue(self) -> list[ItemView]:
        """Active items by number, sold-out ones included (stock 0)."""
        with self._session_factory() as session:
            rows = session.execute(select(MallItem).where(MallItem.active.is_(True)).order_by(MallItem.number))
            return [_item_view(row) for row in rows.scalars()]

    def find_item(self, wanted: str | int) -> ItemView:
        """The active item a resident means: its number (``3``, ``3号``, ``第3号``), code, exact name, or the one
        name containing the words (``大米`` → ``大米（5公斤）``).

        Raises:
            UnknownItem: Nothing matches, or several names do (``candidates``).
        """
        items = self.catalogue()
        text = str(wanted).strip() if wanted is not None else ""
        digits = re.fullmatch(r"(?:第|#|No\.?)?\s*(\d{1,4})\s*(?:号|#)?", text, flags=re.IGNORECASE)
        if digits:
            found = [item for item in items if item.number == int(digits.group(1))]
        else:
            found = [item for item in items if text and text in (item.name, item.code)]
            if not found and text:
                found = [item for item in items if text in item.name]
        if len(found) != 1:
            raise UnknownItem(f"no single item matches {text!r}", item=text,
                              candidates=[item.name for item in found])
        return found[0]

    def restock(self, item: str | int, quantity: int) -> ItemView:
        """Add ``quantity`` (≥ 1) pieces to an item's stock.

        Raises:
            UnknownItem, InvalidPointsAction.
        """
        code = self.find_item(item).code
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidPointsAction("quantity must be a whole number ≥ 1", field="quantity", value=repr(quantity))
        with self._session_factory.begin() as session:
            session.execute(update(MallItem).where(MallItem.code == code)
                            .values(stock=MallItem.stock + quantity, updated_at=self._when(None))
                            .execution_options(synchronize_session=False))
            return _item_view(session.execute(select(MallItem).where(MallItem.code == code)
                                              .execution_options(populate_existing=True)).scalar_one())

    # ------------------------------------------------------------------ redeeming
    def redeem(self, holder: str, item: str | int, quantity: int = 1,
               now: dt.datetime | None = None, *, request_id: str | None = None) -> RedemptionView:
        """Redeem ``quantity`` pieces of ``item`` (number, code or name, see :meth:`find_item`) for ``holder``.

        ``request_id`` is the caller's idempotency key (1–64 characters, e.g. the id of the chat message that asked):
        a retried request with the same key for the same holder returns the first redemption as it is now, instead of
        redeeming twice — on any day, and also when the two requests race (the unique index on
        ``(holder_id, request_id)`` of migration 0009 lets one commit; the other's transaction is rolled back whole,
        stock and points untouched, and it returns the winner's).

        Returns:
            The redemption (``reserved``) with its pickup code and collection days.

        Raises:
            InvalidPointsAction: ``request_id`` is empty or over-long, or was used for another item or quantity
                (``field`` = ``request_id``).
            MallClosed: Not the exchange day (Asia/Shanghai); ``next_exchange`` and ``text_zh``.
            UnknownItem: No such active item.
            OutOfStock: Not enough pieces left.
            InsufficientPoints: The balance does not cover price × quantity (nothing written).
            InvalidPointsAction: Bad holder or quantity (1–``max_quantity``).
        """
        now = self._when(now)
        holder = _holder(holder)
        limit = self.policy.max_quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= limit:
            raise InvalidPointsAction(f"quantity must be from 1 to {limit}", field="quantity", value=repr(quantity))
        key = _request_id(request_id)
        if key is not None:
            first = self._by_request(holder, key, item, quantity)
            if first is not None:
                return first
            try:
                return self._redeem(holder, item, quantity, now, key)
            except IntegrityError:  # the same request committed meanwhile: nothing of ours was written
                first = self._by_request(holder, key, item, quantity)
                if first is None:
                    raise
                return first
        return self._redeem(holder, item, quantity, now, None)

    def _by_request(self, holder: str, key: str, item: str | int, quantity: int) -> RedemptionView | None:
        with self._session_factory() as session:
            row = session.execute(
                select(MallRedemption, MallItem.name).join(MallItem, MallItem.code == MallRedemption.item_code)
                .where(MallRedemption.holder_id == holder, MallRedemption.request_id == key)).first()
            if row is None:
                return None
            redemption, name = row
        try:
            same_item = self.find_item(item).code == redemption.item_code
        except UnknownItem:
            same_item = str(item).strip() in (redemption.item_code, name)
        if redemption.quantity != quantity or not same_item:
            raise InvalidPointsAction(f"request {key!r} was a redemption of {redemption.item_code} × "
                                      f"{redemption.quantity}", field="request_id", value=key)
        return _redemption_view(redemption, name)

    def _redeem(self, holder: str, item: str | int, quantity: int, now: dt.datetime,
                key: str | None) -> RedemptionView:
        days = mall_calendar(now, self.policy)
        if not days.is_exchange_day:
            raise MallClosed(f"the mall redeems on day {self.policy.exchange_day} only", today=days.today,
                             next_exchange=days.next_exchange, exchange_day=self.policy.exchange_day)
        chosen = self.find_item(item)
        with self._session_factory.begin() as session:
            taken = session.execute(
                update(MallItem)
                .where(MallItem.code == chosen.code, MallItem.active.is_(True), MallItem.stock >= quantity)
                .values(stock=MallItem.stock - quantity, updated_at=now)
                .execution_options(synchronize_session=False))
            row = session.execute(select(MallItem.name, MallItem.price, MallItem.stock, MallItem.active)
                                  .where(MallItem.code == chosen.code)).one()
            if taken.rowcount != 1:
                if not row.active:
                    raise UnknownItem(f"item {chosen.code!r} is no longer offered", item=chosen.code, candidates=[])
                raise OutOfStock(f"{row.name}: {row.stock} left, {quantity} wanted", item=chosen.code,
                                 name=row.name, stock=int(row.stock), wanted=quantity)
            lock_account(session, holder, now)
            cost = int(row.price) * quantity
            first = days.collection_first_day
            after = days.collection_last_day + dt.timedelta(days=1)
            redemption = MallRedemption(
                holder_id=holder, item_code=chosen.code, quantity=quantity, points=cost, status="reserved",
                pickup_code=_new_pickup_code(session), redeemed_at=now, collect_from=_midnight(first),
                collect_until=_midnight(after), request_id=key)
            session.add(redemption)
            session.flush()
            self._ledger.spend(session, holder, cost, source=f"redemption:{redemption.id}",
                               reason=f"兑换{row.name}×{quantity}", now=now,
                               data={"redemption_id": redemption.id, "item": chosen.code, "quantity": quantity})
            return _redemption_view(redemption, row.name)

    def redemptions_of(self, holder: str, limit: int = 20) -> list[RedemptionView]:
        """"我的兑换": the holder's last ``limit`` (1–200) redemptions, newest first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
            raise ValueError(f"limit must be from 1 to 200, got {limit!r}")
        with self._session_factory() as session:
            rows = session.execute(
                select(MallRedemption, MallItem.name).join(MallItem, MallItem.code == MallRedemption.item_code)
                .where(MallRedemption.holder_id == _holder(holder))
                .order_by(MallRedemption.id.desc()).limit(limit)).all()
            return [_redemption_view(redemption, name) for redemption, name in rows]

    def redemption(self, pickup_code: str) -> RedemptionView:
        """The redemption with ``pickup_code`` (staff look it up before handing out).

        Raises:
            UnknownPickupCode: None has it.
        """
        code = normalize_pickup_code(pickup_code)
        with self._session_factory() as session:
            return self._by_code(session, code)

    def reserved_this_month(self, now: dt.datetime | None = None, limit: int = 200) -> list[RedemptionView]:
        """The staff's hand-out list: redemptions still ``reserved`` whose collection window is in the month of
        ``now`` (Asia/Shanghai), oldest first, at most ``limit`` (1–500)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
            raise ValueError(f"limit must be from 1 to 500, got {limit!r}")
        today = self._when(now).astimezone(SHANGHAI).date()
        first = today.replace(day=1)
        with self._session_factory() as session:
            rows = session.execute(
                select(MallRedemption, MallItem.name).join(MallItem, MallItem.code == MallRedemption.item_code)
                .where(MallRedemption.status == "reserved", MallRedemption.collect_from >= _midnight(first),
                       MallRedemption.collect_from < _midnight(_next_month(first)))
                .order_by(MallRedemption.id).limit(limit)).all()
            return [_redemption_view(redemption, name) for redemption, name in rows]

    # ------------------------------------------------------------------ handing out and returning
    def collect(self, pickup_code: str, now: dt.datetime | None = None, *, by: str = "staff") -> RedemptionView:
        """Hand out a redemption: reserved → collected, only within its collection window.

        Args:
            by: Who handed it out (1–128 characters; kept in ``collected_by``).

        Raises:
            UnknownPickupCode, RedemptionNotReserved (already collected or returned), CollectionClosed.
        """
        now = self._when(now)
        code = normalize_pickup_code(pickup_code)
        who = (by or "").strip()[:128] or "staff"
        with self._session_factory.begin() as session:
            current = self._by_code(session, code)
            if current.status != "reserved":
                raise RedemptionNotReserved(f"redemption {code} is {current.status}", pickup_code=code,
                                            status=current.status)
            if not _midnight(current.first_day) <= now < _midnight(current.last_day + dt.timedelta(days=1)):
                raise CollectionClosed(f"redemption {code} is collected {current.first_day}–{current.last_day}",
                                       pickup_code=code, first_day=current.first_day.isoformat(),
                                       last_day=current.last_day.isoformat())
            done = session.execute(
                update(MallRedemption).where(MallRedemption.pickup_code == code, MallRedemption.status == "reserved")
                .values(status="collected", collected_at=now, collected_by=who)
                .execution_options(synchronize_session=False))
            if done.rowcount != 1:  # the return job (or another hand-out) got there first
                status = session.execute(select(MallRedemption.status)
                                         .where(MallRedemption.pickup_code == code)).scalar_one()
                raise RedemptionNotReserved(f"redemption {code} is {status}", pickup_code=code, status=status)
            return self._by_code(session, code)

    def return_uncollected(self, now: dt.datetime | None = None) -> list[RedemptionView]:
        """The job: return every redemption still reserved after its window (from 00:00 on the 15th), each in its
        own transaction: stock back, points refunded, the resident told. Idempotent.

        Returns:
            The redemptions this call returned.
        """
        now = self._when(now)
        with self._session_factory() as session:
            due = session.execute(select(MallRedemption.id).where(MallRedemption.status == "reserved",
                                                                  MallRedemption.collect_until <= now)
                                  .order_by(MallRedemption.id)).scalars().all()
        returned = []
        for redemption_id in due:
            view = self._return_one(redemption_id, now)
            if view is not None:
                returned.append(view)
        return returned

    def _return_one(self, redemption_id: int, now: dt.datetime) -> RedemptionView | None:
        with self._session_factory.begin() as session:
            done = session.execute(
                update(MallRedemption)
                .where(MallRedemption.id == redemption_id, MallRedemption.status == "reserved",
                       MallRedemption.collect_until <= now)
                .values(status="returned", returned_at=now).execution_options(synchronize_session=False))
            if done.rowcount != 1:
                return None
            redemption, name = session.execute(
                select(MallRedemption, MallItem.name).join(MallItem, MallItem.code == MallRedemption.item_code)
                .where(MallRedemption.id == redemption_id).execution_options(populate_existing=True)).one()
            session.execute(update(MallItem).where(MallItem.code == redemption.item_code)
                            .values(stock=MallItem.stock + redemption.quantity, updated_at=now)
                            .execution_options(synchronize_session=False))
            view = _redemption_view(redemption, name)
            self._ledger.credit(
                session, redemption.holder_id, redemption.points, kind="refund",
                source=f"redemption:{redemption.id}:refund", reason=f"未领取退回：{name}×{redemption.quantity}",
                now=now, data={"redemption_id": redemption.id},
                notice=(f"【兑换退回】您兑换的{name}×{redemption.quantity}（取货码{redemption.pickup_code}）"
                        f"未在{view.first_day.month}月{view.first_day.day}日至{view.last_day.day}日领取，"
                        f"已退回，返还{redemption.points}积分。"),
                notice_kind=NotificationKind.REDEMPTION_RETURNED)
            return view

    # ------------------------------------------------------------------ machinery
    def _by_code(self, session: Session, code: str) -> RedemptionView:
        found = session.execute(
            select(MallRedemption, MallItem.name).join(MallItem, MallItem.code == MallRedemption.item_code)
            .where(MallRedemption.pickup_code == code).execution_options(populate_existing=True)).one_or_none()
        if found is None:
            raise UnknownPickupCode(f"no redemption with pickup code {code!r}", pickup_code=code)
        return _redemption_view(*found)

    def _when(self, now: dt.datetime | None) -> dt.datetime:
        value = now if now is not None else self._clock()
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} rejected: pass an aware datetime")
        return value.astimezone(dt.timezone.utc)


# ---------------------------------------------------------------------- catalogue data
def load_catalogue(session: Session, data_dir: Path, now: dt.datetime | None = None) -> int:
    """Load ``<data_dir>/points/catalogue.yml`` in the caller's transaction: new items are inserted with their
    stock; existing ones get name, number, price and the sample mark from the file, their stock is left alone.
    Items missing from the file are not touched (deactivate them with ``active = false`` in the database).

    Returns:
        The number of items in the file.

    Raises:
        ReferenceDataError: Unreadable file, a missing or bad field, a repeated code, number or name.
    """
    path = Path(data_dir) / CATALOGUE_FILE
    when = (now or utc_now()).astimezone(dt.timezone.utc)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ReferenceDataError(f"{path}: {error}", path=str(path)) from None
    sample = bool(raw.get("is_sample", False)) if isinstance(raw, dict) else False
    entries = raw.get("items") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ReferenceDataError(f"{path}: expected 'items: [...]'", path=str(path))
    seen: dict[str, set] = {"code": set(), "number": set(), "name": set()}
    for entry in entries:
        ok = isinstance(entry, dict) and isinstance(entry.get("code"), str) and isinstance(entry.get("name"), str)
        ok = ok and all(isinstance(entry.get(k), int) and not isinstance(entry.get(k), bool)
                        for k in ("number", "price", "stock"))
        if not ok or entry["number"] < 1 or entry["price"] < 1 or entry["stock"] < 0:
            raise ReferenceDataError(f"{path}: bad item {entry!r}", path=str(path), entry=repr(entry))
        for key in seen:
            if entry[key] in seen[key]:
                raise ReferenceDataError(f"{path}: repeated {key} {entry[key]!r}", path=str(path), entry=entry[key])
            seen[key].add(entry[key])
        row = session.get(MallItem, entry["code"])
        if row is None:
            session.add(MallItem(code=entry["code"], number=entry["number"], name=entry["name"], price=entry["price"],
                                 stock=entry["stock"], active=True, is_sample=sample, updated_at=when))
        else:
            row.number, row.name, row.price, row.is_sample = entry["number"], entry["name"], entry["price"], sample
            row.updated_at = when
    session.flush()
    return len(entries)


# ---------------------------------------------------------------------- helpers
def normalize_pickup_code(code: Any) -> str:
    """``" k7m-4qx "`` → ``K7M4QX`` (upper case, blanks and dashes dropped)."""
    return re.sub(r"[\s\-_]", "", str(code or "")).upper()


def _new_pickup_code(session: Session) -> str:
    for _ in range(10):
        code = "".join(secrets.choice(PICKUP_ALPHABET) for _ in range(PICKUP_LENGTH))
        taken = session.execute(select(MallRedemption.id).where(MallRedemption.pickup_code == code)).first()
        if taken is None:
            return code
    raise RuntimeError("could not draw a free pickup code")  # pragma: no cover - 10 clashes in a row


def _midnight(day: dt.date) -> dt.datetime:
    """00:00 Asia/Shanghai of ``day``, as aware UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _holder(holder: Any) -> str:
    who = holder.strip() if isinstance(holder, str) else ""
    if not who or len(who) > 128:
        raise InvalidPointsAction("holder id must be 1–128 characters", field="holder", value=repr(holder)[:40])
    return who


_MAX_REQUEST_ID = 64  # mall_redemptions.request_id


def _request_id(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip() if isinstance(value, str) else ""
    if not 0 < len(key) <= _MAX_REQUEST_ID:
        raise InvalidPointsAction(f"request_id must be 1–{_MAX_REQUEST_ID} characters", field="request_id")
    return key


def _item_view(row: MallItem) -> ItemView:
    return ItemView(row.code, row.number, row.name, row.price, row.stock, bool(row.is_sample))


def _redemption_view(row: MallRedemption, name: str) -> RedemptionView:
    return RedemptionView(
        id=row.id, holder_id=row.holder_id, item_code=row.item_code, item_name=name, quantity=row.quantity,
        points=row.points, status=row.status, pickup_code=row.pickup_code, redeemed_at=row.redeemed_at,
        first_day=row.collect_from.astimezone(SHANGHAI).date(),
        last_day=(row.collect_until.astimezone(SHANGHAI) - dt.timedelta(days=1)).date(),
        collected_at=row.collected_at, collected_by=row.collected_by, returned_at=row.returned_at)


__all__: Sequence[str] = (
    "CollectionClosed", "ItemView", "Mall", "MallCalendar", "MallClosed", "OutOfStock", "RedemptionNotReserved",
    "RedemptionView", "UnknownItem", "UnknownPickupCode", "format_day_zh", "load_catalogue", "mall_calendar",
    "normalize_pickup_code",
)
