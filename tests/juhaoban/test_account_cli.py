"""``juhaoban account create|list|unlock|reset-password|disable``: console accounts from the command line."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from juhaoban.accounts_cli import ROLES
from juhaoban.cli import main
from workflow.accounts import MAX_FAILED_LOGINS, AccountRole, AccountService, LoginFailed, check_password_rules
from workflow.console_sessions import ConsoleSessions

PASSWORD = "Julu2026console"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(monkeypatch, session_factory, database_url, capsys):
    """``cli(*argv, stdin=None)`` → (exit status, stdout, stderr) of ``juhaoban`` on the migrated test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)

    def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        try:
            status = main(["account", *argv])
        except SystemExit as exit_:  # argparse
            status = exit_.code
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture
def service(session_factory) -> AccountService:
    return AccountService(session_factory)


def test_the_roles_are_the_account_roles():
    assert ROLES == tuple(role.value for role in AccountRole)


def test_the_first_administrator_gets_a_generated_password_printed_once(cli, service):
    status, out, err = cli("list")
    assert status == 0 and "no accounts yet" in out and "--role admin" in out
    status, out, err = cli("create", "--role", "admin", "--username", "Admin", "--name", "平台管理员")
    assert status == 0, err
    lines = out.strip().splitlines()
    assert "admin created: 平台管理员 (admin)" in lines[0] and "shown only this once" in lines[1]
    password = lines[-1]
    check_password_rules(password)
    assert service.authenticate("admin", password).role is AccountRole.ADMIN
    status, out, _ = cli("list")
    assert status == 0 and "admin" in out and "平台管理员" in out and password not in out


def test_a_password_from_standard_input_is_used_and_not_printed(cli, service):
    status, out, err = cli("create", "--role", "unit", "--username", "eco-zhang", "--name", "生态环境分局张科长",
                           "--unit", "county_ecology", "--password-stdin", stdin=PASSWORD + "\n")
    assert status == 0, err
    assert "county_ecology" in out and PASSWORD not in out
    assert service.authenticate("eco-zhang", PASSWORD).unit_code == "county_ecology"
    status, out, err = cli("create", "--role", "grid_worker", "--username", "grid-liu", "--name", "网格员刘洋",
                           "--village", "wanghuzhai_xiaohanzhai", "--password-stdin", stdin=PASSWORD + "\r\n")
    assert status == 0, err
    assert service.authenticate("grid-liu", PASSWORD).village_code == "wanghuzhai_xiaohanzhai"


@pytest.mark.parametrize("argv, stdin, complaint", [
    (["--role", "dispatcher", "--username", "王芳!", "--name", "x"], None, "--username: a user name has"),
    (["--role", "dispatcher", "--username", "wangfang", "--name", "  "], None, "--name: a display name"),
    (["--role", "unit", "--username", "unit-x", "--name", "x"], None, "--unit: a unit account needs its unit"),
    (["--role", "dispatcher", "--username", "disp-x", "--name", "x", "--unit", "county_ecology"], None,
     "--unit: a unit account needs its unit; other roles have none"),
    (["--role", "unit", "--username", "unit-x", "--name", "x", "--unit", "no_such_unit"], None,
     "--unit: the unit is not an active unit"),
    (["--role", "grid_worker", "--username", "grid-x", "--name", "x", "--village", "nowhere"], None,
     "--village: the village is not in the gazetteer"),
    (["--role", "dispatcher", "--username", "wangfang", "--name", "x", "--password-stdin"], "short1\n",
     "password: a password needs at least 10 characters"),
    (["--role", "dispatcher", "--username", "wangfang", "--name", "x", "--password-stdin"], "", "no password"),
])
def test_bad_input_is_one_line_and_exit_status_2(cli, service, argv, stdin, complaint):
    status, out, err = cli("create", *argv, stdin=stdin)
    assert status == 2
    assert err.startswith("error: ") and complaint in err and len(err.strip().splitlines()) == 1
    assert service.list() == []


def test_a_taken_name_an_unknown_role_and_an_unknown_account_are_refused(cli, service):
    service.create("wangfang", PASSWORD, role="dispatcher", display_name="调度员王芳")
    status, _, err = cli("create", "--role", "dispatcher", "--username", "WangFang", "--name", "x")
    assert status == 2 and "is taken" in err
    status, _, err = cli("create", "--role", "boss", "--username", "boss", "--name", "x")
    assert status == 2 and "invalid choice" in err
    for command in ("unlock", "reset-password", "disable"):
        status, _, err = cli(command, "nobody")
        assert status == 2 and err.strip() == "error: no account 'nobody'"


def test_unlock_lifts_a_lock_out(cli, service):
    service.create("wangfang", PASSWORD, role="dispatcher", display_name="调度员王芳")
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(LoginFailed):
            service.authenticate("wangfang", "Wrong2026password")
    status, out, _ = cli("list")
    assert "locked until" in out
    assert cli("unlock", "wangfang")[:2] == (0, "account wangfang unlocked\n")
    assert service.authenticate("wangfang", PASSWORD).username == "wangfang"


def test_reset_password_and_disable_end_the_console_sessions(cli, service, session_factory):
    account = service.create("eco-zhang", PASSWORD, role="unit", unit_code="county_ecology",
                             display_name="生态环境分局张科长")
    sessions = ConsoleSessions(session_factory)
    token, _ = sessions.start(account)
    status, out, err = cli("reset-password", "eco-zhang", "--password-stdin", stdin="Xinmima2026abc\n")
    assert status == 0, err
    assert "1 console session(s) ended" in out and "Xinmima2026abc" not in out
    assert sessions.find(token) is None
    with pytest.raises(LoginFailed):
        service.authenticate("eco-zhang", PASSWORD)
    status, out, _ = cli("reset-password", "eco-zhang")
    assert status == 0
    new = out.strip().splitlines()[-1]
    token, _ = sessions.start(service.authenticate("eco-zhang", new))
    status, out, _ = cli("disable", "eco-zhang")
    assert status == 0 and "disabled; 1 console session(s) ended" in out
    assert sessions.find(token) is None
    with pytest.raises(LoginFailed):
        service.authenticate("eco-zhang", new)
    assert "disabled" in cli("list")[1]
    assert cli("reset-password", "eco-zhang")[0] == 2


def test_an_unmigrated_database_says_to_migrate(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["account", "list"]) == 1
    assert "run `juhaoban migrate` first" in capsys.readouterr().err


def test_on_a_fresh_install_migrate_makes_admin_and_account_create_the_named_administrators(tmp_path):
    """The installed ``juhaoban`` command on a new SQLite file: ``migrate`` (which makes ``admin`` on a database
    without accounts, juhaoban.serve.ensure_first_administrator), then a named administrator, who logs in."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'juhaoban.db'}"}
    command = [str(Path(sys.executable).with_name("juhaoban"))]

    def juhaoban(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *argv], env=env, capture_output=True, text=True, timeout=300, cwd=REPO)

    migrated = juhaoban("migrate")
    assert migrated.returncode == 0, migrated.stderr
    created = juhaoban("account", "create", "--role", "admin", "--username", "chief", "--name", "平台管理员王强")
    assert created.returncode == 0, created.stderr
    password = created.stdout.strip().splitlines()[-1]
    from workflow.db import make_engine, make_session_factory

    engine = make_engine(env["DATABASE_URL"])
    try:
        assert AccountService(make_session_factory(engine)).authenticate("chief", password).role is AccountRole.ADMIN
    finally:
        engine.dispose()
    listed = juhaoban("account", "list")
    assert listed.returncode == 0 and "chief" in listed.stdout and password not in listed.stdout
    again = juhaoban("account", "create", "--role", "admin", "--username", "chief", "--name", "x")
    assert again.returncode == 2 and again.stderr.strip() == "error: user name 'chief' is taken"
