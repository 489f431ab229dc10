"""ASR clean-up, place names by pinyin, and splitting a call into matters (bot/transcripts.py).

The NLU is a keyword stand-in (tests/fixtures/hotline/keywords.json): these tests check the splitting and the
clean-up, not a model. The real model runs in tests/bot/channels/test_hotline.py (slow).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.transcripts import (
    ORDINARY_HOMOPHONES,
    PlaceCorrector,
    clean_turn,
    collapse_repeats,
    is_chatter,
    is_status_question,
    normalize_speech,
    read_call,
    remove_fillers,
    split_cues,
    spoken_numbers,
    spoken_phone,
)
from workflow.gazetteer import Gazetteer, Township, Village
from workflow.hotline import Turn, parse_call
from workflow.transitions import Rating

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "hotline"))
from hotline_fixtures import keyword_parse, load_calls  # noqa: E402

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def places() -> PlaceCorrector:
    return PlaceCorrector(Gazetteer.load(DATA_DIR))


def turns(*said: tuple[str, str]) -> list[Turn]:
    return [Turn(speaker, text, float(i), float(i) + 0.9, 0.9) for i, (speaker, text) in enumerate(said)]


# ---------------------------------------------------------------- width, whitespace, fillers, stutters
def test_it_folds_width_and_turns_asr_spaces_into_pauses():
    assert normalize_speech("　我们村ＡＢ  路灯坏了 ") == "我们村AB，路灯坏了"
    assert normalize_speech("幺三八 幺二三四 五六七八") == "幺三八幺二三四五六七八"
    assert normalize_speech("统一 一下") == "统一，一下"  # words, not one number
    assert normalize_speech("，，好的。。") == "好的。"


@pytest.mark.parametrize("said, cleaned", [
    ("嗯，啊，呃，我们村东头", "我们村东头"),
    ("喂，喂，你好", "你好"),
    ("对对对，都三天了", "都三天了"),
    ("就是说我们村西头", "我们村西头"),
    ("然后呢，他就跑了", "他就跑了"),
    ("那个，我想问个事", "我想问个事"),
    ("那个我们村的路", "我们村的路"),
    ("我想反映个事儿，路灯坏了", "路灯坏了"),
])
def test_it_removes_fillers(said, cleaned):
    assert remove_fillers(normalize_speech(said)) == cleaned


def test_it_keeps_that_and_this_where_they_point_at_something():
    assert remove_fillers("那个厂子天天晚上放黑水") == "那个厂子天天晚上放黑水"
    assert remove_fillers("这个路口老出事") == "这个路口老出事"
    assert remove_fillers("对面的厂子") == "对面的厂子"


@pytest.mark.parametrize("said, cleaned", [
    ("我我我是王虎寨的", "我是王虎寨的"),
    ("我我要反映", "我要反映"),
    ("那个那个路灯", "那个路灯"),
    ("崔庄，崔庄村", "崔庄村"),
    ("调解调解", "调解"),
])
def test_it_collapses_stutters(said, cleaned):
    assert collapse_repeats(said) == cleaned


@pytest.mark.parametrize("said", ["天天晚上放", "慢慢走", "常常停电", "机器嗡嗡嗡地响", "咚咚咚敲门", "电话13888888888"])
def test_it_keeps_reduplicated_words_sound_words_and_digits(said):
    assert collapse_repeats(said) == said


# ---------------------------------------------------------------- spoken numbers
@pytest.mark.parametrize("said, digits", [
    ("电话是幺三九幺二三四五六七八", "电话是13912345678"),
    ("都三天了", "都3天了"),
    ("欠了两万三千块", "欠了23000块"),
    ("交三百块钱资料费", "交300块钱资料费"),
    ("两个月没发工资", "2个月没发工资"),
    ("俺娘七十多了", "俺娘70多了"),
    ("十一月一号", "11月1号"),
    ("一号楼三单元三零二", "1号楼3单元302"),
    ("二〇二六年三月五号", "2026年3月5号"),
    ("晚上十一点还在干", "晚上11点还在干"),
    ("欠了两千，一直不给", "欠了2000，一直不给"),
])
def test_it_turns_spoken_numbers_into_digits(said, digits):
    assert spoken_numbers(said) == digits


@pytest.mark.parametrize("said", [
    "三村那边", "巨鹿一中门口", "十三中的学生", "二十里铺", "第一中学",  # places and schools
    "七八个人", "两三回", "六七十岁", "二十几户",  # approximations
    "一直不给", "等一下", "统一收费", "万一出事", "千万别", "一天到晚", "有一个事", "十分严重", "半个月", "三三两两",
])
def test_it_leaves_names_approximations_and_words_alone(said):
    assert spoken_numbers(said) == said


def test_it_leaves_protected_place_names_alone():
    assert spoken_numbers("住在三里庄村", protected=["三里庄村"]) == "住在三里庄村"
    assert spoken_numbers("住在五里铺三号") == "住在五里铺3号"


def test_it_finds_a_spoken_mobile_number():
    assert spoken_phone(clean_turn("电话是幺三九 幺二三四 五六七八")) == "13912345678"
    assert spoken_phone("工单号2026113000012") is None


# ---------------------------------------------------------------- place names by pinyin
@pytest.mark.parametrize("heard, township", [
    ("我是王湖寨孙家庄的", "王虎寨镇"),  # 虎/湖: same pinyin, three syllables need no context
    ("俺是严疃镇南旺村的", "阎疃镇"),
    ("我家在严疃那边", "阎疃镇"),
    ("俺是眼瞳镇的", "阎疃镇"),  # tong for tuan: only its initial, so only with 镇/乡 after it
    ("住在眼瞳乡那边", "阎疃镇"),
    ("我们苏赢这边", "苏营镇"),
    ("我是官厅的", "官亭镇"),
    ("官厅镇后彭村", "官亭镇"),
    ("我们西国城镇马庄村", "西郭城镇"),
    ("在小旅寨集上", "小吕寨镇"),
    ("苏赢乡的", "苏营镇"),  # the wrong suffix too
])
def test_it_corrects_misheard_townships_by_pinyin(places, heard, township):
    corrected = places.correct(heard)
    assert township in corrected
    assert places.gazetteer.find_places(corrected).township.name == township


def test_it_corrects_a_misheard_sample_village_only_before_cun(places):
    assert places.correct("孙家装村") == "孙家庄村"
    assert places.correct("孙家装修的房子") == "孙家装修的房子"


@pytest.mark.parametrize("ordinary", [
    "要求把这个厂子关停", "厂子早就关停了", "学生去宿营", "输赢无所谓", "问题很严重", "居住环境太差",
    "观看演出", "言谈举止", "燕子窝", "我是关停的那家厂子的工人", "这事跟输赢没关系", "巨大的噪音",
    "王虎一家人", "这个官司打了三年", "管他什么官", "在关停整改期间", "苏醒过来",
    "住在眼瞳那边",  # 眼瞳 is a word and only half sounds like 阎疃: without 镇 it stays
    "都跑到楼下不敢回去了。", "废水顺着暗管流到渠里", "租了村委会以前的大院", "希望村里能管管", "二期楼盖到十层，",
    "关于堤村乡某板材厂", "车位", "距离镇上八公里",
])
def test_it_never_rewrites_ordinary_words(places, ordinary):
    assert places.correct(ordinary) == ordinary


def test_it_never_takes_an_exact_homophone_word_for_a_place_without_a_suffix(places):
    for word in ORDINARY_HOMOPHONES:
        assert places.correct(f"我是{word}的") == f"我是{word}的"
    assert places.correct("我是关停镇的") == "我是官亭镇的"  # 镇 after it settles it


def test_it_leaves_names_the_gazetteer_knows(places):
    for said in ("王虎寨镇", "闫疃", "张王团乡", "官寨乡", "巨鹿县城", "东关村"):
        assert places.correct(said) == said


def test_it_matches_near_homophones_but_not_unrelated_syllables():
    township = Township("wanghuzhai_zhen", "王虎寨镇", "镇")
    corrector = PlaceCorrector(Gazetteer([township]), word_frequency=lambda word: 0)
    assert corrector.fixes("王湖寨")[0].level == "exact"
    assert corrector.fixes("汪虎债")[0].level == "exact"  # tones differ: tone-insensitive
    assert corrector.fixes("王虎宅")[0].level == "exact"
    assert corrector.fixes("王虎在")[0].level == "near"  # z for zh
    assert corrector.fixes("王胡栅")[0].level == "loose"  # zha for zhai: only the initial
    assert corrector.fixes("黄虎寨") == []  # the first syllable must match
    assert corrector.fixes("王老寨") == []


def test_a_village_sounding_like_two_villages_is_not_guessed():
    townships = [Township("a_zhen", "甲庄镇", "镇"), Township("b_zhen", "乙庄镇", "镇")]
    villages = [Village("a_x", "王庄村", "a_zhen"), Village("b_x", "汪庄村", "b_zhen")]
    corrector = PlaceCorrector(Gazetteer(townships, villages), word_frequency=lambda word: 0)
    assert corrector.correct("往庄村") == "往庄村"


# ---------------------------------------------------------------- cues, chatter, questions
def test_it_splits_a_turn_at_cue_phrases():
    pieces = split_cues("路灯坏了，还有一个事，就是村口垃圾没人拉，另外，主街有个大坑")
    assert [(p.text, p.cue, p.firm) for p in pieces] == [
        ("路灯坏了", False, False), ("村口垃圾没人拉", True, True), ("主街有个大坑", True, False)]
    assert [p.text for p in split_cues("第二个事我家孩子上学的事")] == ["我家孩子上学的事"]
    assert [p.text for p in split_cues("再一个，低保批不下来")] == ["低保批不下来"]


def test_ordinals_and_another_are_no_cues_inside_a_sentence():
    assert len(split_cues("第二天又来了，走到第二个路口")) == 1
    assert len(split_cues("我们村另外那家也这样")) == 1


def test_a_turn_that_is_only_a_cue_announces_the_next():
    pieces = split_cues("还有一个事")
    assert [(p.text, p.cue, p.firm) for p in pieces] == [("", True, True)]


@pytest.mark.parametrize("text", ["你好", "谢谢", "麻烦你们了", "好的，再见", "没事，再见", "打错了，不好意思", "就这些"])
def test_it_knows_chatter(text):
    assert is_chatter(text)


def test_it_knows_a_status_question_from_a_report():
    assert is_status_question("我上次反映的那个事咋样了")
    assert is_status_question("前几天报过一个路灯的事，有结果没有")
    assert not is_status_question("路灯坏了咋也没人管")
    assert not is_status_question("上次下大雨把墙冲倒了")


# ---------------------------------------------------------------- reading a call
async def test_it_splits_one_call_into_its_matters(places):
    reading = await read_call(turns(
        ("agent", "您好 巨鹿县热线 请讲"),
        ("caller", "喂 你好 我是王湖寨孙家庄的 我们村西头有人烧秸秆 烟大得很"),
        ("agent", "多长时间了"),
        ("caller", "都三天了"),
        ("agent", "还有别的吗"),
        ("caller", "还有一个事 我们村那个路灯 坏了半个多月了"),
        ("caller", "谢谢啊 再见"),
    ), keyword_parse, places)
    assert [(m.category_code, m.township, m.township_source) for m in reading.matters] == [
        ("eco_environment", "王虎寨镇", "said"), ("city_management", "王虎寨镇", "our_village")]
    assert reading.matters[0].description == "我是王虎寨镇孙家庄的，我们村西头有人烧秸秆，烟大得很，都3天了"
    assert reading.matters[0].village == "孙家庄村"
    assert reading.matters[1].turns == (5,)
    assert reading.not_filed == () and reading.questions == ()


async def test_it_merges_adjacent_pieces_of_one_category(places):
    reading = await read_call(turns(
        ("caller", "俺们观寨乡宁庄村村口 垃圾堆成山了"),
        ("agent", "好的"),
        ("caller", "天一热那个垃圾臭得不行 苍蝇蚊子乱飞"),
    ), keyword_parse, places)
    assert len(reading.matters) == 1
    assert reading.matters[0].turns == (0, 2)


async def test_another_about_the_same_thing_in_the_same_place_is_one_matter(places):
    reading = await read_call(turns(
        ("caller", "王虎寨镇孙家庄村的路灯坏了"),
        ("caller", "另外 村口那个路灯也不亮"),
    ), keyword_parse, places)
    assert len(reading.matters) == 1


async def test_two_matters_of_one_category_in_two_places_stay_two(places):
    reading = await read_call(turns(
        ("caller", "王虎寨镇孙家庄村的路灯坏了"),
        ("caller", "另外 苏营镇崔庄村的路灯也坏了"),
    ), keyword_parse, places)
    assert [m.township for m in reading.matters] == ["王虎寨镇", "苏营镇"]


async def test_an_answer_to_the_agent_belongs_to_the_matter_being_told(places):
    reading = await read_call(turns(
        ("caller", "我在外地住院回来报销 医保那边说没备案不给报"),
        ("agent", "您是哪个乡镇的"),
        ("caller", "这个 我现在在石家庄呢 户口在咱县 孩子在外边打工"),
    ), keyword_parse, places)
    assert len(reading.matters) == 1
    assert reading.matters[0].township is None
    assert reading.matters[0].description.endswith("户口在咱县，孩子在外边打工")


async def test_a_place_said_first_goes_with_the_matter_after_it(places):
    reading = await read_call(turns(
        ("agent", "您是哪里"),
        ("caller", "苏营镇崔庄村"),
        ("agent", "您说"),
        ("caller", "村里停电两天了"),
    ), keyword_parse, places)
    assert [(m.category_code, m.township) for m in reading.matters] == [("power_supply", "苏营镇")]
    assert reading.matters[0].description == "苏营镇崔庄村，村里停电2天了"


async def test_a_cue_alone_in_a_turn_opens_the_next_matter(places):
    reading = await read_call(turns(
        ("caller", "我们王虎寨镇的路灯坏了"),
        ("caller", "还有一个事"),
        ("agent", "您说"),
        ("caller", "我们王虎寨镇的路灯亮了一宿 白天也不关"),
    ), keyword_parse, places)
    assert len(reading.matters) == 2  # the caller said it is another matter, in the same place


async def test_agent_turns_are_never_matters_but_name_the_township(places):
    reading = await read_call(turns(
        ("agent", "您反映的是秸秆的事 我们这边停电了吗"),
        ("caller", "我们村天天有人烧秸秆"),
        ("agent", "是王虎寨镇孙家庄村是吧"),
        ("caller", "对对对"),
    ), keyword_parse, places)
    assert [(m.category_code, m.township, m.township_source) for m in reading.matters] == [
        ("eco_environment", "王虎寨镇", "agent")]


async def test_a_status_question_is_a_query_not_a_report(places):
    reading = await read_call(turns(
        ("caller", "我上次反映的那个自来水的事咋样了"),
        ("caller", "另外 我们苏营镇主街上有个大坑"),
    ), keyword_parse, places)
    assert [q.text for q in reading.questions] == ["我上次反映的那个自来水的事咋样了"]
    assert [m.category_code for m in reading.matters] == ["transport"]


async def test_a_rating_counts_only_in_a_follow_up_call(places):
    said = turns(("agent", "您对处理结果满意吗"), ("caller", "嗯 还行吧 基本满意 就是晚上偶尔还有点响"))
    follow_up = await read_call(said, keyword_parse, places, follow_up=True)
    assert [(r.rating, r.text) for r in follow_up.ratings] == [
        (Rating.BASICALLY_SATISFIED, "还行吧，基本满意，就是晚上偶尔还有点响")]
    assert follow_up.matters == ()
    unsatisfied = await read_call(turns(("caller", "不满意 根本没解决")), keyword_parse, places, follow_up=True)
    assert unsatisfied.ratings[0].rating is Rating.UNSATISFIED
    ordinary = await read_call(said, keyword_parse, places)
    assert ordinary.ratings == ()


async def test_greetings_and_wrong_numbers_file_nothing(places):
    reading = await read_call(turns(
        ("caller", "喂 喂 喂 有人吗"), ("agent", "您好 请讲"), ("caller", "哦 打错了打错了 不好意思")),
        keyword_parse, places)
    assert reading == type(reading)()


async def test_what_belongs_to_no_matter_is_listed_as_not_filed(places):
    reading = await read_call(turns(("caller", "我姓王")), keyword_parse, places)
    assert [(n.text, n.reason) for n in reading.not_filed] == [("我姓王", "no_matter")]


async def test_it_reads_every_fixture_call_with_the_stand_in(places):
    """The fixture calls through the keyword stand-in: matters and townships as a dispatcher expects."""
    from hotline_fixtures import EXPECTED

    for raw in load_calls():
        call = parse_call(raw)
        reading = await read_call(call.turns, keyword_parse, places, follow_up=call.case_id is not None)
        expected = EXPECTED[call.call_id]
        assert len(reading.matters) == len(expected["matters"]), call.call_id
        for matter, wanted in zip(reading.matters, expected["matters"]):
            assert matter.category_code in wanted["categories"], (call.call_id, matter.description)
            if wanted["source"] in ("said", "our_village"):
                code = places.gazetteer.resolve_township(matter.township).code
                assert code == wanted["township"], (call.call_id, matter.description)
            if "phone" in wanted:
                assert matter.phone == wanted["phone"]
        assert len(reading.questions) == expected.get("questions", 0), call.call_id
        assert [r.rating.value for r in reading.ratings] == expected.get("ratings", []), call.call_id


def test_it_rewrites_nothing_in_the_typed_training_examples(places):
    """The NLU examples (data/nlu, residents' typed style, place names spelt right, thousands of ordinary words)
    are a large sample of text with no misheard place in it: the corrector must leave every one alone."""
    import re

    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    annotation = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
    changed, examples = [], 0
    for path in sorted((DATA_DIR / "nlu").rglob("*.yml")):
        if "lookups" in path.parts:
            continue
        for item in (yaml.load(path.read_text("utf-8"), Loader=loader) or {}).get("nlu") or []:
            for line in str(item.get("examples") or "").splitlines():
                text = annotation.sub(r"\1", line.strip().removeprefix("- "))
                examples += 1
                if text and places.correct(text) != text:
                    changed.append(text)
    assert examples > 5000
    assert changed == []
