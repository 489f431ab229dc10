"""Reference data: validation of the YAML files, idempotent loading, generated units, NLU lookup export."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from workflow.exceptions import ReferenceDataError
from workflow.migrate import upgrade
from workflow.models import Category, Township, Unit, Village
from workflow.reference import (
    DISPATCH_CENTER_CODE,
    JIEBA_USERDICT_FILE,
    PLACES_LOOKUP_FILE,
    RESPONSIBILITY_FILE,
    ReferenceData,
    export_nlu_lookups,
    load_reference,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
GAZETTEER = DATA_DIR / "reference" / "gazetteer.yml"
RESPONSIBILITY = DATA_DIR / RESPONSIBILITY_FILE
PILOT_TOWNSHIPS = ["巨鹿镇", "王虎寨镇", "西郭城镇", "官亭镇", "阎疃镇", "小吕寨镇", "苏营镇", "堤村乡", "张王疃乡", "观寨乡"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A writable copy of ``data/reference`` for tests that break it."""
    shutil.copytree(DATA_DIR / "reference", tmp_path / "reference")
    return tmp_path


def _edit(path: Path, change) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _edit_list(data_dir: Path, change) -> None:
    _edit(data_dir / RESPONSIBILITY_FILE, change)


def _edit_gazetteer(data_dir: Path, change) -> None:
    _edit(data_dir / "reference" / "gazetteer.yml", change)


def _yaml_counts() -> tuple[int, int]:
    document = yaml.safe_load(GAZETTEER.read_text(encoding="utf-8"))
    listed_units = yaml.safe_load(RESPONSIBILITY.read_text(encoding="utf-8"))["units"]
    return sum(len(t["villages"]) for t in document["townships"]), len(listed_units)


# ---------------------------------------------------------------------- the checked-in data
def test_it_lists_the_ten_real_townships_and_sample_villages():
    data = ReferenceData.load(DATA_DIR)
    assert [t.name for t in data.gazetteer.townships] == PILOT_TOWNSHIPS
    for township in data.gazetteer.townships:
        villages = data.gazetteer.villages_of(township.code)
        assert 8 <= len(villages) <= 15, township.name
        assert all(v.is_sample for v in villages)
        assert all(v.aliases for v in villages)
    assert "sample data" in GAZETTEER.read_text(encoding="utf-8").lower()


def test_it_generates_township_units_and_the_dispatch_centre():
    data = ReferenceData.load(DATA_DIR)
    gov, zongzhi = data.units["wanghuzhai_zhen_gov"], data.units["wanghuzhai_zhen_zongzhi"]
    assert (gov.name, gov.level, gov.township_code) == ("王虎寨镇人民政府", "township", "wanghuzhai_zhen")
    assert (zongzhi.name, zongzhi.level) == ("王虎寨镇综治中心", "township")
    assert data.units[DISPATCH_CENTER_CODE].name == "县社会治理综合服务中心(调度)"
    assert data.units["state_grid_julu"].level == "enterprise"
    assert data.units["county_ecology"].level == "county"
    assert len(data.categories) == 28


# ---------------------------------------------------------------------- loading into the database
def test_it_loads_every_row(database_url, engine, session_factory):
    villages, listed_units = _yaml_counts()
    with session_factory() as session:
        assert len(session.execute(select(Township)).scalars().all()) == 10
        assert len(session.execute(select(Village)).scalars().all()) == villages
        assert len(session.execute(select(Category)).scalars().all()) == 28
        units = session.execute(select(Unit)).scalars().all()
        assert len(units) == listed_units + 2 * 10 + 1
        category = session.get(Category, "public_security")
        assert (category.lead_unit_code, category.cooperating, category.position) == (
            "county_public_security",
            ["@township_zongzhi"],
            9,
        )


def test_it_changes_nothing_when_run_twice(session_factory):
    def snapshot():
        with session_factory() as session:
            return {
                model.__tablename__: sorted(
                    repr({column.key: getattr(row, column.key) for column in model.__table__.columns})
                    for row in session.execute(select(model)).scalars()
                )
                for model in (Township, Village, Unit, Category)
            }

    before = snapshot()
    with session_factory.begin() as session:
        stats = load_reference(session, DATA_DIR)
    assert not stats.changed
    assert stats.units.unchanged == len(ReferenceData.load(DATA_DIR).units)
    assert snapshot() == before


def test_it_updates_changed_rows_and_deactivates_removed_units(session_factory, data_dir):
    def change(document):
        document["units"] = [u for u in document["units"] if u["code"] != "county_petitions"]
        for category in document["categories"]:
            if category["code"] == "dispute_mediation":
                category["cooperating"] = ["@township_zongzhi"]
        document["units"][0]["name"] = "县生态环境分局(改)"

    _edit_list(data_dir, change)
    with session_factory.begin() as session:
        stats = load_reference(session, data_dir)
    assert (stats.units.updated, stats.units.deactivated, stats.units.inserted) == (1, 1, 0)
    assert stats.categories.updated == 1
    with session_factory() as session:
        assert session.get(Unit, "county_ecology").name == "县生态环境分局(改)"
        assert session.get(Unit, "county_petitions").active is False
        assert session.get(Category, "dispute_mediation").cooperating == ["@township_zongzhi"]


def test_it_reports_stale_villages_without_deleting_them(session_factory, data_dir):
    _edit_gazetteer(data_dir, lambda d: d["townships"][0]["villages"].pop())
    with session_factory.begin() as session:
        stats = load_reference(session, data_dir)
    assert stats.villages.stale == ("julu_hanzhuang",)
    with session_factory() as session:
        assert session.get(Village, "julu_hanzhuang") is not None


def test_it_writes_nothing_when_the_data_is_invalid(database_url, engine, data_dir):
    from workflow.db import make_session_factory

    upgrade(database_url)
    _edit_list(data_dir, lambda d: d["categories"].pop())
    factory = make_session_factory(engine)
    with pytest.raises(ReferenceDataError):
        with factory.begin() as session:
            load_reference(session, data_dir)
    with factory() as session:
        assert session.execute(select(Township)).scalars().all() == []


# ---------------------------------------------------------------------- validation
def _set_lead(code: str, lead: str):
    def change(document):
        for category in document["categories"]:
            if category["code"] == code:
                category["lead"] = lead

    return change


def _duplicate_first_unit(document):
    document["units"].append(dict(document["units"][0]))


def _drop_name(document):
    del document["categories"][3]["name"]


def _add_category(document):
    document["categories"].append(dict(document["categories"][0], code="extra", name="额外"))


def _reserved_unit(document):
    document["units"].append({"code": "julu_zhen_gov", "name": "冒名"})


def _bad_level(document):
    document["units"][0]["level"] = "township"


INVALID_LISTS = [
    (_set_lead("agriculture", "county_farming"), "categories[4] (agriculture)", "unknown unit code 'county_farming'"),
    (_set_lead("agriculture", "@village"), "categories[4] (agriculture)", "unknown unit placeholder"),
    (_duplicate_first_unit, "(county_ecology)", "duplicate unit code"),
    (_drop_name, "categories[3] (natural_resources)", "missing or empty field 'name'"),
    (lambda d: d["categories"].pop(), "categories", "expected 28 categories, found 27"),
    (_add_category, "categories", "expected 28 categories, found 29"),
    (_reserved_unit, "julu_zhen_gov", "reserved for a generated unit"),
    (_bad_level, "(county_ecology)", "'level' must be one of"),
]


@pytest.mark.parametrize("change,entry,message", INVALID_LISTS)
def test_it_names_the_file_and_entry_of_an_invalid_responsibility_list(data_dir, change, entry, message):
    _edit_list(data_dir, change)
    with pytest.raises(ReferenceDataError) as raised:
        ReferenceData.load(data_dir)
    error = raised.value
    assert error.context["file"] == str(data_dir / RESPONSIBILITY_FILE)
    assert entry in error.context["entry"]
    assert message in str(error)


def _alias_clash(document):
    document["townships"][1]["villages"][0]["aliases"] = ["官亭"]


def _duplicate_township(document):
    document["townships"].append(dict(document["townships"][0], villages=[]))


def _bad_kind(document):
    document["townships"][2]["kind"] = "街道"


def _sample_not_bool(document):
    document["townships"][0]["villages"][0]["sample"] = "yes"


INVALID_GAZETTEERS = [
    (_alias_clash, "village wanghuzhai_xiaohanzhai", "also a township or county name"),
    (_duplicate_township, "township julu_zhen", "duplicate township code"),
    (_bad_kind, "townships[2] (xiguocheng_zhen)", "'kind' must be one of"),
    (_sample_not_bool, "julu_dongguan", "'sample' must be true or false"),
]


@pytest.mark.parametrize("change,entry,message", INVALID_GAZETTEERS)
def test_it_names_the_file_and_entry_of_an_invalid_gazetteer(data_dir, change, entry, message):
    _edit_gazetteer(data_dir, change)
    with pytest.raises(ReferenceDataError) as raised:
        ReferenceData.load(data_dir)
    assert raised.value.context["file"] == str(data_dir / "reference" / "gazetteer.yml")
    assert entry in raised.value.context["entry"]
    assert message in str(raised.value)


def test_it_reports_invalid_yaml_and_missing_files(data_dir):
    (data_dir / RESPONSIBILITY_FILE).write_text("units: [unclosed", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="invalid YAML"):
        ReferenceData.load(data_dir)
    (data_dir / RESPONSIBILITY_FILE).unlink()
    with pytest.raises(ReferenceDataError, match="file not found"):
        ReferenceData.load(data_dir)


# ---------------------------------------------------------------------- NLU export
def test_the_checked_in_lookup_files_are_up_to_date(tmp_path):
    written = export_nlu_lookups(DATA_DIR, out_dir=tmp_path)
    assert [p.relative_to(tmp_path) for p in written] == [PLACES_LOOKUP_FILE, JIEBA_USERDICT_FILE]
    for path in written:
        checked_in = DATA_DIR / path.relative_to(tmp_path)
        assert checked_in.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{checked_in} is out of date: run workflow.reference.export_nlu_lookups(Path('data'))"
        )


def test_it_exports_rasa_lookup_tables_with_names_aliases_and_stems(tmp_path):
    export_nlu_lookups(DATA_DIR, out_dir=tmp_path)
    document = yaml.safe_load((tmp_path / PLACES_LOOKUP_FILE).read_text(encoding="utf-8"))
    assert document["version"] == "3.1"
    tables = {t["lookup"]: [line[2:] for line in t["examples"].splitlines()] for t in document["nlu"]}
    assert set(tables) == {"township", "village"}
    assert {"王虎寨镇", "王虎寨", "王虎寨乡", "巨鹿县城", "张王疃"} <= set(tables["township"])
    assert {"东关村", "东关", "后彭村", "后彭"} <= set(tables["village"])
    assert "巨鹿县" not in tables["township"]
    # longest first: Rasa's lookup regex takes the first alternative that matches (西郭城镇 before 西郭城)
    assert tables["township"] == sorted(set(tables["township"]), key=lambda t: (-len(t), t))


def test_it_exports_a_jieba_dictionary_of_place_names(tmp_path):
    export_nlu_lookups(DATA_DIR, out_dir=tmp_path)
    header, *lines = (tmp_path / JIEBA_USERDICT_FILE).read_text(encoding="utf-8").splitlines()
    assert header.startswith("#generated") and " " not in header
    entries = [line.split(" ") for line in lines]
    assert all(len(e) == 3 and e[1].isdigit() and e[2] == "ns" for e in entries)
    words = [e[0] for e in entries]
    assert words == sorted(set(words))
    assert {"巨鹿县", "王虎寨镇", "王虎寨", "小韩寨村", "小韩寨"} <= set(words)
