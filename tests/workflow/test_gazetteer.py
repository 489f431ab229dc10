"""Gazetteer: resolving township and village answers and finding places in free text."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.exceptions import ReferenceDataError
from workflow.gazetteer import Gazetteer, PlaceMatch, Township, Village

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load(DATA_DIR)


@pytest.mark.parametrize(
    "answer,code",
    [
        ("巨鹿镇", "julu_zhen"),
        ("巨鹿", "julu_zhen"),
        ("巨鹿县城", "julu_zhen"),
        ("县城", "julu_zhen"),
        ("王虎寨镇", "wanghuzhai_zhen"),
        ("王虎寨", "wanghuzhai_zhen"),
        ("王虎寨乡", "wanghuzhai_zhen"),  # wrong suffix, listed as alias
        ("观寨镇", "guanzhai_xiang"),  # wrong suffix, listed as alias
        ("苏营乡", "suying_zhen"),
        ("西郭城镇人民政府", "xiguocheng_zhen"),
        ("阎疃镇政府", "yantuan_zhen"),
        ("闫疃", "yantuan_zhen"),  # variant character
        ("张王团", "zhangwangtuan_xiang"),  # pinyin-input homophone
        ("wanghuzhai_zhen", "wanghuzhai_zhen"),
        ("ＷＡＮＧＨＵＺＨＡＩ_ＺＨＥＮ", "wanghuzhai_zhen"),  # full-width, upper case
        (" 王 虎 寨 镇 ", "wanghuzhai_zhen"),
        ("\u3000官亭镇\u3000", "guanting_zhen"),  # ideographic spaces
        ("「堤村乡」。", "dicun_xiang"),
    ],
)
def test_it_resolves_a_township_answer(gazetteer, answer, code):
    township = gazetteer.resolve_township(answer)
    assert township is not None and township.code == code


@pytest.mark.parametrize("answer", ["巨鹿县", "北京", "", "   ", "王虎", "镇", "我在王虎寨镇"])
def test_it_resolves_nothing_for_a_non_township(gazetteer, answer):
    assert gazetteer.resolve_township(answer) is None


@pytest.mark.parametrize(
    "answer,township_code,code",
    [
        ("东关村", None, "julu_dongguan"),
        ("东关", None, "julu_dongguan"),
        (" 后彭村。", None, "guanting_houpeng"),
        ("前营村", "julu_zhen", "julu_qianying"),
        ("前营", "wanghuzhai_zhen", "wanghuzhai_qianying"),
        ("julu_dongguan", None, "julu_dongguan"),
    ],
)
def test_it_resolves_a_village_answer(gazetteer, answer, township_code, code):
    village = gazetteer.resolve_village(answer, township_code)
    assert village is not None and village.code == code


def test_it_refuses_to_guess_an_ambiguous_or_misplaced_village(gazetteer):
    assert {v.code for v in gazetteer.villages_named("前营村")} == {"julu_qianying", "wanghuzhai_qianying"}
    assert gazetteer.resolve_village("前营村") is None
    assert gazetteer.resolve_village("东关", "wanghuzhai_zhen") is None
    assert gazetteer.resolve_village("西门外") is None


@pytest.mark.parametrize(
    "text,township_code,village_code",
    [
        ("我是巨鹿县王虎寨镇小韩寨村的", "wanghuzhai_zhen", "wanghuzhai_xiaohanzhai"),
        ("后彭村有人烧秸秆", "guanting_zhen", "guanting_houpeng"),
        ("南田庄村的路灯坏了", "xiguocheng_zhen", "xiguocheng_nantianzhuang"),  # not 田庄村 of 阎疃镇
        ("田庄村的路灯坏了", "yantuan_zhen", "yantuan_tianzhuang"),
        ("就在县城东关", "julu_zhen", "julu_dongguan"),
        ("巨鹿县城北关有人占道经营", "julu_zhen", "julu_beiguan"),
        ("王虎寨镇前营村停水了", "wanghuzhai_zhen", "wanghuzhai_qianying"),
        ("前营村停水了", None, None),  # two 前营村: no guess
        ("俺是堤村乡的", "dicun_xiang", None),
        ("在官亭镇，我老家是东关村的", "guanting_zhen", None),  # 东关村 is not in 官亭镇
        ("从巨鹿去王虎寨镇的路坏了", "wanghuzhai_zhen", None),  # the longer township mention wins
        ("巨鹿县医保怎么报销", None, None),  # the county, not 巨鹿镇
        ("小区电梯坏了", None, None),
        ("我 在 王 虎 寨 镇", "wanghuzhai_zhen", None),
    ],
)
def test_it_finds_places_in_free_text(gazetteer, text, township_code, village_code):
    match = gazetteer.find_places(text)
    assert (match.township.code if match.township else None) == township_code
    assert (match.village.code if match.village else None) == village_code


def test_it_finds_nothing_in_empty_text(gazetteer):
    assert gazetteer.find_places("") == PlaceMatch()


def test_it_reads_the_same_places_from_the_database(gazetteer, session_factory):
    with session_factory() as session:
        from_db = Gazetteer.from_session(session)
    assert sorted(from_db.townships, key=lambda t: t.code) == sorted(gazetteer.townships, key=lambda t: t.code)
    assert sorted(from_db.villages, key=lambda v: v.code) == sorted(gazetteer.villages, key=lambda v: v.code)
    assert from_db.resolve_township("王虎寨乡").code == "wanghuzhai_zhen"


TOWNSHIP = Township(code="a_zhen", name="甲镇镇", kind="镇")


@pytest.mark.parametrize(
    "townships,villages,county,message",
    [
        ([TOWNSHIP, Township(code="b_zhen", name="乙镇", kind="镇", aliases=("甲镇镇",))], [], [], "also used by"),
        ([TOWNSHIP], [Village(code="v", name="甲镇", township_code="a_zhen")], [], "township or county name"),
        ([TOWNSHIP], [Village(code="v", name="东村", township_code="nowhere")], [], "unknown township"),
        ([TOWNSHIP], [Village(code="v", name="东村", township_code="a_zhen", aliases=("东",))], [], "shorter than"),
        (
            [TOWNSHIP],
            [
                Village(code="v1", name="东村村", township_code="a_zhen"),
                Village(code="v2", name="西村村", township_code="a_zhen", aliases=("东村村",)),
            ],
            [],
            "same township",
        ),
        ([TOWNSHIP], [], ["甲镇镇"], "name of the county"),
        ([TOWNSHIP, TOWNSHIP], [], [], "duplicate township code"),
    ],
)
def test_it_rejects_inconsistent_place_data(townships, villages, county, message):
    with pytest.raises(ReferenceDataError, match=message):
        Gazetteer(townships, villages, county, source="test")
