"""``juhaoban import-calls``: a day's calls filed through the hotline intake; bad lines reported, never stopping the rest.

The NLU is the keyword stand-in of tests/fixtures/hotline (the command's model loading is replaced by it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.channels.hotline import HotlineIntake
from bot.transcripts import PlaceCorrector
from juhaoban.cli import main
from juhaoban.import_calls import ImportSummary, import_calls
from workflow.gazetteer import Gazetteer
from workflow.hotline import HotlineDesk
from workflow.models import Case, HotlineCall

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "hotline"))
from hotline_fixtures import CALLS_FILE, keyword_parse, load_calls  # noqa: E402

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
#: Cases the stand-in NLU files for the fixture calls (expected.json: 13 matters).
FIXTURE_CASES = 13


@pytest.fixture
def intake(session_factory, case_service, lifecycle) -> HotlineIntake:
    return HotlineIntake(HotlineDesk(session_factory, case_service, lifecycle),
                         PlaceCorrector(Gazetteer.load(DATA_DIR)))


def day_with_bad_lines() -> list[str]:
    calls = [json.dumps(c, ensure_ascii=False) for c in load_calls()]
    no_turns = {k: v for k, v in load_calls()[0].items() if k != "turns"} | {"call_id": "HL-BAD-1"}
    naive = load_calls()[1] | {"call_id": "HL-BAD-2", "started_at": "2026-11-30 09:02:44"}
    return [
        calls[0],
        '{"call_id": "HL-BAD-0", "caller": ',  # cut off
        json.dumps(no_turns, ensure_ascii=False),
        "",
        *calls[1:],
        json.dumps(naive, ensure_ascii=False),
        calls[0],  # the first call again: a duplicate
    ]


async def test_it_imports_a_day_and_reports_every_bad_line_by_number(intake, session_factory):
    summary = await import_calls(day_with_bad_lines(), intake, keyword_parse)
    assert (summary.lines, summary.filed, summary.duplicates, summary.cases) == (15, 11, 1, FIXTURE_CASES)
    assert [number for number, _ in summary.failures] == [2, 3, 15]
    reasons = dict(summary.failures)
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3].startswith("turns must be")  # the reason names the field
    assert reasons[15].startswith("started_at needs a UTC offset")
    assert not summary.ok
    with session_factory() as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar_one() == FIXTURE_CASES
        assert session.execute(select(func.count()).select_from(HotlineCall)).scalar_one() == 11


async def test_importing_the_same_day_again_files_nothing(intake):
    lines = CALLS_FILE.read_text("utf-8").splitlines()
    await import_calls(lines, intake, keyword_parse)
    again = await import_calls(lines, intake, keyword_parse)
    assert (again.filed, again.duplicates, again.cases, again.ok) == (0, 11, 0, True)


async def test_a_failure_inside_one_call_does_not_stop_the_next(intake):
    calls = 0

    async def flaky(text):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("model server gone")
        return await keyword_parse(text)

    lines = [json.dumps(c, ensure_ascii=False) for c in load_calls()[:2]]
    summary = await import_calls(lines, intake, flaky)
    assert summary.failures == [(1, "ConnectionError: model server gone")]
    assert summary.filed == 1


def test_the_summary_reads_plainly():
    summary = ImportSummary(lines=3, filed=1, duplicates=1, cases=2, failures=[(2, "invalid JSON: x (column 5)")])
    assert summary.format() == ("calls: 3  filed: 1  duplicates: 1  failed: 1\ncases filed: 2\nfailures:\n"
                                "  line 2: invalid JSON: x (column 5)")


@pytest.fixture
def command_env(database_url, session_factory, monkeypatch):
    """The command over the test database, with the stand-in NLU instead of loading a model."""
    import juhaoban.evaluate

    async def stand_in(model_path):
        assert model_path == Path("models/chosen.tar.gz")
        return keyword_parse

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(juhaoban.evaluate, "local_parser", stand_in)


def test_the_command_exits_1_when_a_line_failed_and_prints_the_summary(command_env, tmp_path, capsys):
    day = tmp_path / "calls-20261130.jsonl"
    day.write_text("\n".join(day_with_bad_lines()) + "\n", encoding="utf-8")
    assert main(["import-calls", str(day), "--model", "models/chosen.tar.gz"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[:2] == ["calls: 15  filed: 11  duplicates: 1  failed: 3", f"cases filed: {FIXTURE_CASES}"]
    assert "  line 2: invalid JSON" in out
    assert "import-calls" in err  # the progress bar


def test_the_command_exits_0_when_every_line_was_handled(command_env, tmp_path, capsys):
    day = tmp_path / "calls.jsonl"
    day.write_text(CALLS_FILE.read_text("utf-8"), encoding="utf-8")
    assert main(["import-calls", str(day), "--model", "models/chosen.tar.gz"]) == 0
    assert main(["import-calls", str(day), "--model", "models/chosen.tar.gz"]) == 0  # all duplicates now
    assert "duplicates: 11" in capsys.readouterr().out


def test_the_command_exits_2_for_a_file_it_cannot_read(tmp_path, capsys):
    assert main(["import-calls", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
