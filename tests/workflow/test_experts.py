"""Expert consultations (issue 7 part 4): assignment by load, the dispatcher when no expert is on duty, the answer
reaching the grower's channel under the expert's name, only the assigned expert answering, the grower's rating, and
knowledge-base candidates written to (or kept out of) the YAML file."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy import select

from workflow.accounts import AccountService
from workflow.exceptions import ActorNotAllowed, IllegalTransition, NotCaseAssignee
from workflow.experts import (
    EXPERT_ANSWERS_FILE,
    CandidateAlreadyReviewed,
    ExpertDesk,
    KnowledgeFileError,
    NotExpert,
    append_entry,
)
from workflow.models import Notification
from workflow.status import CaseStatus
from workflow.transitions import Actor, Rating

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "Julu2026experts"
QUESTION = "金银花叶子背面有白粉，一片一片的，打什么药？"


@pytest.fixture
def accounts(session_factory, clock):
    return AccountService(session_factory, clock)


@pytest.fixture
def desk(session_factory, calendar, clock, lifecycle, tmp_path):
    return ExpertDesk(session_factory, calendar, clock=clock, lifecycle=lifecycle, knowledge_dir=tmp_path / "knowledge")


def _expert(accounts, username, name):
    return accounts.create(username, PASSWORD, role="expert", display_name=name)


def _to_grower(session_factory, sender):
    with session_factory() as session:
        return list(session.execute(select(Notification).where(Notification.recipient_role == "resident",
                                                               Notification.recipient_id == sender)
                                    .order_by(Notification.id)).scalars())


def test_it_gives_the_question_to_the_expert_with_the_fewest_open_consultations(desk, accounts, clock,
                                                                                 session_factory):
    li = _expert(accounts, "expert-li", "农技专家李明")
    wang = _expert(accounts, "expert-wang", "农技专家王红")

    first = desk.ask(QUESTION, sender_id="wx-grower-1", channel="wechat", village="小韩寨村")
    second = desk.ask("金银花什么时候摘最好？", sender_id="wx-grower-2", channel="wechat")
    third = desk.ask("二白期怎么看？", sender_id="wx-grower-3", channel="socketio")

    # a tie goes to the lower account id; then the one with fewer open consultations
    assert [v.assignee_name for v in (first, second, third)] == ["农技专家李明", "农技专家王红", "农技专家李明"]
    assert first.kind == "expert" and first.status is CaseStatus.ASSIGNED and not first.needs_review
    assert (first.category, first.matter_type.value, first.lead_unit.code) == ("agriculture", "public_service",
                                                                                "county_agriculture")
    assert first.village == "小韩寨村" and first.township == "wanghuzhai_zhen"
    # Monday 30 Nov 2026 09:30: first response by the 1st working day's 17:30, the answer by the 2nd's
    assert first.first_response_due == dt.datetime(2026, 12, 1, 17, 30, tzinfo=SHANGHAI)
    assert first.deadline == dt.datetime(2026, 12, 2, 17, 30, tzinfo=SHANGHAI)
    assert {(i, n) for i, n, _ in desk.experts()} == {(li.id, "农技专家李明"), (wang.id, "农技专家王红")}
    [told] = _to_grower(session_factory, "wx-grower-1")
    assert told.kind == "expert_filed" and told.channel == "wechat" and first.case_id in told.text
    assert "由农技专家李明为您解答" in told.text and "12月1日" in told.text
    assert told.delivered_at is not None  # the bot says it in the same turn
    assert [v.case_id for v in desk.open_consultations_of_sender("wx-grower-1")] == [first.case_id]
    assert [v.case_id for v in desk.open_consultations(li.id)] == [first.case_id, third.case_id]


def test_a_disabled_expert_gets_nothing(desk, accounts):
    li = _expert(accounts, "expert-li", "农技专家李明")
    _expert(accounts, "expert-wang", "农技专家王红")
    accounts.disable(li.id)
    assert desk.ask(QUESTION, sender_id="wx-1", channel="wechat").assignee_name == "农技专家王红"


def test_without_an_expert_it_waits_for_the_dispatcher_who_gives_it_to_one(desk, accounts, lifecycle,
                                                                           session_factory):
    view = desk.ask(QUESTION, sender_id="wx-grower", channel="wechat")

    assert view.status is CaseStatus.REPORTED and view.needs_review
    assert (view.assignee_name, view.first_response_due) == (None, None)
    [filed] = lifecycle.history(view.case_id)
    assert "没有在岗的专家" in filed.note and filed.data["review_reason"] == filed.note
    [told] = _to_grower(session_factory, "wx-grower")
    assert "正在为您安排专家" in told.text

    li = _expert(accounts, "expert-li", "农技专家李明")
    with pytest.raises(ActorNotAllowed):
        desk.assign(view.case_id, Actor.resident("wx-grower"))
    with pytest.raises(NotExpert):
        desk.assign(view.case_id, Actor.dispatcher("调度员王芳"), account_id=li.id + 100)
    given = desk.assign(view.case_id, Actor.dispatcher("调度员王芳"))

    assert (given.status, given.assignee_name, given.needs_review) == (CaseStatus.ASSIGNED, "农技专家李明", False)
    assert [e.event for e in lifecycle.history(view.case_id)] == ["filed", "accepted", "assigned"]
    assert lifecycle.history(view.case_id)[-1].actor == "调度员王芳"
    pushed = _to_grower(session_factory, "wx-grower")[-1]
    assert "由农技专家李明为您解答" in pushed.text and pushed.delivered_at is None  # pushed: the grower left


def test_the_answer_reaches_the_growers_channel_under_the_experts_name_and_can_be_rated(
        desk, accounts, lifecycle, session_factory):
    li = _expert(accounts, "expert-li", "农技专家李明")
    view = desk.ask(QUESTION, sender_id="wx-grower", channel="wechat")

    answered = desk.answer(view.case_id, Actor.expert(li.id, li.display_name),
                           "这是白粉病，发病初期用25%三唑酮可湿性粉剂1500倍液喷雾，7天一次，连喷两次")

    assert answered.status is CaseStatus.RESOLVED and answered.result.startswith("这是白粉病")
    assert answered.first_response_at is not None
    answer = _to_grower(session_factory, "wx-grower")[-1]
    assert (answer.kind, answer.channel, answer.recipient_role) == ("resolved", "wechat", "resident")
    assert answer.text.startswith("农技专家李明答复您的问题：这是白粉病")
    assert "满意" in answer.text and answer.delivered_at is None  # pushed through the channel
    assert [e.actor_role for e in lifecycle.history(view.case_id)][-2:] == ["expert", "expert"]
    assert desk.open_consultations_of_sender("wx-grower") == []

    rated = lifecycle.rate(view.case_id, Actor.resident("wx-grower"), Rating.SATISFIED)
    assert rated.status is CaseStatus.CLOSED


def test_another_expert_cannot_answer(desk, accounts):
    li = _expert(accounts, "expert-li", "农技专家李明")
    wang = _expert(accounts, "expert-wang", "农技专家王红")
    view = desk.ask(QUESTION, sender_id="wx-grower", channel="wechat")
    assert view.assignee_account_id == li.id

    with pytest.raises(NotCaseAssignee):
        desk.answer(view.case_id, Actor.expert(wang.id, wang.display_name), "我来答")
    with pytest.raises(NotCaseAssignee):
        desk.answer(view.case_id, Actor.dispatcher("调度员王芳"), "我来答")
    assert desk.consultation(view.case_id).status is CaseStatus.ASSIGNED
    desk.answer(view.case_id, Actor.expert(li.id, li.display_name), "用三唑酮")
    with pytest.raises(IllegalTransition):  # answered once
        desk.answer(view.case_id, Actor.expert(li.id, li.display_name), "再答一次")


def test_an_approved_candidate_is_appended_to_the_knowledge_file_as_valid_yaml(desk, accounts, tmp_path):
    li = _expert(accounts, "expert-li", "农技专家李明")
    first = desk.ask(QUESTION, sender_id="wx-1", channel="wechat")
    second = desk.ask("金银花  什么时候\n修剪？", sender_id="wx-2", channel="wechat")
    actor = Actor.expert(li.id, li.display_name)
    desk.answer(first.case_id, actor, "白粉病，用三唑酮。", suggest_for_knowledge=True)
    desk.answer(second.case_id, actor, "冬剪在落叶后到发芽前。", suggest_for_knowledge=True)
    one, two = desk.candidates()
    assert (one.case_id, one.question, one.expert_name, one.status) == (first.case_id, QUESTION, "农技专家李明",
                                                                         "pending")

    approved = desk.approve(one.id, "平台管理员")
    desk.approve(two.id, "平台管理员")

    document = yaml.safe_load((tmp_path / "knowledge" / EXPERT_ANSWERS_FILE).read_text(encoding="utf-8"))
    entry_id = "expert_" + first.case_id.lower().replace("-", "_")  # expert_jl20261130_0001
    assert (document["kind"], document["title"]) == ("farming", "巨好办专家答复")
    assert document["entries"][0] == {
        "id": entry_id, "topic": "专家答复", "question": QUESTION, "alternatives": [], "answer": "白粉病，用三唑酮。",
        "source": "巨好办专家答复（农技专家李明 2026-11-30）", "checked": dt.date(2026, 11, 30)}
    assert document["entries"][1]["question"] == "金银花 什么时候 修剪？"
    assert (approved.status, approved.reviewed_by, approved.entry_id) == ("approved", "平台管理员", entry_id)
    assert desk.candidates() == []
    with pytest.raises(CandidateAlreadyReviewed):
        desk.reject(one.id, "平台管理员")
    assert not list((tmp_path / "knowledge").glob("*.tmp"))


def test_a_rejected_candidate_writes_nothing(desk, accounts, tmp_path):
    li = _expert(accounts, "expert-li", "农技专家李明")
    view = desk.ask(QUESTION, sender_id="wx-1", channel="wechat")
    desk.answer(view.case_id, Actor.expert(li.id, li.display_name), "看情况。", suggest_for_knowledge=True)
    [candidate] = desk.candidates()

    rejected = desk.reject(candidate.id, "平台管理员")

    assert (rejected.status, rejected.reviewed_by) == ("rejected", "平台管理员")
    assert not (tmp_path / "knowledge" / EXPERT_ANSWERS_FILE).exists()
    assert [c.status for c in desk.candidates(None)] == ["rejected"]


def test_an_answer_not_suggested_makes_no_candidate(desk, accounts):
    li = _expert(accounts, "expert-li", "农技专家李明")
    view = desk.ask(QUESTION, sender_id="wx-1", channel="wechat")
    desk.answer(view.case_id, Actor.expert(li.id, li.display_name), "用三唑酮。")
    assert desk.candidates(None) == []


def test_a_broken_knowledge_file_is_left_alone_and_the_candidate_stays_pending(desk, accounts, tmp_path):
    li = _expert(accounts, "expert-li", "农技专家李明")
    view = desk.ask(QUESTION, sender_id="wx-1", channel="wechat")
    desk.answer(view.case_id, Actor.expert(li.id, li.display_name), "用三唑酮。", suggest_for_knowledge=True)
    [candidate] = desk.candidates()
    path = tmp_path / "knowledge" / EXPERT_ANSWERS_FILE
    path.parent.mkdir(parents=True)
    path.write_text("entries: [unclosed\n", encoding="utf-8")

    with pytest.raises(KnowledgeFileError):
        desk.approve(candidate.id, "平台管理员")

    assert path.read_text(encoding="utf-8") == "entries: [unclosed\n"
    assert [c.status for c in desk.candidates()] == ["pending"]


def test_the_same_entry_id_is_replaced_not_repeated(tmp_path):
    path = tmp_path / EXPERT_ANSWERS_FILE
    append_entry(path, {"id": "expert-JL1", "answer": "旧"})
    append_entry(path, {"id": "expert-JL2", "answer": "另一条"})
    append_entry(path, {"id": "expert-JL1", "answer": "新"})
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]
    assert [(e["id"], e["answer"]) for e in entries] == [("expert-JL2", "另一条"), ("expert-JL1", "新")]


def test_an_expert_account_can_be_created(accounts):
    view = accounts.create("expert-zhao", PASSWORD, role="expert", display_name="农技专家赵刚")
    assert (view.role.value, view.role.label, view.unit_code, view.village_code) == ("expert", "专家", None, None)
