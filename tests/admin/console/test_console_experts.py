"""The console's expert consultation (issue 7 part 4): an expert's list and answer, the grower's message, another
expert refused, the dispatcher giving a waiting consultation to an expert, the administrator's knowledge candidates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from admin.app import create_app
from sanic_support import serving
from workflow.accounts import AccountService
from workflow.experts import ExpertDesk
from workflow.models import Notification
from workflow.settings import Settings

DATA_DIR = Path(__file__).resolve().parents[3] / "data"
QUESTION = "金银花叶子背面有白粉，打什么药？我电话13912345678"


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """The repository's data, except an empty knowledge directory of the test's own (approvals write there)."""
    root = tmp_path / "data"
    root.mkdir()
    for entry in DATA_DIR.iterdir():
        if entry.name != "knowledge":
            (root / entry.name).symlink_to(entry)
    (root / "knowledge").mkdir()
    return root


@pytest.fixture
async def console(database_url, case_service, lifecycle, data_dir) -> AsyncIterator[str]:
    settings = Settings(database_url=database_url, admin_token="console-tests-admin-token", data_dir=data_dir)
    app = create_app(settings, case_service=case_service, lifecycle=lifecycle)
    async with serving(app) as (base_url, _session):
        yield base_url


@pytest.fixture
def desk(session_factory, calendar, clock, lifecycle):
    return ExpertDesk(session_factory, calendar, clock=clock, lifecycle=lifecycle)


def _grower_messages(session_factory, sender):
    with session_factory() as session:
        return list(session.execute(select(Notification).where(Notification.recipient_id == sender)
                                    .order_by(Notification.id)).scalars())


async def test_an_expert_answers_their_consultation_and_the_grower_gets_it(browser, accounts, desk,
                                                                           session_factory, data_dir):
    view = desk.ask(QUESTION, sender_id="wx-grower", channel="wechat", village="小韩寨村", phone="13912345678")
    assert view.assignee_name == "农技专家李明"
    expert = await browser("expert-li")

    listing = await expert.get("/console/experts")
    assert listing.status == 200 and view.case_id in listing.text
    assert "金银花叶子背面有白粉" in listing.text and "小韩寨村" in listing.text
    assert "13912345678" not in listing.text and "139****5678" in listing.text
    assert "专家咨询" in listing.text and "知识库候选" not in listing.text  # the nav: no admin pages
    queue = await expert.get("/console/cases")
    assert view.case_id in queue.text  # their consultations are their queue too

    consultation = await expert.get(f"/console/experts/{view.case_id}")
    assert consultation.status == 200 and "答复群众" in consultation.text and "建议加入知识库" in consultation.text
    answered = await expert.post(f"/console/experts/{view.case_id}/answer",
                                 {"answer": "这是白粉病，用25%三唑酮1500倍液喷雾。", "suggest": "1"})

    assert answered.status == 200 and "已提交知识库候选" in answered.text
    assert "这是白粉病" in answered.text and "答复群众" not in answered.text  # answered once: no form
    told = _grower_messages(session_factory, "wx-grower")[-1]
    assert (told.kind, told.channel, told.recipient_role) == ("resolved", "wechat", "resident")
    assert told.text.startswith("农技专家李明答复您的问题：这是白粉病")
    assert (await expert.get("/console/experts")).text.count(view.case_id) == 0  # no longer open

    admin = await browser("admin1")
    candidates = await admin.get("/console/knowledge-candidates")
    assert candidates.status == 200 and view.case_id in candidates.text and "农技专家李明" in candidates.text
    [candidate] = desk.candidates()
    approved = await admin.post(f"/console/knowledge-candidates/{candidate.id}/approve")
    assert approved.status == 200 and "已加入知识库" in approved.text
    [entry] = yaml.safe_load((data_dir / "knowledge" / "expert_answers.yml").read_text(encoding="utf-8"))["entries"]
    assert entry["answer"] == "这是白粉病，用25%三唑酮1500倍液喷雾。"
    assert entry["source"] == "巨好办专家答复（农技专家李明 2026-11-30）"
    again = await admin.post(f"/console/knowledge-candidates/{candidate.id}/reject")
    assert "该候选已审核过" in again.text


async def test_another_expert_can_neither_see_nor_answer_it(browser, accounts, desk, session_factory):
    view = desk.ask(QUESTION, sender_id="wx-grower", channel="wechat")
    AccountService(session_factory).create("expert-wang", "Julu2026console", role="expert",
                                           display_name="农技专家王红")
    other = await browser("expert-wang")

    assert view.case_id not in (await other.get("/console/experts")).text
    assert (await other.get(f"/console/experts/{view.case_id}")).status == 403
    assert (await other.get(f"/console/cases/{view.case_id}")).status == 403
    refused = await other.post(f"/console/experts/{view.case_id}/answer", {"answer": "我来答"}, follow=False)
    assert refused.status == 403
    dispatcher = await browser("wangfang")
    assert (await dispatcher.post(f"/console/experts/{view.case_id}/answer", {"answer": "我来答"})).status == 403
    assert desk.consultation(view.case_id).result is None
    assert [m.kind for m in _grower_messages(session_factory, "wx-grower")] == ["expert_filed"]


async def test_an_empty_answer_is_refused_with_the_reason(browser, accounts, desk):
    view = desk.ask(QUESTION, sender_id="wx-grower", channel="wechat")
    expert = await browser("expert-li")
    await expert.get(f"/console/experts/{view.case_id}")
    page = await expert.post(f"/console/experts/{view.case_id}/answer", {"answer": "  "})
    assert "请填写答复内容" in page.text and desk.consultation(view.case_id).result is None


async def test_the_dispatcher_gives_a_waiting_consultation_to_an_expert(browser, accounts, desk, session_factory):
    AccountService(session_factory).disable(accounts.expert.id)
    view = desk.ask(QUESTION, sender_id="wx-grower", channel="wechat")
    assert view.assignee_name is None and view.needs_review
    dispatcher = await browser("wangfang")

    listing = await dispatcher.get("/console/experts")
    assert view.case_id in listing.text and "待指派专家" in listing.text
    page = await dispatcher.get(f"/console/experts/{view.case_id}")
    assert "指派专家" in page.text and "目前没有在岗的专家账号" in page.text
    refused = await dispatcher.post(f"/console/experts/{view.case_id}/assign", {"account_id": ""})
    assert "目前没有在岗的专家" in refused.text

    wang = AccountService(session_factory).create("expert-wang", "Julu2026console", role="expert",
                                                  display_name="农技专家王红")
    await dispatcher.get(f"/console/experts/{view.case_id}")
    given = await dispatcher.post(f"/console/experts/{view.case_id}/assign", {"account_id": str(wang.id)})
    assert "已指派专家" in given.text and "农技专家王红" in given.text
    told = _grower_messages(session_factory, "wx-grower")[-1]
    assert "由农技专家王红为您解答" in told.text and told.delivered_at is None
