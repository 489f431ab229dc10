"""Phone numbers as residents type them."""

from __future__ import annotations

import pytest

from workflow.phones import normalize_phone


@pytest.mark.parametrize(
    "raw,normalised",
    [
        ("13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("＋８６１３８１２３４５６７８", "13812345678"),
        ("008613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0319-5123456", "0319-5123456"),
        ("03195123456", "0319-5123456"),
        ("（0319）5123456", "0319-5123456"),
        ("010-62345678", "010-62345678"),
        ("021 6234 5678", "021-62345678"),
        ("+86 319 5123456", "0319-5123456"),
        ("5123456", "5123456"),
    ],
)
def test_it_normalises_mainland_numbers(raw, normalised):
    assert normalize_phone(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    ["", "12345", "110", "400-810-8888", "95588", "12812345678", "1381234567", "138123456789", "0319-0123456",
     "abc", "138一二三四五六七八", "+1 415 555 0100", "0319-5123456转8001"],
)  # fmt: skip
def test_it_rejects_other_numbers(raw):
    with pytest.raises(ValueError):
        normalize_phone(raw)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("联系我 138-1234-9999", "联系我 138-****-9999"),
        ("有事打我电话 139 8765 4321", "有事打我电话 139 **** 4321"),
        ("电话１３８１２３４５６７８", "电话138****5678"),
        ("0319-5123456", "0319-***3456"),
        ("工单 JL20261206-0001，时间 20261206123456789", "工单 JL20261206-0001，时间 20261206123456789"),
    ],
)
def test_numbers_written_in_groups_or_full_width_are_masked_in_free_text(text, masked):
    from workflow.phones import mask_phones_in

    assert mask_phones_in(text) == masked
