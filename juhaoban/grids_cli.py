"""``juhaoban grids import|export|sample``: the grid register (网格台账) from the command line.

Run ``juhaoban migrate`` first (the tables and the gazetteer's villages come with it)::

    juhaoban grids import 台账.csv --dry-run     # check a file: summary and every bad line, nothing written
    juhaoban grids import 台账.csv               # import: bad lines are listed and skipped, the rest is written
    juhaoban grids export 台账.csv [--encoding gb18030] [--include-sample]
    juhaoban grids sample [--seed N] [--township CODE ...] [--replace]
    juhaoban grids sample --remove              # delete the sample grids, households and residents

The file format is :mod:`workflow.grid_csv`'s (one row per person, Chinese headers, UTF-8 or GBK). Exit status: 0
when every row was taken; 2 after bad input — some rows refused (the others are imported unless ``--dry-run``), an
unreadable file or header, a file that cannot be written; 1 when the database is not migrated.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

BAD_INPUT = 2
NOT_READY = 1


def add_parser(commands: Any) -> None:
    """Add the ``grids`` command and its sub-commands to the ``juhaoban`` parser's sub-parsers."""
    grids = commands.add_parser("grids", help="import, export or generate sample grid data (网格台账)")
    sub = grids.add_subparsers(dest="grids_command", required=True)
    load = sub.add_parser("import", help="import a grid register CSV (bad rows are listed with their line number)")
    load.add_argument("file", type=Path)
    load.add_argument("--dry-run", action="store_true", help="validate and report only; write nothing")
    dump = sub.add_parser("export", help="write the grid register as CSV, in the format import reads")
    dump.add_argument("file", type=Path)
    dump.add_argument("--encoding", choices=("utf-8-sig", "gb18030"), default="utf-8-sig",
                      help="utf-8-sig (UTF-8 with BOM, default) or gb18030 (GBK, for old Excel)")
    dump.add_argument("--include-sample", action="store_true", help="include sample grids (not importable)")
    sample = sub.add_parser("sample", help="generate sample grids, households and residents (marked as sample)")
    sample.add_argument("--seed", type=int, default=None, help="the same seed gives the same data (default 2026)")
    sample.add_argument("--township", action="append", default=None, metavar="CODE",
                        help="only this township (repeatable; default all 10)")
    sample.add_argument("--replace", action="store_true", help="regenerate villages that already have sample data")
    sample.add_argument("--remove", action="store_true", help="delete all sample grid data instead")


def run(args: argparse.Namespace, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run one ``grids`` sub-command; returns 0, 2 after bad input, 1 when the database is not ready."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from workflow.db import make_engine, make_session_factory
    from workflow.grid_csv import GridCsvError, export_grid_csv, import_grid_csv
    from workflow.grid_sample import DEFAULT_SEED, generate_sample, remove_sample
    from workflow.settings import Settings

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    engine = make_engine(Settings.from_env().database_url)
    session_factory = make_session_factory(engine)
    command = args.grids_command
    try:
        if command == "import":
            try:
                data = args.file.read_bytes()
            except OSError as error:
                print(f"error: cannot read {args.file}: {error.strerror or error}", file=stderr)
                return BAD_INPUT
            with session_factory.begin() as session:
                report = import_grid_csv(session, data, dry_run=args.dry_run)
            for issue in report.errors:
                print(f"错误 {issue.format()}", file=stderr)
            for issue in report.warnings:
                print(f"警告 {issue.format()}", file=stderr)
            print(report.summary(), file=stdout)
            return BAD_INPUT if report.errors else 0
        if command == "export":
            with session_factory() as session:
                data = export_grid_csv(session, encoding=args.encoding, include_sample=args.include_sample)
            try:
                args.file.write_bytes(data)
            except OSError as error:
                print(f"error: cannot write {args.file}: {error.strerror or error}", file=stderr)
                return BAD_INPUT
            rows = data.count(b"\n") - 1
            print(f"exported {rows} row(s) to {args.file} ({args.encoding})", file=stdout)
            return 0
        if command == "sample":
            with session_factory.begin() as session:
                if args.remove:
                    print(f"removed {remove_sample(session)} sample grid(s) with their households and residents",
                          file=stdout)
                    return 0
                report = generate_sample(session, seed=DEFAULT_SEED if args.seed is None else args.seed,
                                         townships=args.township, replace=args.replace)
            for village, reason in sorted(report.skipped.items()):
                why = {"real grids": "has real grids: sample data is never mixed in",
                       "sample exists": "already has sample data (--replace regenerates it)"}[reason]
                print(f"skipped {village}: {why}", file=stdout)
            print(report.summary(), file=stdout)
            return 0
        print(f"error: unknown grids command {command!r}", file=stderr)  # argparse allows only the above
        return BAD_INPUT
    except GridCsvError as error:
        print(f"error: {args.file}: {error.message}", file=stderr)
        return BAD_INPUT
    except (OperationalError, ProgrammingError) as error:
        reason = (str(error.orig or error).strip().splitlines() or [""])[0]
        print(f"error: the database is not ready (run `juhaoban migrate` first): {reason}", file=stderr)
        return NOT_READY
    finally:
        engine.dispose()
