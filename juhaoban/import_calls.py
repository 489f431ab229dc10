"""``juhaoban import-calls FILE.jsonl``: a day's hotline calls (one call's JSON per line) filed in this process.

Each line goes through the same intake as ``POST /webhooks/hotline/webhook`` (:class:`bot.channels.hotline.
HotlineIntake`): checked, read by the trained model (loaded here like ``juhaoban eval``; ``--model`` chooses the
file), filed exactly once (a call imported or posted before counts as a duplicate and files nothing). A bad line
(invalid JSON, a missing field, a bad date) is reported with its number and reason and never stops the rest. The
database is ``DATABASE_URL`` (migrated and reference data loaded first, as ``juhaoban migrate`` does).

Progress goes to stderr (``tqdm``), the summary to stdout; the exit code is 0 when every line was handled
(duplicates included), 1 when any failed, 2 when the file cannot be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from bot.channels.hotline import HotlineIntake
from bot.transcripts import Parse
from workflow.exceptions import InvalidCall

logger = logging.getLogger(__name__)


@dataclass
class ImportSummary:
    """What an import did. ``failures`` are ``(line number, reason)``, line numbers from 1."""

    lines: int = 0
    filed: int = 0
    duplicates: int = 0
    cases: int = 0
    failures: List[Tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every line was handled."""
        return not self.failures

    def format(self) -> str:
        """The summary printed at the end (plain text)."""
        lines = [f"calls: {self.lines}  filed: {self.filed}  duplicates: {self.duplicates}  "
                 f"failed: {len(self.failures)}", f"cases filed: {self.cases}"]
        if self.failures:
            lines.append("failures:")
            lines += [f"  line {number}: {reason}" for number, reason in self.failures]
        return "\n".join(lines)


def _reason(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"invalid JSON: {error.msg} (column {error.colno})"
    if isinstance(error, InvalidCall):
        named = str(error.context.get("field"))
        return error.message if error.message.startswith(named) else f"{named}: {error.message}"
    return f"{type(error).__name__}: {error}"  # not filed (one transaction per call); importing it again is safe


async def import_calls(lines: Sequence[str], intake: HotlineIntake, parse: Parse, *,
                       progress: Optional[Any] = None) -> ImportSummary:
    """Take every call of ``lines`` (one JSON object per line; blank lines are skipped).

    Args:
        lines: The file's lines.
        intake: The hotline intake (database, gazetteer).
        parse: The NLU, text → Rasa parse dict.
        progress: A ``tqdm`` bar to advance per line, or None.

    Returns:
        The summary; a failing line is recorded there, never raised.
    """
    summary = ImportSummary()
    for number, line in enumerate(lines, start=1):
        if progress is not None:
            progress.update(1)
        if not line.strip():
            continue
        summary.lines += 1
        try:
            outcome: Dict[str, Any] = await intake.take(json.loads(line), parse)
        except Exception as error:  # one bad call never stops the day's import
            if not isinstance(error, (json.JSONDecodeError, InvalidCall)):
                logger.exception("line %d could not be imported", number)
            summary.failures.append((number, _reason(error)))
            continue
        if outcome.get("duplicate"):
            summary.duplicates += 1
        else:
            summary.filed += 1
            summary.cases += len(outcome.get("cases") or ())
    return summary


def run(path: Path, model: Optional[Path] = None) -> int:
    """The command: prepare the database, load the model, import ``path``, print the summary; the exit code."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        print(f"cannot read {path}: {error}", file=sys.stderr)
        return 2
    from bot.channels.hotline import build_intake
    from juhaoban.evaluate import local_parser
    from juhaoban.serve import prepare
    from juhaoban.training import ensure_model
    from workflow.settings import Settings

    settings = Settings.from_env()
    with contextlib.redirect_stdout(sys.stderr):  # stdout is the summary's
        prepare(settings)
        intake = build_intake(settings)

    async def main() -> ImportSummary:
        parse = await local_parser(model or ensure_model())
        with tqdm(total=len(lines), file=sys.stderr, unit="line", desc="import-calls") as bar:
            return await import_calls(lines, intake, parse, progress=bar)

    summary = asyncio.run(main())
    print(summary.format())
    return 0 if summary.ok else 1
