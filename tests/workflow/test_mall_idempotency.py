"""Mall.redeem with an idempotency key (request_id, migration 0009) on SQLite and PostgreSQL: a retried request
returns the first redemption instead of redeeming twice, also on a later day and when the retries race."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from test_mall import EXCHANGE_DAY, HOLDER, give, ledger, mall, run_together, shanghai, stock  # noqa: F401
from workflow.mall import MallClosed
from workflow.points import InvalidPointsAction
from workflow.points_models import MallRedemption


def _redemptions(session_factory) -> int:
    with session_factory() as session:
        return session.execute(select(func.count(MallRedemption.id))).scalar_one()


def test_a_retried_request_returns_the_first_redemption(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 200)
    before = stock(session_factory, "washing_powder")
    first = mall.redeem(HOLDER, "洗衣粉", 2, now=EXCHANGE_DAY, request_id="msg-42")
    again = mall.redeem(HOLDER, "洗衣粉", 2, now=EXCHANGE_DAY, request_id="msg-42")
    assert again == first
    assert (_redemptions(session_factory), stock(session_factory, "washing_powder")) == (1, before - 2)
    assert ledger.balance(HOLDER) == 100
    # A retry arriving after the exchange day still gets the first answer, not "closed".
    assert mall.redeem(HOLDER, "洗衣粉", 2, now=shanghai(2026, 12, 6), request_id="msg-42") == first
    with pytest.raises(MallClosed):
        mall.redeem(HOLDER, "洗衣粉", 2, now=shanghai(2026, 12, 6), request_id="msg-43")


def test_another_key_or_no_key_redeems_again_and_a_key_is_per_holder(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 500)
    give(session_factory, ledger, "wx-other", 500)
    a = mall.redeem(HOLDER, "洗衣粉", 1, now=EXCHANGE_DAY, request_id="k1")
    b = mall.redeem(HOLDER, "洗衣粉", 1, now=EXCHANGE_DAY, request_id="k2")
    c = mall.redeem(HOLDER, "洗衣粉", 1, now=EXCHANGE_DAY)
    d = mall.redeem("wx-other", "洗衣粉", 1, now=EXCHANGE_DAY, request_id="k1")
    assert len({a.id, b.id, c.id, d.id}) == 4


def test_a_key_used_for_another_item_or_quantity_is_refused(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 500)
    mall.redeem(HOLDER, "洗衣粉", 1, now=EXCHANGE_DAY, request_id="k1")
    for item, quantity in (("香皂", 1), ("洗衣粉", 2)):
        with pytest.raises(InvalidPointsAction) as raised:
            mall.redeem(HOLDER, item, quantity, now=EXCHANGE_DAY, request_id="k1")
        assert raised.value.context["field"] == "request_id"
    with pytest.raises(InvalidPointsAction):
        mall.redeem(HOLDER, "洗衣粉", 1, now=EXCHANGE_DAY, request_id="x" * 65)
    assert _redemptions(session_factory) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_ten_concurrent_retries_of_one_request_redeem_once(mall, ledger, session_factory):
    give(session_factory, ledger, HOLDER, 1000)
    before = stock(session_factory, "washing_powder")
    seen = []
    outcomes = run_together(10, lambda i: seen.append(
        mall.redeem(HOLDER, "洗衣粉", 1, now=EXCHANGE_DAY, request_id="retry-me")))
    assert outcomes == ["ok"] * 10
    assert len({dataclasses.astuple(view) for view in seen}) == 1
    assert (_redemptions(session_factory), stock(session_factory, "washing_powder")) == (1, before - 1)
    assert ledger.balance(HOLDER) == 1000 - seen[0].points
