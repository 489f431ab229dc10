"""A fresh installation gets one administrator to log in with; an installation with accounts gets none."""

from __future__ import annotations

import pytest

from juhaoban.serve import FIRST_ADMINISTRATOR, ensure_first_administrator
from workflow.accounts import AccountRole, AccountService, LoginFailed


def test_a_database_without_accounts_gets_an_administrator_whose_password_is_printed_once(session_factory, capsys):
    password = ensure_first_administrator(session_factory)
    assert password and password in capsys.readouterr().out
    account = AccountService(session_factory).authenticate(FIRST_ADMINISTRATOR, password)
    assert account.role is AccountRole.ADMIN
    assert ensure_first_administrator(session_factory) is None
    assert password not in capsys.readouterr().out


def test_an_installation_with_accounts_gets_no_extra_administrator(session_factory):
    AccountService(session_factory).create("wangfang", "Julu2026dispatch", role="dispatcher", display_name="王芳")
    assert ensure_first_administrator(session_factory) is None
    with pytest.raises(LoginFailed):
        AccountService(session_factory).authenticate(FIRST_ADMINISTRATOR, "anything2026")
