"""``juhaoban account create|list|unlock|reset-password|disable``: console accounts from the command line.

Run ``juhaoban migrate`` first: the accounts table and the units and villages a unit or grid worker account names
come with it (and on a database without accounts, the administrator ``admin``, its password printed once:
:func:`juhaoban.serve.ensure_first_administrator`). Named administrators are made here::

    juhaoban account create --role admin --username wangqiang --name 平台管理员王强

Without ``--password-stdin`` a strong password is generated and printed once, on the last line (hand it over in
person; only its argon2id hash is stored). With it, the password is read from standard input: one line from a pipe,
or typed twice at a terminal without echo. ``reset-password`` and ``disable`` end every console session of the
account. Bad input (an unknown role, user name, unit or village, a password breaking the rules, a taken name) is one
line on standard error and exit status 2; a database that is not migrated is exit status 1.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any, TextIO

#: The roles of :class:`workflow.accounts.AccountRole` (spelled out so building the parser imports nothing).
ROLES = ("dispatcher", "unit", "grid_worker", "admin", "expert")
BAD_INPUT = 2
NOT_READY = 1


def add_parser(commands: Any) -> None:
    """Add the ``account`` command and its sub-commands to the ``juhaoban`` parser's sub-parsers."""
    account = commands.add_parser("account", help="create, list, unlock, reset or disable console accounts")
    sub = account.add_subparsers(dest="account_command", required=True)
    create = sub.add_parser("create", help="create an account (a generated password is printed once)")
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--username", required=True, help="log-in name: 3–64 of a-z 0-9 _ . - (stored lower case)")
    create.add_argument("--name", required=True, help="display name, written into the audit trail (调度员王芳)")
    create.add_argument("--unit", default=None, help="unit code, for --role unit (e.g. county_ecology)")
    create.add_argument("--village", default=None, help="village code, for --role grid_worker")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input instead of generating one")
    sub.add_parser("list", help="list accounts (never their passwords)")
    unlock = sub.add_parser("unlock", help="lift a lock-out after wrong passwords")
    unlock.add_argument("username")
    reset = sub.add_parser("reset-password", help="set a new password (generated unless --password-stdin); "
                                                  "ends the account's console sessions")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true",
                       help="read the new password from standard input instead of generating one")
    disable = sub.add_parser("disable", help="disable an account and end its console sessions")
    disable.add_argument("username")


class _BadInput(Exception):
    """A one-line complaint about the command line or standard input (exit status 2)."""


def _read_password(stdin: TextIO) -> str:
    if stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("password again: "):
            raise _BadInput("the two passwords differ")
        return first
    line = stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    password = password[:-1] if password.endswith("\r") else password
    if not password:
        raise _BadInput("no password on standard input")
    return password


def _place(account: Any) -> str:
    return account.unit_code or account.village_code or "-"


def _state(account: Any, now: Any) -> str:
    from admin.console.templating import SHANGHAI

    if account.disabled:
        return "disabled"
    if account.is_locked(now):
        return "locked until " + account.locked_until.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return "active"


def _local(value: Any) -> str:
    from admin.console.templating import SHANGHAI

    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else "never"


def run(args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    """Run one ``account`` sub-command; returns 0, 2 after bad input, 1 when the database is not ready."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from workflow.accounts import generate_password
    from workflow.accounts import AccountExists, AccountNotFound, AccountService, InvalidAccount
    from workflow.cases import utc_now
    from workflow.console_sessions import ConsoleSessions
    from workflow.db import make_engine, make_session_factory
    from workflow.settings import Settings

    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    database_url = Settings.from_env().database_url
    engine = make_engine(database_url)
    session_factory = make_session_factory(engine)
    accounts, sessions = AccountService(session_factory), ConsoleSessions(session_factory)
    command = args.account_command
    try:
        if command == "create":
            password = _read_password(stdin) if args.password_stdin else generate_password()
            account = accounts.create(args.username, password, role=args.role, display_name=args.name,
                                      unit_code=args.unit, village_code=args.village)
            print(f"account {account.id} {account.username} created: {account.display_name} ({account.role.value}"
                  f"{', ' + _place(account) if _place(account) != '-' else ''})", file=stdout)
            if not args.password_stdin:
                print("its password, shown only this once (hand it over in person):", file=stdout)
                print(password, file=stdout)
        elif command == "list":
            listed = accounts.list()
            if not listed:
                print("no accounts yet; `juhaoban migrate` creates the administrator 'admin', or: "
                      "juhaoban account create --role admin --username U --name 显示名", file=stdout)
            now = utc_now()
            for account in listed:
                print(f"{account.id:>4}  {account.username:<20} {account.role.value:<11} {_place(account):<28} "
                      f"{account.display_name}  (last login {_local(account.last_login_at)}, "
                      f"{_state(account, now)})", file=stdout)
        elif command == "unlock":
            account = accounts.unlock(accounts.find(args.username).id)
            print(f"account {account.username} unlocked", file=stdout)
        elif command == "reset-password":
            account = accounts.find(args.username)
            if account.disabled:
                raise _BadInput(f"account {account.username!r} is disabled")
            password = _read_password(stdin) if args.password_stdin else generate_password()
            accounts.set_password(account.id, password)
            ended = sessions.end_all(account.id)
            print(f"password of {account.username} reset; {ended} console session(s) ended", file=stdout)
            if not args.password_stdin:
                print("the new password, shown only this once (hand it over in person):", file=stdout)
                print(password, file=stdout)
        elif command == "disable":
            account = accounts.disable(accounts.find(args.username).id)
            ended = sessions.end_all(account.id)
            print(f"account {account.username} disabled; {ended} console session(s) ended", file=stdout)
        else:  # argparse allows only the commands above
            raise _BadInput(f"unknown account command {command!r}")
    except InvalidAccount as error:
        field = error.context.get("field", "account")
        print(f"error: {_FIELD_OPTIONS.get(field, field)}: {error.message}", file=stderr)
        return BAD_INPUT
    except (AccountExists, AccountNotFound, _BadInput) as error:
        print(f"error: {getattr(error, 'message', error)}", file=stderr)
        return BAD_INPUT
    except (OperationalError, ProgrammingError) as error:
        reason = (str(error.orig or error).strip().splitlines() or [""])[0]
        print(f"error: the database is not ready (run `juhaoban migrate` first): {reason}", file=stderr)
        return NOT_READY
    finally:
        engine.dispose()
    return 0


#: The option that carries each field of :class:`workflow.accounts.InvalidAccount`, as the user typed it.
_FIELD_OPTIONS = {"username": "--username", "display_name": "--name", "unit_code": "--unit",
                  "village_code": "--village", "password": "password", "role": "--role"}
