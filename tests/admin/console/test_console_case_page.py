"""The console's case page as people use it: reading a case, acting on it, protected phone numbers, bad input."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import insert

from admin.conversations import events_table, tracker_metadata
from workflow.personal_data import views_of
from workflow.transitions import Actor


def flash(page) -> str:
    found = re.search(r'<p class="flash[^"]*" role="(?:status|alert)">(.*?)</p>', page.text, re.S)
    return found.group(1) if found else ""


def action_forms(page) -> list[str]:
    return re.findall(r'<form method="post" action="/console/cases/[^/"]+/([a-z]+)" class="action-', page.text)


async def test_a_dispatcher_accepts_and_assigns_a_report(browser, accounts, make_case, lifecycle):
    case_id = make_case("reported", category_code=None, suggested_category_code="eco_environment",
                        category_confidence=0.55, needs_review=True)
    client = await browser("wangfang")

    page = await client.get(f"/console/cases/{case_id}")
    assert page.status == 200 and "待受理" in page.text
    assert action_forms(page) == ["accept", "reject", "duplicate"]
    assert '<option value="eco_environment" selected>生态环境</option>' in page.text  # the bot's suggestion
    assert "机器建议：生态环境（置信度 55%）" in page.text

    accepted = await client.post(f"/console/cases/{case_id}/accept",
                                 {"importance_level": "3", "category": "eco_environment", "matter_type": "other",
                                  "note": "群众多次反映"})
    assert accepted.path == f"/console/cases/{case_id}?done=accept" and flash(accepted) == "已受理。"
    assert action_forms(accepted) == ["assign", "reject", "duplicate"]

    assigned = await client.post(f"/console/cases/{case_id}/assign", {"lead_unit": "", "reason": ""})
    assert flash(assigned) == "已派单。" and "已派单待签收" in assigned.text
    view = lifecycle.get(case_id)
    assert view.status.value == "assigned" and view.importance_level == 3 and view.lead_unit.code == "county_ecology"
    events = [(e.event, e.actor) for e in lifecycle.history(case_id)]
    assert events[1:] == [("accepted", "调度员王芳"), ("assigned", "调度员王芳")]
    assert "调度员王芳" in assigned.text and "群众多次反映" in assigned.text  # the audit trail on the page


async def test_an_override_needs_its_reason_and_then_goes_to_the_chosen_units(browser, accounts, make_case,
                                                                              lifecycle):
    case_id = make_case("accepted")
    client = await browser("wangfang")
    await client.get(f"/console/cases/{case_id}")

    refused = await client.post(f"/console/cases/{case_id}/assign", {"lead_unit": "county_urban_management"})
    assert refused.path.startswith(f"/console/cases/{case_id}?error=invalid_case_action")
    assert "填写的内容不完整或不符合要求" in flash(refused) and "原因" in flash(refused)
    assert lifecycle.get(case_id).status.value == "accepted"  # nothing half-done

    done = await client.post(f"/console/cases/{case_id}/assign", {
        "lead_unit": "county_urban_management", "cooperating_units": ["wanghuzhai_zhen_gov", "county_ecology"],
        "reason": "占道焚烧归城管"})
    assert flash(done) == "已派单。"
    view = lifecycle.get(case_id)
    assert view.lead_unit.code == "county_urban_management"
    assert {u.code for u in view.cooperating_units} == {"wanghuzhai_zhen_gov", "county_ecology"}

    unknown = make_case("accepted")
    bad = await client.post(f"/console/cases/{unknown}/assign", {"lead_unit": "no_such_unit", "reason": "试试"})
    assert "所选单位不存在或已停用" in flash(bad)


async def test_the_lead_unit_acknowledges_and_resolves_and_the_result_reaches_the_case(
        browser, accounts, make_case, lifecycle):
    case_id = make_case("assigned")
    client = await browser("eco-zhang")

    page = await client.get(f"/console/cases/{case_id}")
    assert action_forms(page) == ["acknowledge", "note", "return"]

    acknowledged = await client.post(f"/console/cases/{case_id}/acknowledge", {"note": "马上派人"})
    assert flash(acknowledged) == "已签收。" and action_forms(acknowledged) == ["note", "return", "resolve"]
    noted = await client.post(f"/console/cases/{case_id}/note", {"note": "已联系村委会"})
    assert flash(noted) == "已记录办理进展。"
    resolved = await client.post(f"/console/cases/{case_id}/resolve", {
        "result": "已到现场制止焚烧，清理完毕", "photo": "https://img.example.cn/r/1.jpg"})

    assert flash(resolved) == "已办结，等待群众评价。"
    assert "已到现场制止焚烧，清理完毕" in resolved.text and 'href="https://img.example.cn/r/1.jpg"' in resolved.text
    view = lifecycle.get(case_id)
    assert view.status.value == "resolved" and view.result == "已到现场制止焚烧，清理完毕"
    assert view.result_photo == "https://img.example.cn/r/1.jpg"
    history = lifecycle.history(case_id)
    assert [(e.event, e.actor, e.actor_role, e.data.get("unit")) for e in history[-3:]] == [
        ("acknowledged", "生态环境分局张科长", "unit", "county_ecology"),
        ("progress_noted", "生态环境分局张科长", "unit", "county_ecology"),
        ("resolved", "生态环境分局张科长", "unit", "county_ecology")]
    assert action_forms(resolved) == []


async def test_an_action_the_status_no_longer_allows_is_explained_in_chinese(browser, accounts, make_case,
                                                                            lifecycle):
    case_id = make_case("assigned")
    client = await browser("eco-zhang")
    await client.get(f"/console/cases/{case_id}")

    page = await client.post(f"/console/cases/{case_id}/resolve", {"result": "已处理"})  # not acknowledged yet

    assert page.status == 200 and page.path == f"/console/cases/{case_id}?error=illegal_transition"
    assert flash(page) == "该工单当前的状态不允许这个操作，可能已有其他人处理。请查看最新状态。"
    assert "Traceback" not in page.text and "illegal" not in flash(page)
    assert lifecycle.get(case_id).status.value == "assigned"

    dispatcher = await browser("wangfang")
    reported = make_case("reported")
    await dispatcher.get(f"/console/cases/{reported}")
    await dispatcher.post(f"/console/cases/{reported}/accept", {"importance_level": "1"})
    twice = await dispatcher.post(f"/console/cases/{reported}/accept", {"importance_level": "1"})  # a stale form
    assert "该工单当前的状态不允许这个操作" in flash(twice)
    not_review = await dispatcher.post(f"/console/cases/{case_id}/reopen", {})
    assert "该工单不在复核中" in flash(not_review)


async def test_query_parameters_never_put_words_on_the_page(browser, accounts, make_case):
    case_id = make_case("reported")
    client = await browser("wangfang")

    page = await client.get(f"/console/cases/{case_id}", {"done": "<script>x</script>", "error": "hacked",
                                                         "field": "<b>"})

    assert page.status == 200 and flash(page) == "" and "<script>x" not in page.text and "hacked" not in page.text


async def test_reject_duplicate_and_the_review_decisions(browser, accounts, make_case, lifecycle):
    client = await browser("wangfang")
    original = make_case("assigned")
    dup = make_case("reported")
    await client.get(f"/console/cases/{dup}")

    missing = await client.post(f"/console/cases/{dup}/duplicate", {"duplicate_of": "", "note": "同一处"})
    assert "原工单号" in flash(missing)
    nowhere = await client.post(f"/console/cases/{dup}/duplicate", {"duplicate_of": "JL20261130-0999",
                                                                     "note": "同一处"})
    assert "没有找到所填的原工单号" in flash(nowhere)
    merged = await client.post(f"/console/cases/{dup}/duplicate", {"duplicate_of": original.lower(),
                                                                    "note": "同一处焚烧"})
    assert flash(merged) == "已作为重复工单合并。" and f'href="/console/cases/{original}"' in merged.text
    assert lifecycle.get(dup).duplicate_of == original

    invalid = make_case("reported")
    no_note = await client.post(f"/console/cases/{invalid}/reject", {"reason": "invalid", "note": " "})
    assert "说明" in flash(no_note) and lifecycle.get(invalid).status.value == "reported"
    rejected = await client.post(f"/console/cases/{invalid}/reject", {"reason": "out_of_scope",
                                                                      "note": "不属于本县受理范围"})
    assert flash(rejected) == "已作不予受理处理。" and lifecycle.get(invalid).rejection_reason.value == "out_of_scope"

    review = make_case("review")
    page = await client.get(f"/console/cases/{review}")
    assert "待复核" in page.text and action_forms(page) == ["reopen", "close"]
    reopened = await client.post(f"/console/cases/{review}/reopen", {})
    assert flash(reopened) == "已重新交办。" and lifecycle.get(review).status.value == "assigned"
    other = make_case("review")
    closed = await client.post(f"/console/cases/{other}/close", {"reason": "已两次到现场核实"})
    assert flash(closed) == "已复核结案。" and lifecycle.get(other).status.value == "closed"


async def test_resident_html_shows_as_text_and_a_long_description_wraps(browser, accounts, make_case):
    script = make_case("reported", description='<script>alert(1)</script><img src=x onerror=alert(2)>垃圾没人收')
    long_text = "村里的路灯已经坏了很久，晚上出行非常不便。" * 150  # 3,300 characters, no spaces
    long_case = make_case("reported", description=long_text[:3000])
    client = await browser("wangfang")

    page = await client.get(f"/console/cases/{script}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;垃圾没人收" in page.text
    assert "<script>alert" not in page.text and "<img src=x" not in page.text

    long_page = await client.get(f"/console/cases/{long_case}")
    assert long_page.status == 200 and "</html>" in long_page.text
    described = re.search(r'<pre class="text description">(.*?)</pre>', long_page.text, re.S).group(1)
    assert described == long_text[:3000]


async def test_the_phone_is_masked_and_shown_whole_only_after_the_audited_request(
        browser, accounts, make_case, session_factory):
    case_id = make_case("assigned", reporter_phone="13812345678", description="请回电13812345678")
    dispatcher = await browser("wangfang")

    page = await dispatcher.get(f"/console/cases/{case_id}")
    assert "138****5678" in page.text and "13812345678" not in page.text and "显示完整号码" in page.text
    assert views_of(session_factory, case_id) == []

    shown = await dispatcher.post(f"/console/cases/{case_id}/phone")
    assert shown.status == 200 and '<strong class="full-phone">13812345678</strong>' in shown.text
    assert "请回电13812345678" in shown.text
    assert shown.headers["Cache-Control"] == "no-store"
    records = views_of(session_factory, case_id)
    assert [(r.actor, r.account_id, r.field) for r in records] == [("调度员王芳", accounts.dispatcher.id,
                                                                  "reporter_phone")]
    again = await dispatcher.get(f"/console/cases/{case_id}")
    assert "13812345678" not in again.text and "号码查看记录" in again.text

    lead = await browser("eco-zhang")
    await lead.get(f"/console/cases/{case_id}")
    assert "13812345678" in (await lead.post(f"/console/cases/{case_id}/phone")).text
    assert len(views_of(session_factory, case_id)) == 2


async def test_a_grid_worker_never_sees_the_whole_number(browser, accounts, make_case, session_factory, lifecycle):
    case_id = make_case("in_progress", village="小韩寨村", reporter_phone="13812345678",
                        description="我的电话是13812345678")
    lifecycle.add_note(case_id, Actor.unit("county_ecology", "张科长"), "已电话联系13812345678")
    client = await browser("grid-liu")

    page = await client.get(f"/console/cases/{case_id}")
    assert page.status == 200 and "138****5678" in page.text and "已电话联系138****5678" in page.text
    assert "13812345678" not in page.text and "显示完整号码" not in page.text
    assert action_forms(page) == []

    refused = await client.post(f"/console/cases/{case_id}/phone")
    assert refused.status == 403 and "13812345678" not in refused.text
    assert views_of(session_factory, case_id) == []


async def test_photos_place_and_the_conversation_transcript(browser, accounts, make_case, engine, clock):
    case_id = make_case(
        "reported", reporter_id="wx-transcript", reporter_phone="13812345678",
        attachments=[{"kind": "image", "source": "wechat", "media_id": "m-1", "url": "https://mmbiz.example/p/1.jpg"},
                     {"kind": "voice", "source": "wechat", "media_id": "v-1"}],
        latitude=37.21961, longitude=115.03652, location_label="巨鹿县王虎寨镇小韩寨村口", village="小韩寨村")
    tracker_metadata.create_all(engine)
    filed = clock.now.timestamp()
    said = [("user", filed - 4 * 3600, "很早以前的话"), ("user", filed - 120, "村口有人烧<b>秸秆</b>，电话13812345678"),
            ("bot", filed - 100, "请问在哪个乡镇？"), ("bot", filed + 60, "工单已登记")]
    with engine.begin() as connection:
        for type_name, at, text in said:
            connection.execute(insert(events_table).values(
                sender_id="wx-transcript", type_name=type_name, timestamp=at,
                intent_name="report_issue" if type_name == "user" else None,
                data=json.dumps({"event": type_name, "text": text, "timestamp": at}, ensure_ascii=False)))
        connection.execute(insert(events_table).values(
            sender_id="wx-other", type_name="user", timestamp=filed, intent_name="greet",
            data=json.dumps({"event": "user", "text": "别人的会话"}, ensure_ascii=False)))
    client = await browser("wangfang")

    page = await client.get(f"/console/cases/{case_id}")

    assert '<img src="https://mmbiz.example/p/1.jpg" alt="群众上传的照片 1"' in page.text
    assert "语音" in page.text and "小韩寨村" in page.text and "巨鹿县王虎寨镇小韩寨村口" in page.text
    assert "37.21961, 115.03652" in page.text
    transcript = re.search(r'<div class="transcript">(.*?)</div>\s*</section>', page.text, re.S).group(1)
    assert "村口有人烧&lt;b&gt;秸秆&lt;/b&gt;，电话138****5678" in transcript
    assert transcript.index("村口有人烧") < transcript.index("请问在哪个乡镇") < transcript.index("工单已登记")
    assert "很早以前的话" not in transcript and "别人的会话" not in transcript
    assert 'class="msg resident"' in transcript and 'class="msg bot"' in transcript


async def test_someone_elses_case_and_a_missing_one_are_error_pages(browser, accounts, make_case):
    assigned = make_case("assigned", village="小韩寨村")
    other_unit = await browser("city-li")
    other_grid = await browser("grid-zhao")
    dispatcher = await browser("wangfang")

    for client in (other_unit, other_grid):
        page = await client.get(f"/console/cases/{assigned}")
        assert page.status == 403 and "无权访问" in page.text and "焚烧" not in page.text
    acted = await other_unit.post(f"/console/cases/{assigned}/acknowledge", {})
    assert acted.status == 403
    missing = await dispatcher.get("/console/cases/JL20261130-0999")
    assert missing.status == 404 and "没有找到这个工单" in missing.text
    wrong = await dispatcher.post(f"/console/cases/{assigned}/resolve", {"result": "x"})
    assert wrong.status == 403 and "Traceback" not in wrong.text


@pytest.mark.parametrize("action", ["accept", "acknowledge"])
async def test_a_form_without_the_csrf_token_changes_nothing(browser, accounts, make_case, lifecycle, action):
    case_id = make_case("reported" if action == "accept" else "assigned")
    client = await browser("admin1")
    before = len(lifecycle.history(case_id))

    page = await client.post(f"/console/cases/{case_id}/{action}", {"importance_level": "1"}, csrf="")

    assert page.status == 403 and len(lifecycle.history(case_id)) == before


async def test_an_administrator_may_act_for_the_lead_unit(browser, accounts, make_case, lifecycle):
    case_id = make_case("assigned")
    client = await browser("admin1")

    page = await client.get(f"/console/cases/{case_id}")
    assert action_forms(page) == ["acknowledge", "note", "return"]
    await client.post(f"/console/cases/{case_id}/acknowledge", {})

    last = lifecycle.history(case_id)[-1]
    assert (last.event, last.actor, last.actor_role, last.data["unit"]) == (
        "acknowledged", "平台管理员", "unit", "county_ecology")
