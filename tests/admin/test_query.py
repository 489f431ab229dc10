"""Parsing the case-list query string, without HTTP."""

from __future__ import annotations

import pytest

from admin.query import MAX_OFFSET, CaseQuery, InvalidQueryParameter, parse_case_query
from workflow.reference import ReferenceData
from workflow.settings import DEFAULT_DATA_DIR


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return ReferenceData.load(DEFAULT_DATA_DIR)


def test_it_gives_defaults_for_an_empty_query(reference: ReferenceData) -> None:
    assert parse_case_query({}, reference) == CaseQuery(limit=50, offset=0)


def test_it_reads_every_filter(reference: ReferenceData) -> None:
    query = parse_case_query(
        {
            "reporter": ["wx-1"],
            "status": ["in_progress"],
            "category": ["fire_safety"],
            "township": ["王虎寨"],
            "overdue": ["true"],
            "limit": ["200"],
            "offset": ["40"],
        },
        reference,
    )

    assert query.filters() == {
        "reporter": "wx-1",
        "status": "in_progress",
        "category": "fire_safety",
        "township": "wanghuzhai_zhen",
        "overdue": True,
        "limit": 200,
        "offset": 40,
    }


def test_it_uses_the_first_of_repeated_values(reference: ReferenceData) -> None:
    query = parse_case_query({"status": ["closed", "bogus"], "limit": ["5", "x"]}, reference)

    assert (query.status, query.limit) == ("closed", 5)


def test_it_treats_blank_values_as_absent(reference: ReferenceData) -> None:
    query = parse_case_query({"reporter": ["  "], "limit": [""], "township": []}, reference)

    assert query == CaseQuery()


def test_it_accepts_every_category_of_the_responsibility_list(reference: ReferenceData) -> None:
    assert len(reference.categories) == 28
    for code in reference.categories:
        assert parse_case_query({"category": [code]}, reference).category == code


def test_it_accepts_the_largest_offset(reference: ReferenceData) -> None:
    assert parse_case_query({"offset": [str(MAX_OFFSET)]}, reference).offset == MAX_OFFSET


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"limit": ["٣"]}, "limit"),  # an Arabic-Indic digit: int() would accept it
        ({"limit": ["1_0"]}, "limit"),
        ({"offset": [str(MAX_OFFSET + 1)]}, "offset"),
        ({"category": ["Eco_Environment"]}, "category"),
        ({"township": ["x" * 201]}, "township"),
    ],
)
def test_it_rejects_values_the_api_cannot_use(
    reference: ReferenceData, args: dict[str, list[str]], parameter: str
) -> None:
    with pytest.raises(InvalidQueryParameter) as raised:
        parse_case_query(args, reference)

    assert raised.value.context["parameter"] == parameter
