"""Console accounts: creation rules, argon2 hashes, log-in, lock-out after wrong passwords, one error for all."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from workflow.accounts import (
    LOCKOUT_SECONDS,
    MAX_FAILED_LOGINS,
    AccountExists,
    AccountRole,
    AccountService,
    InvalidAccount,
    LoginFailed,
)
from workflow.models import Account, LoginEvent

PASSWORD = "Julu2026dispatch"


@pytest.fixture
def accounts(session_factory, clock) -> AccountService:
    return AccountService(session_factory, clock)


def _outcomes(session_factory) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(select(LoginEvent.outcome).order_by(LoginEvent.id)))


def test_a_dispatcher_logs_in_with_the_right_password(accounts, session_factory, clock):
    created = accounts.create("WangFang", PASSWORD, role="dispatcher", display_name="调度员王芳")
    assert created.username == "wangfang" and created.role is AccountRole.DISPATCHER
    view = accounts.authenticate(" wangfang ", PASSWORD, client_ip="10.0.0.7")
    assert view.id == created.id and view.last_login_at == clock.now
    with session_factory() as session:
        stored = session.get(Account, created.id)
        assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
        event = session.scalars(select(LoginEvent)).one()
        assert (event.outcome, event.client_ip, event.account_id) == ("success", "10.0.0.7", created.id)


def test_unknown_wrong_locked_and_disabled_all_fail_the_same_way(accounts, session_factory):
    account = accounts.create("zhangwei", PASSWORD, role="dispatcher", display_name="张伟")
    other = accounts.create("liqiang", PASSWORD, role="dispatcher", display_name="李强")
    accounts.disable(other.id)
    messages = set()
    for username, password in (("nobody", PASSWORD), ("zhangwei", "Wrong2026pass"), ("liqiang", PASSWORD)):
        with pytest.raises(LoginFailed) as error:
            accounts.authenticate(username, password)
        messages.add(error.value.message)
    assert len(messages) == 1
    assert _outcomes(session_factory) == ["unknown_user", "wrong_password", "disabled"]
    assert accounts.get(account.id).locked_until is None


def test_the_fifth_wrong_password_locks_the_account_even_against_the_right_one(accounts, clock, session_factory):
    account = accounts.create("zhaolei", PASSWORD, role="dispatcher", display_name="赵磊")
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(LoginFailed):
            accounts.authenticate("zhaolei", "Wrong2026pass")
    assert accounts.get(account.id).locked_until is None
    with pytest.raises(LoginFailed):
        accounts.authenticate("zhaolei", "Wrong2026pass")
    assert accounts.get(account.id).is_locked(clock.now)
    with pytest.raises(LoginFailed):
        accounts.authenticate("zhaolei", PASSWORD)
    assert _outcomes(session_factory)[-1] == "locked"
    clock.advance(dt.timedelta(seconds=LOCKOUT_SECONDS + 1))
    assert accounts.authenticate("zhaolei", PASSWORD).id == account.id


def test_a_success_resets_the_count_of_wrong_passwords(accounts):
    account = accounts.create("sunli", PASSWORD, role="dispatcher", display_name="孙丽")
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(LoginFailed):
            accounts.authenticate("sunli", "Wrong2026pass")
    accounts.authenticate("sunli", PASSWORD)
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(LoginFailed):
            accounts.authenticate("sunli", "Wrong2026pass")
    assert accounts.authenticate("sunli", PASSWORD).id == account.id


def test_an_administrator_unlocks_or_resets_a_locked_account(accounts, clock):
    account = accounts.create("zhouyu", PASSWORD, role="unit", unit_code="county_ecology", display_name="周宇")
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(LoginFailed):
            accounts.authenticate("zhouyu", "Wrong2026pass")
    accounts.unlock(account.id)
    assert accounts.authenticate("zhouyu", PASSWORD).unit_code == "county_ecology"
    accounts.set_password(account.id, "NewPassword2027")
    with pytest.raises(LoginFailed):
        accounts.authenticate("zhouyu", PASSWORD)
    assert accounts.authenticate("zhouyu", "NewPassword2027").id == account.id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "王芳"}, "username"),
        ({"password": "short1"}, "password"),
        ({"password": "onlyletterspassword"}, "password"),
        ({"password": "12345678901234"}, "password"),
        ({"password": " Julu2026dispatch"}, "password"),
        ({"display_name": "  "}, "display_name"),
        ({"role": "mayor"}, "role"),
        ({"role": "unit"}, "unit_code"),
        ({"role": "unit", "unit_code": "no_such_unit"}, "unit_code"),
        ({"unit_code": "county_ecology"}, "unit_code"),
        ({"role": "grid_worker"}, "village_code"),
        ({"role": "grid_worker", "village_code": "no_such_village"}, "village_code"),
    ],
)
def test_bad_accounts_are_refused_with_the_field_named(accounts, kwargs, field):
    arguments = {"username": "wangfang", "password": PASSWORD, "role": "dispatcher", "display_name": "王芳"}
    arguments.update(kwargs)
    username = arguments.pop("username")
    password = arguments.pop("password")
    with pytest.raises(InvalidAccount) as error:
        accounts.create(username, password, **arguments)
    assert error.value.context["field"] == field
    assert accounts.list() == []


def test_user_names_are_unique_whatever_their_case(accounts):
    accounts.create("wangfang", PASSWORD, role="dispatcher", display_name="王芳")
    with pytest.raises(AccountExists):
        accounts.create("WANGFANG", PASSWORD, role="admin", display_name="王芳2")


def test_a_grid_worker_is_bound_to_a_village(accounts):
    worker = accounts.create("gridw1", PASSWORD, role="grid_worker", village_code="julu_dongguan",
                             display_name="网格员刘洋")
    assert (worker.role, worker.village_code, worker.unit_code) == (AccountRole.GRID_WORKER, "julu_dongguan", None)


def test_concurrent_wrong_passwords_still_lock_the_account(accounts, clock):
    account = accounts.create("wuhao", PASSWORD, role="dispatcher", display_name="吴昊")
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            accounts.authenticate("wuhao", "Wrong2026pass")
        except LoginFailed:
            pass
        except BaseException as exc:  # anything else is a bug (a lost update would show as no lock)
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(MAX_FAILED_LOGINS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert accounts.get(account.id).is_locked(clock.now)
