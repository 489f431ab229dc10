"""The Overview page: today's and this month's figures as cards, ranked tables and chart data; who may open it."""

from __future__ import annotations

import json
import re

_DATA = re.compile(r'<script type="application/json" id="overview-data">(.*?)</script>', re.S)


def _figure(text: str, name: str) -> str:
    match = re.search(rf'data-figure="{re.escape(name)}">([^<]*)<', text)
    assert match, name
    return match.group(1)


async def test_the_dispatcher_sees_todays_and_this_months_figures(browser, accounts, make_case):
    make_case("reported")
    make_case("assigned")
    make_case("resolved", township="巨鹿镇")
    client = await browser("wangfang")
    page = await client.get("/console/overview")
    assert page.status == 200
    assert _figure(page.text, "today-new") == "3" and _figure(page.text, "month-new") == "3"
    # Two of the three were assigned; one has the unit's result: reply rate 1/2.
    assert _figure(page.text, "month-reply_rate") == "50.0%"
    assert _figure(page.text, "month-satisfaction_rate") == "—"  # nobody rated yet: no rate, not 0%
    assert "县生态环境分局" in page.text and "王虎寨镇" in page.text
    data = json.loads(_DATA.search(page.text).group(1))
    assert len(data["townships"]["labels"]) == 10
    township = data["townships"]["labels"].index("王虎寨镇")
    assert data["townships"]["new"][township] == 2
    assert data["units"]["labels"] == ["县生态环境分局"] and data["units"]["rates"]["回复率"] == [50.0]


async def test_the_chart_library_is_served_from_the_console_itself(browser, accounts):
    client = await browser("wangfang")
    page = await client.get("/console/overview")
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert any("/console/static/chart.umd.min.js" in src for src in scripts)
    assert all(src.startswith("/console/static/") for src in scripts)
    library = await client.get(scripts[[i for i, s in enumerate(scripts) if "chart.umd" in s][0]])
    assert library.status == 200 and "Chart" in library.text[:5000]


async def test_figures_are_there_for_scripts_too(browser, accounts, make_case):
    make_case("reported")
    client = await browser("admin1")
    status, body = await client.get_json("/console/overview.json")
    assert status == 200 and body["today"]["totals"]["new"] == 1


async def test_grid_workers_may_not_open_the_overview(browser, accounts):
    client = await browser("grid-liu")
    page = await client.get("/console/overview")
    assert page.status == 403 and "无权" in page.text


async def test_a_unit_sees_the_ranking(browser, accounts, make_case):
    make_case("resolved")
    client = await browser("eco-zhang")
    page = await client.get("/console/overview")
    assert page.status == 200 and 'data-ranking="unit"' in page.text
