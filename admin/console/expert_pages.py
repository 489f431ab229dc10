"""专家咨询 and 知识库候选 (issue 7 part 4): the experts' consultation pages and the administrators' review of the
answers proposed for the knowledge base. Services: :class:`workflow.experts.ExpertDesk`.

- ``GET /console/experts`` (experts, dispatchers, administrators): the open consultations, oldest first — an
  expert's own; every one for dispatchers and administrators, those waiting for an expert marked 待指派专家. Each row:
  the consultation number, the grower's question, the village if known, the phone masked, the first response due.
- ``GET /console/experts/<case_id>``: one consultation (an expert only their own: else 403; a case of another kind
  404): the question, place, masked phone, times, the answer once given; the assigned expert's answer form; a
  dispatcher's 指派专家 form while it waits.
- ``POST /console/experts/<case_id>/answer`` (experts; form ``answer``, ``suggest=1`` for 建议加入知识库): takes the
  consultation on and resolves it with the answer; the grower gets 农技专家李明答复您的问题：… on their channel.
  Another expert gets 403 (:class:`~workflow.exceptions.NotCaseAssignee`), an empty answer the page again (422).
- ``POST /console/experts/<case_id>/assign`` (dispatchers, administrators; form ``account_id``, empty for the
  least-loaded expert).
- ``GET /console/knowledge-candidates`` (administrators; ``?status=pending|approved|rejected|all``) and
  ``POST /console/knowledge-candidates/<id>/approve`` / ``…/reject``: approval appends the entry to
  ``<data_dir>/knowledge/expert_answers.yml``.

Every POST answers 303 with ``?done=`` (a fixed message) or ``?error=`` (a fixed message), never the input.
"""

from __future__ import annotations

import asyncio

from sanic import Blueprint
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from admin.actions import path_case_id
from admin.console.access import check_may_read
from admin.console.session import ConsoleForbidden, page, session_of
from admin.console.templating import render_page
from workflow.accounts import AccountRole
from workflow.exceptions import InvalidCaseAction
from workflow.experts import (
    MAX_ANSWER,
    CandidateAlreadyReviewed,
    CandidateNotFound,
    ExpertDesk,
    KnowledgeFileError,
    NotExpert,
)
from workflow.phones import mask_phones_in
from workflow.status import CaseStatus
from workflow.transitions import Actor

STAFF = (AccountRole.DISPATCHER, AccountRole.ADMIN)
CANDIDATE_STATUSES = {"pending": "待审核", "approved": "已加入知识库", "rejected": "未采纳"}
DONE = {
    "answered": "答复已发送给群众，工单已办结，等待群众评价。",
    "answered_suggested": "答复已发送给群众；已提交知识库候选，等待管理员审核。",
    "assigned": "已指派专家，并已告知群众。",
    "approved": "已加入知识库（expert_answers.yml）。",
    "rejected": "已标记为未采纳。",
}
ERRORS = {
    "empty_answer": f"请填写答复内容（1–{MAX_ANSWER}字）。",
    "not_waiting": "该咨询已不在等待指派的状态。",
    "no_expert": "所选账号不是在岗的专家，或目前没有在岗的专家。",
    "reviewed": "该候选已审核过。",
    "file": "知识库文件无法写入或格式有误，未加入。请联系管理员检查 data/knowledge/expert_answers.yml。",
}
_ANSWERABLE = frozenset({CaseStatus.ASSIGNED, CaseStatus.REOPENED, CaseStatus.IN_PROGRESS})


def register(blueprint: Blueprint) -> None:
    """Add the expert and knowledge-candidate routes."""
    blueprint.add_route(consultations_page, "/experts", methods=["GET"])
    blueprint.add_route(consultation_page, "/experts/<case_id:str>", methods=["GET"])
    blueprint.add_route(answer, "/experts/<case_id:str>/answer", methods=["POST"])
    blueprint.add_route(assign, "/experts/<case_id:str>/assign", methods=["POST"])
    blueprint.add_route(candidates_page, "/knowledge-candidates", methods=["GET"])
    blueprint.add_route(approve, "/knowledge-candidates/<candidate_id:int>/approve", methods=["POST"])
    blueprint.add_route(reject, "/knowledge-candidates/<candidate_id:int>/reject", methods=["POST"])


def expert_desk(request: Request) -> ExpertDesk:
    """The expert desk over the console's database, with the lifecycle's clock, calendar and policy."""
    lifecycle = request.app.ctx.lifecycle
    return ExpertDesk(request.app.ctx.session_factory, lifecycle.calendar, clock=lifecycle.now,
                      policy=lifecycle.policy, lifecycle=lifecycle,
                      knowledge_dir=request.app.ctx.settings.data_dir / "knowledge")


def _messages(request: Request) -> dict[str, str | None]:
    return {"flash": DONE.get(request.args.get("done") or ""), "error": ERRORS.get(request.args.get("error") or "")}


# ---------------------------------------------------------------------- consultations
@page(AccountRole.EXPERT, *STAFF)
async def consultations_page(request: Request) -> HTTPResponse:
    """The open consultations: an expert's own, or every one for dispatchers and administrators."""
    account = session_of(request).account
    desk = expert_desk(request)
    mine = account.id if account.role is AccountRole.EXPERT else None
    views = await asyncio.to_thread(desk.open_consultations, mine)
    return render_page(request, "experts.html", views=views, mine=mine is not None,
                       questions=[mask_phones_in(view.description) for view in views], **_messages(request))


async def _consultation(request: Request, case_id: str):
    account = session_of(request).account
    view = await asyncio.to_thread(expert_desk(request).consultation, path_case_id(case_id))
    check_may_read(account, view)
    return account, view


@page(AccountRole.EXPERT, *STAFF)
async def consultation_page(request: Request, case_id: str) -> HTTPResponse:
    """One consultation with the forms the account may use now."""
    account, view = await _consultation(request, case_id)
    desk = expert_desk(request)
    may_answer = account.role is AccountRole.EXPERT and view.status in _ANSWERABLE
    may_assign = account.role in STAFF and view.status in (CaseStatus.REPORTED, CaseStatus.ACCEPTED)
    experts = await asyncio.to_thread(desk.experts) if may_assign else []
    return render_page(request, "expert_consultation.html", view=view, question=mask_phones_in(view.description),
                       result=mask_phones_in(view.result or ""), may_answer=may_answer, may_assign=may_assign,
                       experts=experts, max_answer=MAX_ANSWER, **_messages(request))


@page(AccountRole.EXPERT)
async def answer(request: Request, case_id: str) -> HTTPResponse:
    """The assigned expert's answer (403 for anyone else, from the lifecycle)."""
    account, view = await _consultation(request, case_id)
    form = request.form or {}
    text, suggest = (form.get("answer") or "").strip(), form.get("suggest") == "1"
    target = f"/console/experts/{view.case_id}"
    try:
        await asyncio.to_thread(expert_desk(request).answer, view.case_id, Actor.expert(account.id,
                                account.display_name), text, suggest_for_knowledge=suggest)
    except InvalidCaseAction:
        return redirect(f"{target}?error=empty_answer", status=303)
    return redirect(f"{target}?done={'answered_suggested' if suggest else 'answered'}", status=303)


@page(*STAFF)
async def assign(request: Request, case_id: str) -> HTTPResponse:
    """A dispatcher gives a waiting consultation to an expert (blank: the least-loaded one)."""
    account = session_of(request).account
    raw = ((request.form or {}).get("account_id") or "").strip()
    target = f"/console/experts/{path_case_id(case_id)}"
    try:
        chosen = int(raw) if raw else None
    except ValueError:
        return redirect(f"{target}?error=no_expert", status=303)
    try:
        await asyncio.to_thread(expert_desk(request).assign, path_case_id(case_id),
                                Actor.dispatcher(account.display_name), chosen)
    except NotExpert:
        return redirect(f"{target}?error=no_expert", status=303)
    except InvalidCaseAction as error:
        code = "no_expert" if error.context.get("field") == "account_id" else "not_waiting"
        return redirect(f"{target}?error={code}", status=303)
    return redirect(f"{target}?done=assigned", status=303)


# ---------------------------------------------------------------------- knowledge-base candidates
@page(AccountRole.ADMIN)
async def candidates_page(request: Request) -> HTTPResponse:
    """The candidates of one status (pending by default)."""
    status = request.args.get("status") or "pending"
    if status != "all" and status not in CANDIDATE_STATUSES:
        status = "pending"
    rows = await asyncio.to_thread(expert_desk(request).candidates, None if status == "all" else status)
    return render_page(request, "expert_candidates.html", rows=rows, shown=status, labels=CANDIDATE_STATUSES,
                       **_messages(request))


async def _review(request: Request, candidate_id: int, approving: bool) -> HTTPResponse:
    account = session_of(request).account
    if account.role is not AccountRole.ADMIN:  # the page guard says so too; kept next to the write
        raise ConsoleForbidden("only administrators review candidates", role=account.role.value, action="review")
    desk = expert_desk(request)
    call = desk.approve if approving else desk.reject
    try:
        await asyncio.to_thread(call, candidate_id, account.display_name)
    except CandidateNotFound:
        raise NotFound("no such knowledge candidate") from None
    except CandidateAlreadyReviewed:
        return redirect("/console/knowledge-candidates?error=reviewed", status=303)
    except KnowledgeFileError:
        return redirect("/console/knowledge-candidates?error=file", status=303)
    return redirect(f"/console/knowledge-candidates?done={'approved' if approving else 'rejected'}", status=303)


@page(AccountRole.ADMIN)
async def approve(request: Request, candidate_id: int) -> HTTPResponse:
    """Approve: the entry goes into the knowledge base's expert_answers.yml."""
    return await _review(request, candidate_id, True)


@page(AccountRole.ADMIN)
async def reject(request: Request, candidate_id: int) -> HTTPResponse:
    """Reject: nothing is written to the knowledge base."""
    return await _review(request, candidate_id, False)
