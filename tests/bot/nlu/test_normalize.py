from bot.nlu.normalize import clean_text, fold_width, has_meaningful_text


def test_it_folds_full_width_digits_letters_and_spaces_keeping_length():
    text = "电话１３８　１２３４ ５６７８，ＪＬ２０２６"
    folded = fold_width(text)
    assert folded == "电话138 1234 5678,JL2026"
    assert len(folded) == len(text)


def test_it_keeps_chinese_punctuation_that_has_no_ascii_form():
    assert fold_width("路灯坏了。。") == "路灯坏了。。"


def test_it_turns_tabs_newlines_and_zero_width_marks_into_spaces():
    assert fold_width("路灯\t坏了\n三天\u200b了") == "路灯 坏了 三天 了"


def test_clean_text_collapses_whitespace_and_trims():
    assert clean_text("  路灯\u3000\u3000坏了 \n") == "路灯 坏了"
    assert clean_text(None) == ""


def test_it_tells_emoji_only_from_text():
    assert not has_meaningful_text("😡😡👍")
    assert not has_meaningful_text("。。。？！ ")
    assert has_meaningful_text("路灯😡")
    assert has_meaningful_text("help")
