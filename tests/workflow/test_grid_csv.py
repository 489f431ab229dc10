"""The grid register CSV: per-row validation with line numbers, encodings Excel writes, round trip, idempotency."""

from __future__ import annotations

import codecs

import pytest
from sqlalchemy import func, select

from workflow.accounts import AccountService
from workflow.grid_csv import COLUMNS, GridCsvError, decode_csv, export_grid_csv, import_grid_csv
from workflow.grid_sample import generate_sample
from workflow.models import Grid, Household, Resident

HEADER = ",".join(header for _, header in COLUMNS)
PASSWORD = "Julu2026console"


def _row(**values: str) -> str:
    defaults = dict(township="巨鹿镇", village="东关村", village_code="julu_dongguan", grid_code="DG-01",
                    grid_name="第一网格", grid_kind="城镇", worker="", household_code="DG-01-001",
                    head_name="王建国", address="东关村1排1号", member_count="3", has_elderly="是",
                    has_disabled="否", has_members_away="否", name="王建国", role="户主", phone="13812345678",
                    id_card_last4="123X")
    defaults.update(values)
    return ",".join(defaults[key] for key, _ in COLUMNS)


GOOD = [
    _row(),
    _row(name="李秀英", role="配偶", phone="０３１９－５１２３４５６", id_card_last4=""),
    _row(name="王浩然", role="儿子", phone="", id_card_last4="0012"),
    _row(household_code="DG-01-002", head_name="赵敏", address="东关村1排2号", member_count="1",
         has_elderly="", name="", role="", phone="", id_card_last4=""),
    _row(grid_code="DG-02", grid_name="第二网格", household_code="", head_name="", address="", member_count="",
         has_elderly="", has_disabled="", has_members_away="", name="", role="", phone="", id_card_last4=""),
    _row(township="王虎寨镇", village="前营村", village_code="", grid_code="QY-01", grid_kind="农村",
         household_code="QY-01-001", head_name="孙强", address="前营村3排3号", member_count="2", name="孙强",
         phone="+86 139 0000 1111"),
]


def _csv(rows: list[str], header: str = HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


def _import(session_factory, text: str | bytes, *, encoding: str = "utf-8-sig", dry_run: bool = False):
    data = text.encode(encoding) if isinstance(text, str) else text
    with session_factory.begin() as session:
        return import_grid_csv(session, data, dry_run=dry_run)


def _counts(session_factory) -> tuple[int, int, int]:
    with session_factory() as session:
        return tuple(session.execute(select(func.count()).select_from(model)).scalar_one()
                     for model in (Grid, Household, Resident))


def test_a_good_file_imports_every_level(session_factory):
    report = _import(session_factory, _csv(GOOD))
    assert report.errors == [], [e.format() for e in report.errors]
    assert (report.rows, report.imported) == (6, 6)
    assert (report.grids.created, report.households.created, report.residents.created) == (3, 3, 4)
    with session_factory() as session:
        grid = session.get(Grid, "DG-01")
        assert (grid.village_code, grid.kind, grid.is_sample, grid.worker_account_id) == (
            "julu_dongguan", "urban", False, None)
        assert session.get(Grid, "QY-01").village_code == "wanghuzhai_qianying"  # 前营村 settled by 乡镇
        household = session.execute(select(Household).where(Household.code == "DG-01-001")).scalar_one()
        assert (household.head_name, household.member_count, household.has_elderly, household.has_disabled) == (
            "王建国", 3, True, False)
        people = {r.name: r for r in household.residents}
        assert people["王建国"].phone == "13812345678" and people["王建国"].id_card_last4 == "123X"
        assert people["李秀英"].phone == "0319-5123456" and people["李秀英"].role == "spouse"
        assert people["王浩然"].role == "child" and people["王浩然"].id_card_last4 == "0012"
        assert session.execute(select(Resident).where(Resident.name == "孙强")).scalar_one().phone == "13900001111"


def test_bad_rows_are_reported_by_line_and_the_rest_imports(session_factory):
    rows = [
        GOOD[0],                                                    # line 2
        _row(name="李秀英", role="配偶", phone="12345"),              # 3: bad phone
        _row(village_code="no_such_village", village=""),          # 4: unknown village
        _row(household_code="DG-01-009", member_count="21"),        # 5: too many members
        _row(household_code="DG-01-010", member_count="0"),         # 6: too few
        _row(),                                                     # 7: the same person again
        _row(grid_kind="郊区", household_code="DG-01-011"),          # 8: bad kind
        _row(grid_name="另一个名字", name="王二"),                      # 9: disagrees with line 2's grid
        _row(address="别处", name="王三"),                             # 10: disagrees with line 2's household
        _row(name="王四", role="老板"),                                # 11: bad role
        _row(name="王五", id_card_last4="130529199001011234"),        # 12: full ID: warning, last 4 kept
        _row(name="王六", id_card_last4="12"),                        # 13: Excel dropped zeros
        _row(household_code="1.30529E+14"),                         # 14: scientific notation
        _row(village="西关村"),                                        # 15: name and code disagree
        _row(township="官亭镇"),                                       # 16: village not in that township
        _row(village="前营村", village_code="", township=""),          # 17: ambiguous name
        _row(household_code="", name="游离"),                          # 18: person without household
        _row(head_name=""),                                          # 19: required
        _row(grid_code="DG-03", grid_name="第一网格", household_code="DG-03-001", name="钱七"),  # 20: name taken
        "",                                                          # 21: blank, skipped
        _row(name="李秀英", role="配偶", phone=""),                     # 22: good again
    ]
    report = _import(session_factory, _csv(rows))
    errors = {issue.line: issue for issue in report.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20]
    assert errors[3].column == "联系电话" and "12345" in errors[3].message
    assert errors[4].column == "村/社区编码"
    assert "1–20" in errors[5].message and errors[5].column == "户人数"
    assert "第 2 行" in errors[7].message
    assert "第 2 行" in errors[9].message and errors[9].column == "网格名称"
    assert "第 2 行" in errors[10].message and errors[10].column == "住址"
    assert "Excel" in errors[13].message and "Excel" in errors[14].message
    assert errors[20].column == "网格名称"
    assert errors[3].format().startswith("第 3 行 [联系电话]：")
    assert [w.line for w in report.warnings if w.column == "身份证后四位"] == [12]
    assert "130529199001011234" not in " ".join(w.message for w in report.warnings + report.errors)
    assert (report.rows, report.imported) == (20, 3)
    with session_factory() as session:
        names = set(session.execute(select(Resident.name)).scalars())
        assert names == {"王建国", "王五", "李秀英"}
        assert session.execute(select(Resident.id_card_last4).where(Resident.name == "王五")).scalar_one() == "1234"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
def test_it_reads_utf8_with_or_without_bom_and_gbk(session_factory, encoding):
    report = _import(session_factory, _csv(GOOD), encoding=encoding)
    assert report.errors == [] and report.residents.created == 4
    assert report.encoding == {"gb18030": "gbk"}.get(encoding, encoding)
    with session_factory() as session:
        assert session.execute(select(Household.head_name).where(Household.code == "DG-01-001")).scalar_one() == "王建国"


def test_it_refuses_files_it_cannot_read_as_a_whole(session_factory):
    with pytest.raises(GridCsvError, match="UTF-16"):
        decode_csv(codecs.BOM_UTF16_LE + _csv(GOOD).encode("utf-16-le"))
    with pytest.raises(GridCsvError, match="表头缺少"):
        _import(session_factory, _csv(GOOD, header=HEADER.replace("网格类型", "类型")))
    with pytest.raises(GridCsvError, match="空"):
        _import(session_factory, b"")
    with pytest.raises(GridCsvError, match="既不是 UTF-8 也不是 GBK（第 2 行）"):
        decode_csv(HEADER.encode("gbk") + b"\r\n\x81\x20")


def test_headers_may_be_codes_in_any_order_and_extra_columns_are_ignored(session_factory):
    keys = [key for key, _ in COLUMNS]
    header = ",".join(["备注", *reversed(keys)])
    rows = [",".join(["随便写", *reversed(_row().split(","))])]
    report = _import(session_factory, _csv(rows, header=header))
    assert report.errors == [] and report.residents.created == 1
    assert [(w.line, "备注" in w.message) for w in report.warnings] == [(1, True)]


def test_a_tab_separated_file_is_read_too(session_factory):
    text = _csv([r.replace(",", "\t") for r in GOOD], header=HEADER.replace(",", "\t"))
    assert _import(session_factory, text).residents.created == 4


def test_reimporting_changes_nothing_and_updates_go_by_code(session_factory):
    _import(session_factory, _csv(GOOD))
    again = _import(session_factory, _csv(GOOD))
    assert again.errors == [] and not again.changed
    assert (again.grids.unchanged, again.households.unchanged, again.residents.unchanged) == (3, 3, 4)
    changed = [_row(member_count="4", address="东关村2排1号"), *[r.replace("东关村1排1号", "东关村2排1号").replace(
        ",3,是", ",4,是") for r in GOOD[1:3]]]
    report = _import(session_factory, _csv(changed))
    assert report.errors == [], [e.format() for e in report.errors]
    assert (report.households.updated, report.residents.unchanged) == (1, 3)
    assert _counts(session_factory) == (3, 3, 4)
    with session_factory() as session:
        household = session.execute(select(Household).where(Household.code == "DG-01-001")).scalar_one()
        assert (household.member_count, household.address) == (4, "东关村2排1号")


def test_an_absent_optional_column_leaves_the_field_alone(session_factory):
    _import(session_factory, _csv(GOOD))
    keep = [key for key, _ in COLUMNS if key not in ("phone", "id_card_last4", "has_elderly")]
    header = ",".join(h for k, h in COLUMNS if k in keep)
    index = [i for i, (k, _) in enumerate(COLUMNS) if k in keep]
    rows = [",".join(GOOD[0].split(",")[i] for i in index)]
    report = _import(session_factory, _csv(rows, header=header))
    assert report.errors == [] and not report.changed
    with session_factory() as session:
        resident = session.execute(select(Resident).where(Resident.name == "王建国")).scalar_one()
        assert (resident.phone, resident.id_card_last4, resident.household.has_elderly) == ("13812345678", "123X", True)


def test_a_dry_run_reports_and_writes_nothing(session_factory):
    report = _import(session_factory, _csv(GOOD), dry_run=True)
    assert report.dry_run and report.residents.created == 4 and "试运行" in report.summary()
    assert _counts(session_factory) == (0, 0, 0)


def test_export_then_import_round_trips(session_factory):
    AccountService(session_factory).create("wanggw", PASSWORD, role="grid_worker", display_name="网格员王",
                                           village_code="julu_dongguan")
    rows = [r.replace(",城镇,,", ",城镇,WangGW,") if "DG-01," in r else r for r in GOOD]
    assert _import(session_factory, _csv(rows)).errors == []
    with session_factory() as session:
        exported = export_grid_csv(session)
        assert session.get(Grid, "DG-01").worker.username == "wanggw"
    assert exported.startswith(codecs.BOM_UTF8)
    text = exported.decode("utf-8-sig")
    assert text.splitlines()[0] == HEADER and "王建国" in text and "0319-5123456" in text and ",wanggw," in text
    again = _import(session_factory, exported)
    assert again.errors == [] and not again.changed and again.rows == 6
    # GB 18030 export reads back as GBK.
    with session_factory() as session:
        gbk = export_grid_csv(session, encoding="gb18030")
    assert not gbk.startswith(codecs.BOM_UTF8) and gbk.decode("gb18030") == text
    report = _import(session_factory, gbk)
    assert report.encoding == "gbk" and not report.changed
    # Into a fresh register the export recreates the same thing.
    with session_factory.begin() as session:
        for model in (Resident, Household, Grid):
            for row in session.execute(select(model)).scalars():
                session.delete(row)
    assert _counts(session_factory) == (0, 0, 0)
    restored = _import(session_factory, exported)
    assert restored.errors == []
    with session_factory() as session:
        assert export_grid_csv(session) == exported


def test_a_worker_must_be_a_grid_worker_of_the_village(session_factory):
    service = AccountService(session_factory)
    service.create("ligw", PASSWORD, role="grid_worker", display_name="网格员李", village_code="julu_xiguan")
    service.create("disp", PASSWORD, role="dispatcher", display_name="调度员")
    rows = [_row(worker="ligw"), _row(grid_code="DG-02", grid_name="第二网格", worker="disp",
                                      household_code="DG-02-001"), _row(grid_code="DG-03", grid_name="第三网格",
                                                                         worker="nobody", household_code="DG-03-1")]
    report = _import(session_factory, _csv(rows))
    assert [(e.line, e.column) for e in report.errors] == [(2, "网格员账号"), (3, "网格员账号"), (4, "网格员账号")]
    assert "别的村" in report.errors[0].message and "不是网格员" in report.errors[1].message
    assert "不存在" in report.errors[2].message


def test_oversized_grids_and_households_are_warnings_not_errors(session_factory):
    rows = [_row(grid_kind="农村", household_code=f"DG-01-{n:03d}", name="", role="", phone="", id_card_last4="",
                 address=f"东关村{n}号") for n in range(61)]
    rows.append(_row(grid_kind="农村", household_code="DG-01-999", member_count="1", name="王建国"))
    rows.append(_row(grid_kind="农村", household_code="DG-01-999", member_count="1", name="王二", role="子女",
                     phone=""))
    report = _import(session_factory, _csv(rows))
    assert report.errors == []
    assert report.households.created == 62
    size = [w for w in report.warnings if w.column == "网格编码"]
    assert len(size) == 1 and size[0].line == 2 and "62 户" in size[0].message and "50–60" in size[0].message
    members = [w for w in report.warnings if w.column == "户人数"]
    assert [w.line for w in members] == [63] and "2 人" in members[0].message


def test_real_rows_never_go_into_sample_villages_or_onto_sample_codes(session_factory):
    with session_factory.begin() as session:
        generate_sample(session, seed=1, townships=["julu_zhen"])
    with session_factory() as session:
        sample_grid = session.execute(select(Grid).where(Grid.village_code == "julu_xiguan")).scalars().first()
        sample_code = sample_grid.code
    rows = [_row(), _row(village="西关村", village_code="julu_xiguan", grid_code="XG-01", household_code="XG-1")]
    report = _import(session_factory, _csv(rows))
    assert [e.line for e in report.errors] == [2, 3] and "示例" in report.errors[0].message
    with session_factory() as session:
        assert session.get(Grid, sample_code).is_sample
        assert session.execute(select(func.count()).select_from(Grid).where(Grid.is_sample.is_(False))).scalar_one() == 0
        assert sample_code.startswith("S-") and export_grid_csv(session).decode("utf-8-sig").strip() == HEADER
