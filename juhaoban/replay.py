"""``juhaoban replay FILE.csv``: drive real messages through the bot's REST channel as cooperative residents.

Each row's ``text`` is sent by a new sender (``replay-<run>-<row>``). The simulated resident answers what the bot
asks the way a cooperative resident would: a township when asked where (the county's townships in turn), "不留"
when asked for a phone number, "对" when asked to confirm, "1" when offered a list. The conversation ends when the
bot replies with a case number, or fails after ``max_turns`` messages. One line per row is printed:
``text → category → unit → case id`` (or the failure).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from juhaoban.evaluate import read_rows

TOWNSHIPS = ("巨鹿镇", "王虎寨镇", "西郭城镇", "官亭镇", "阎疃镇", "小吕寨镇", "苏营镇", "堤村乡", "张王疃乡", "观寨乡")
_CASE_ID = re.compile(r"JL\d{8}-\d{4}")
_CATEGORY = re.compile(r"类别：([^\n（(]+)")
_UNIT = re.compile(r"由(.+?)负责办理")


@dataclass
class ReplayResult:
    """Outcome of one row: the case filed, or the reason there is none."""

    row: int
    text: str
    case_id: Optional[str] = None
    category: Optional[str] = None
    unit: Optional[str] = None
    error: Optional[str] = None
    turns: int = 0

    def line(self) -> str:
        """``text → category → unit → case id`` for the console."""
        snippet = self.text.replace("\n", " ")[:30]
        if self.error:
            return f"{self.row:>5} {snippet} → FAILED: {self.error}"
        return f"{self.row:>5} {snippet} → {self.category} → {self.unit} → {self.case_id}"


def answer(bot_text: str, row: int) -> Optional[str]:
    """What a cooperative resident says to the bot's last message, or None when the bot asked nothing."""
    if "哪个乡镇" in bot_text or "没找到" in bot_text:
        return TOWNSHIPS[row % len(TOWNSHIPS)]
    if "联系电话" in bot_text or "号码好像不对" in bot_text:
        return "不留"
    if "请回复序号" in bot_text:
        return "1"
    if "回复“对”" in bot_text or "回复“确认”" in bot_text:
        return "对"
    return None


async def replay_one(session, url: str, run: str, row: int, text: str, max_turns: int = 8) -> ReplayResult:
    """Plays one resident's conversation; never raises (failures are in the result)."""
    result = ReplayResult(row=row, text=text)
    sender = f"replay-{run}-{row}"
    message: Optional[str] = text
    try:
        while message is not None and result.turns < max_turns:
            result.turns += 1
            async with session.post(url, json={"sender": sender, "message": message}) as response:
                if response.status != 200:
                    result.error = f"HTTP {response.status}"
                    return result
                replies = await response.json()
            bot_text = "\n".join(r.get("text") or "" for r in replies)
            category = _CATEGORY.search(bot_text)
            if category:
                result.category = category.group(1).strip()
            case_id = _CASE_ID.search(bot_text)
            if case_id and "已为您登记" in bot_text:
                result.case_id = case_id.group(0)
                unit = _UNIT.search(bot_text)
                result.unit = unit.group(1) if unit else None
                return result
            message = answer(bot_text, row)
            if message is None:
                result.error = f"bot asked nothing it could answer: {bot_text[:60]!r}"
                return result
        result.error = f"no case after {result.turns} messages"
    except Exception as error:  # network errors become the row's failure; the run goes on
        result.error = f"{type(error).__name__}: {error}"
    return result


async def replay(path: Path, url: str, *, concurrency: int = 4, limit: Optional[int] = None,
                 printer=print) -> List[ReplayResult]:
    """Replays every row (or the first ``limit``) of ``path`` against the REST webhook ``url``."""
    import aiohttp

    rows = read_rows(path) if _has_label(path) else _read_texts(path)
    if limit:
        rows = rows[:limit]
    run = uuid.uuid4().hex[:8]
    semaphore = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(index: int, text: str) -> ReplayResult:
            async with semaphore:
                result = await replay_one(session, url, run, index, text)
            printer(result.line())
            return result

        return list(await asyncio.gather(*(one(i, text) for i, (text, *_rest) in enumerate(rows))))


def summary(results: Sequence[ReplayResult], seconds: float) -> str:
    """Counts of cases filed and failures, and the time taken."""
    failed = [r for r in results if r.error]
    return (f"rows: {len(results)}  cases filed: {len(results) - len(failed)}  failures: {len(failed)}  "
            f"time: {seconds:.0f} s")


def _has_label(path: Path) -> bool:
    with path.open(encoding="utf-8-sig") as handle:
        return "label" in handle.readline()


def _read_texts(path: Path) -> List[tuple]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [(row["text"],) for row in csv.DictReader(handle)]


def run(path: Path, url: str, concurrency: int = 4, limit: Optional[int] = None) -> int:
    """Runs the replay and prints the summary; returns 0 when every row filed a case, else 1."""
    started = time.monotonic()
    results = asyncio.run(replay(path, url, concurrency=concurrency, limit=limit))
    print(summary(results, time.monotonic() - started))
    return 0 if all(r.case_id for r in results) else 1
