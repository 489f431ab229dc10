import pytest

from actions.choices import parse_choice
from actions.constants import CHOICE_DISPATCHER

OPTIONS = ["water_conservancy", "city_management", "agriculture"]
NAMES = {"水利": "water_conservancy", "城市管理": "city_management", "农业农村": "agriculture", "消防安全": "fire_safety"}


def find(text):
    return next((code for name, code in NAMES.items() if name in text), None)


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("2", "city_management"),
        ("２", "city_management"),
        ("选3", "agriculture"),
        ("第二个", "city_management"),
        ("就第一个吧", "water_conservancy"),
        ("头一个", "water_conservancy"),
        ("三", "agriculture"),
        ("城市管理那个", "city_management"),
        ("应该是消防安全的事", "fire_safety"),
        ("4", CHOICE_DISPATCHER),
        ("第四个", CHOICE_DISPATCHER),
        ("都不是", CHOICE_DISPATCHER),
        ("不知道你们看着办", CHOICE_DISPATCHER),
    ],
)
def test_it_understands_how_residents_pick_an_option(answer, expected):
    assert parse_choice(answer, OPTIONS, find) == expected


@pytest.mark.parametrize("answer", ["", "   ", "9", "哈哈", "我们村一直没人管这个事情太气人了"])
def test_it_returns_none_when_the_answer_picks_nothing(answer):
    assert parse_choice(answer, OPTIONS, find) is None
