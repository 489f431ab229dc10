"""``juhaoban grids import|export|sample``: summaries, per-line errors, exit statuses."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from juhaoban.cli import main
from workflow.grid_csv import COLUMNS
from workflow.models import Grid, Resident

HEADER = ",".join(header for _, header in COLUMNS)
GOOD = "巨鹿镇,东关村,julu_dongguan,DG-01,第一网格,城镇,,DG-01-001,王建国,东关村1排1号,2,是,否,否,王建国,户主,13812345678,123X"
BAD_PHONE = GOOD.replace("王建国,户主,13812345678", "李秀英,配偶,12345")


@pytest.fixture
def cli(monkeypatch, session_factory, database_url, capsys):
    """``cli(*argv)`` → (exit status, stdout, stderr) of ``juhaoban grids`` on the migrated test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            status = main(["grids", *argv])
        except SystemExit as exit_:  # argparse
            status = exit_.code
        out, err = capsys.readouterr()
        return status, out, err

    return run


def _count(session_factory, model) -> int:
    with session_factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_import_prints_a_summary_and_each_bad_line(cli, session_factory, tmp_path):
    path = tmp_path / "台账.csv"
    path.write_bytes(f"{HEADER}\r\n{GOOD}\r\n{BAD_PHONE}\r\n".encode("gbk"))
    status, out, err = cli("import", str(path), "--dry-run")
    assert status == 2 and "试运行" in out and "第 3 行 [联系电话]" in err
    assert _count(session_factory, Resident) == 0
    status, out, err = cli("import", str(path))
    assert status == 2, err
    assert "共 2 行，导入 1 行，出错 1 行" in out and "居民新增 1" in out and "编码 gbk" in out
    assert err.strip().splitlines() == ["错误 第 3 行 [联系电话]：“12345”不是手机号或固定电话"]
    assert _count(session_factory, Resident) == 1
    path.write_bytes(f"{HEADER}\r\n{GOOD}\r\n".encode("utf-8-sig"))
    status, out, err = cli("import", str(path))
    assert (status, err) == (0, "") and "居民新增 0、更新 0、未变 1" in out


def test_export_writes_what_import_reads(cli, session_factory, tmp_path):
    source, exported = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(f"{HEADER}\n{GOOD}\n", encoding="utf-8")
    assert cli("import", str(source))[0] == 0
    status, out, _ = cli("export", str(exported))
    assert status == 0 and "exported 1 row(s)" in out
    assert exported.read_bytes().decode("utf-8-sig").splitlines() == [HEADER, GOOD]
    status, out, _ = cli("import", str(exported))
    assert status == 0 and "网格新增 0、更新 0、未变 1" in out
    status, _, _ = cli("export", str(exported), "--encoding", "gb18030")
    assert status == 0 and exported.read_bytes().decode("gb18030").splitlines()[1] == GOOD


def test_bad_files_are_one_line_and_status_2(cli, tmp_path):
    status, _, err = cli("import", str(tmp_path / "missing.csv"))
    assert status == 2 and "cannot read" in err
    headless = tmp_path / "headless.csv"
    headless.write_text("姓名,电话\n王建国,13812345678\n", encoding="utf-8")
    status, _, err = cli("import", str(headless))
    assert status == 2 and "表头缺少必需的列" in err and len(err.strip().splitlines()) == 1
    status, _, err = cli("export", str(tmp_path / "no" / "such" / "dir.csv"))
    assert status == 2 and "cannot write" in err


def test_sample_generates_skips_and_removes(cli, session_factory):
    status, out, _ = cli("sample", "--seed", "4", "--township", "guanzhai_xiang")
    assert status == 0 and "示例数据（种子 4）" in out
    grids = _count(session_factory, Grid)
    assert grids > 0
    status, out, _ = cli("sample", "--seed", "4", "--township", "guanzhai_xiang")
    assert status == 0 and "already has sample data" in out and "0 个网格" in out
    assert _count(session_factory, Grid) == grids
    status, out, _ = cli("sample", "--remove")
    assert status == 0 and f"removed {grids} sample grid(s)" in out
    assert _count(session_factory, Grid) == 0


def test_an_unmigrated_database_is_status_1(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["grids", "sample"]) == 1
    assert "juhaoban migrate" in capsys.readouterr().err
