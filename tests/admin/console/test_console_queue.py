"""The console's case queue as each role sees it: filters, scope, countdowns, masked phones, escaped text, paging."""

from __future__ import annotations

import datetime as dt
import re

from admin.console.queue import PAGE_SIZE, SOON_SECONDS
from conftest import GRID_VILLAGE


def rows(page) -> list[str]:
    """The table rows of a queue page, as HTML."""
    return re.findall(r'<tr class="case-row[^"]*">.*?</tr>', page.text, re.S)


def row_of(page, case_id: str) -> str:
    found = [row for row in rows(page) if f">{case_id}</a>" in row]
    assert len(found) == 1, f"{case_id} not listed once"
    return found[0]


def listed(page) -> set[str]:
    return set(re.findall(r'<a href="/console/cases/(JL[0-9-]+)">', page.text))


async def test_a_dispatcher_sees_the_open_cases_with_their_facts(browser, accounts, make_case):
    open_case = make_case("assigned", reporter_phone="13812345678", description="村口焚烧秸秆，电话13912345678")
    unsure = make_case("reported", category_code="city_management", suggested_category_code="eco_environment",
                       category_confidence=0.48)
    finished = make_case("resolved")
    client = await browser("wangfang")

    page = await client.get("/console/cases")

    assert page.status == 200 and "工单列表" in page.text
    assert listed(page) == {open_case, unsure} and finished not in page.text
    row = row_of(page, open_case)
    assert "生态环境" in row and "王虎寨镇" in row and "县生态环境分局" in row and "已派单待签收" in row
    assert "138****5678" in row and "13812345678" not in page.text
    assert "139****5678" in row and "13912345678" not in page.text  # a number in the description, too
    suggestion = row_of(page, unsure)
    assert "城市管理" in suggestion and "机器建议：生态环境（48%）" in suggestion
    assert "机器建议" not in row  # confirmed as the bot suggested: nothing beside it
    everything = await client.get("/console/cases", {"status": "all"})
    assert listed(everything) == {open_case, unsure, finished}


async def test_deadlines_count_down_and_soon_and_overdue_are_coloured_without_script(
        browser, accounts, make_case, clock):
    urgent = make_case("assigned", matter_type="emergency", description="燃气泄漏")  # 2 hours from acceptance
    ordinary = make_case("assigned")
    late = make_case("assigned", matter_type="emergency", description="河堤漏水")
    clock.advance(dt.timedelta(minutes=30))
    client = await browser("wangfang")

    page = await client.get("/console/cases")

    soon = row_of(page, urgent)
    assert soon.startswith('<tr class="case-row soon">')
    assert re.search(r'<span class="countdown soon" data-deadline="[^"]+" data-soon-seconds="%d">剩余 1小时30分</span>'
                     % SOON_SECONDS, soon)
    assert 'class="case-row">' in row_of(page, ordinary) and "剩余 " in row_of(page, ordinary)
    deadline = re.search(r'data-deadline="([^"]+)"', soon).group(1)
    assert dt.datetime.fromisoformat(deadline) == clock.now + dt.timedelta(hours=1, minutes=30)

    clock.advance(dt.timedelta(hours=2))
    client = await browser("wangfang")  # the first session went idle meanwhile
    later = await client.get("/console/cases")
    overdue = row_of(later, late)
    assert overdue.startswith('<tr class="case-row overdue">') and "已超期 30分钟" in overdue
    only_overdue = await client.get("/console/cases", {"overdue": "1"})
    assert listed(only_overdue) == {urgent, late}
    assert listed(await client.get("/console/cases", {"overdue": "0"})) == {ordinary}


async def test_the_filter_form_narrows_the_list_and_keeps_its_choices(browser, accounts, make_case):
    eco = make_case("reported")
    city = make_case("reported", category_code="city_management", suggested_category_code="city_management",
                     description="占道经营")
    julu = make_case("reported", township="巨鹿镇", description="路灯不亮")
    client = await browser("wangfang")

    form = await client.get("/console/cases")
    assert '<option value="eco_environment">生态环境</option>' in form.text
    assert '<option value="julu_zhen">巨鹿镇</option>' in form.text
    assert '<option value="county_ecology">县生态环境分局</option>' in form.text
    assert '<option value="emergency">突发紧急</option>' in form.text

    by_category = await client.get("/console/cases", {"category": "city_management"})
    assert listed(by_category) == {city}
    assert '<option value="city_management" selected>城市管理</option>' in by_category.text
    assert listed(await client.get("/console/cases", {"township": "julu_zhen"})) == {julu}
    assert listed(await client.get("/console/cases", {"unit": "county_urban_management"})) == {city}
    assert listed(await client.get("/console/cases", {"matter_type": "other"})) == {eco, city, julu}
    assert listed(await client.get("/console/cases", {"q": "占道"})) == {city}
    assert listed(await client.get("/console/cases", {"q": eco.lower()})) == {eco}
    assert listed(await client.get("/console/cases", {"status": "reported", "township": "wanghuzhai_zhen"})) == {
        eco, city}


async def test_values_the_form_cannot_produce_are_ignored_not_a_stack_trace(browser, accounts, make_case):
    case_id = make_case("reported")
    client = await browser("wangfang")

    for params in ({"status": "<script>"}, {"category": "x' OR 1=1"}, {"page": "-3"}, {"page": "９"},
                   {"overdue": "maybe"}, {"order": "DROP"}, {"q": "x" * 5000}):
        page = await client.get("/console/cases", params)
        assert page.status == 200, params
        assert "Traceback" not in page.text and "<script>" not in page.text
    assert case_id in (await client.get("/console/cases", {"status": "<script>"})).text


async def test_resident_text_is_escaped_wrapped_and_cut_in_the_list(browser, accounts, make_case):
    case_id = make_case("reported", description='<script>alert("x")</script><b>粗</b>' + "很长的描述" * 600)
    client = await browser("wangfang")

    page = await client.get("/console/cases")

    row = row_of(page, case_id)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;粗&lt;/b&gt;" in row
    assert "<script>alert" not in page.text and "<b>粗" not in page.text
    assert 'class="text description"' in row and "…" in row and len(row) < 4000


async def test_a_unit_sees_only_its_assigned_cases(browser, accounts, make_case):
    assigned = make_case("assigned")
    returned = make_case("returned")
    make_case("accepted")  # routed to the unit already, not yet dispatched
    make_case("assigned", category_code="city_management", suggested_category_code="city_management")
    lead = await browser("eco-zhang")
    other = await browser("city-li")

    page = await lead.get("/console/cases")
    assert page.status == 200 and "本单位工单" in page.text
    assert listed(page) == {assigned, returned}
    assert 'name="unit"' not in page.text  # the scope is the unit: no unit filter
    assert assigned not in (await other.get("/console/cases")).text
    # The unit filter cannot widen the scope.
    assert listed(await lead.get("/console/cases", {"unit": "county_urban_management"})) == set()


async def test_a_grid_worker_sees_only_the_cases_of_their_village(browser, accounts, make_case):
    mine = make_case("reported", village="小韩寨村", reporter_phone="13812345678")
    make_case("reported", village="大韩寨村")
    make_case("reported")
    client = await browser("grid-liu")

    page = await client.get("/console/cases")

    assert listed(page) == {mine} and "本网格工单" in page.text
    assert "138****5678" in page.text and "13812345678" not in page.text
    assert GRID_VILLAGE and listed(await (await browser("grid-zhao")).get("/console/cases")) == set()


async def test_the_list_pages_with_its_filters(browser, accounts, make_case):
    filed = [make_case("reported", description=f"第{n}件") for n in range(PAGE_SIZE + 3)]
    client = await browser("wangfang")

    first = await client.get("/console/cases", {"order": "newest", "township": "wanghuzhai_zhen"})
    assert len(rows(first)) == PAGE_SIZE and "共 53 件" in first.text and "第 1 / 2 页" in first.text
    link = re.search(r'<a href="([^"]+)" rel="next">', first.text).group(1).replace("&amp;", "&")
    assert "order=newest" in link and "township=wanghuzhai_zhen" in link and "page=2" in link
    second = await client.get(link)
    assert listed(second) == set(filed[:3]) and 'rel="prev"' in second.text and 'rel="next"' not in second.text
    empty = await client.get("/console/cases", {"page": "9"})
    assert empty.status == 200 and "没有符合条件的工单" in empty.text
