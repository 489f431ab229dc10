"""The ``juhaoban`` command: ``serve``, ``train``, ``migrate``, ``token``, ``account``, ``grids``, ``replay``,
``eval``, ``import-calls``, ``wechat-menu``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import List, Optional

from juhaoban.accounts_cli import add_parser as add_account_parser
from juhaoban.grids_cli import add_parser as add_grids_parser
from workflow.api_tokens import TokenRole


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="juhaoban", description="巨好办 command-line tools")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, load reference data, train if needed, run Rasa, the actions, the admin API and the worker")
    serve.add_argument("--rasa-port", type=int, default=5005)
    serve.add_argument("--actions-port", type=int, default=5055)
    serve.add_argument("--admin-port", type=int, default=8000)
    serve.add_argument("--no-train", action="store_true", help="fail instead of training when no model is current")
    serve.add_argument("--model", type=Path, default=None, help="serve this model file")

    train = commands.add_parser("train", help="train the Rasa model when its inputs changed")
    train.add_argument("--force", action="store_true", help="train even when the current model exists")

    commands.add_parser("migrate", help="migrate the database and load the reference data")

    worker = commands.add_parser("worker", help="deadline sweep (warnings, overdue, auto-close) and message delivery")
    worker.add_argument("--rasa-url", default="http://127.0.0.1:5005", help="the Rasa server residents talk to")

    token = commands.add_parser("token", help="create, list or revoke admin API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token and print it (shown once)")
    create.add_argument("--role", choices=[role.value for role in TokenRole], required=True,
                        help="sensor: a field-sensor gateway that may only send readings")
    create.add_argument("--unit", default=None, help="unit code, for --role unit (e.g. county_ecology)")
    create.add_argument("--name", required=True, help="who holds it; written into the audit trail")
    token_commands.add_parser("list", help="list tokens (never their secrets)")
    revoke = token_commands.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id", type=int)

    add_account_parser(commands)  # console accounts: create (the first administrator), list, unlock, reset, disable
    add_grids_parser(commands)  # the grid register: import, export, sample data

    replay = commands.add_parser("replay", help="drive a CSV's texts through the REST channel as residents")
    replay.add_argument("file", type=Path)
    replay.add_argument("--url", default="http://127.0.0.1:5005/webhooks/rest/webhook")
    replay.add_argument("--concurrency", type=int, default=4)
    replay.add_argument("--limit", type=int, default=None)

    evaluate = commands.add_parser("eval", help="score categories against a board CSV's labels")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--url", default=None, help="a running Rasa server (default: load the model here)")
    evaluate.add_argument("--model", type=Path, default=None)

    calls = commands.add_parser("import-calls", help="file a day's hotline calls (one call's JSON per line)")
    calls.add_argument("file", type=Path)
    calls.add_argument("--model", type=Path, default=None, help="the model file (default: the current one)")

    menu = commands.add_parser("wechat-menu", help="publish the WeChat official account's menu")
    menu.add_argument("--show", action="store_true", help="only print the menu, publish nothing")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``juhaoban`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        from juhaoban.serve import Ports, run

        return run(Ports(args.rasa_port, args.actions_port, args.admin_port), train=not args.no_train,
                   model=args.model)
    if args.command == "train":
        from juhaoban.training import ensure_model

        print(ensure_model(force=args.force))
        return 0
    if args.command == "migrate":
        from juhaoban.serve import prepare
        from workflow.settings import Settings

        prepare(Settings.from_env())
        return 0
    if args.command == "worker":
        from juhaoban.worker import run as run_worker

        return run_worker(args.rasa_url)
    if args.command == "token":
        from juhaoban.tokens import run as run_tokens

        return run_tokens(args)
    if args.command == "account":
        from juhaoban.accounts_cli import run as run_accounts

        return run_accounts(args)
    if args.command == "grids":
        from juhaoban.grids_cli import run as run_grids

        return run_grids(args)
    if args.command == "replay":
        from juhaoban.replay import run

        return run(args.file, args.url, args.concurrency, args.limit)
    if args.command == "eval":
        from juhaoban.evaluate import evaluate

        report = asyncio.run(evaluate(args.file, url=args.url, model=args.model))
        print(report.format())
        return 0
    if args.command == "import-calls":
        from juhaoban.import_calls import run as run_import

        return run_import(args.file, args.model)
    if args.command == "wechat-menu":
        from juhaoban.wechat_menu import run as run_menu

        return run_menu(show_only=args.show)
    return 2


if __name__ == "__main__":
    sys.exit(main())
