"""Who may use which console route: every route under /console × every kind of user (SQLite and PostgreSQL).

:data:`ROUTES` has one row per route of the app (``test_every_console_route_has_a_row`` fails for a route without
one, so a new page cannot be forgotten: add its row here). Each row names the request, the case it needs (a fresh
one per user, in the grid worker's village, led by the lead unit's ``county_ecology``) and what each user gets:

- ``ok``: the page (200), or a redirect inside the console; ``done``: an action that succeeded (303 to the case
  page with ``?done=``); ``allowed``: let through (any answer but refused or "log in": for pages of other modules
  whose own tests check the answer, e.g. a 404 for an account id that does not exist, a 409 without a take-over);
- ``denied``: the 403 page; ``login``: no session, so the log-in page (a GET) or 401 (a POST or a script's GET).

To add a route: a row with its method, its route as sanic spells it, the path to request and the expectations
(:func:`_row` for the common patterns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sanic import Sanic

from admin.app import create_app
from console_support import PASSWORD
from workflow.settings import Settings

DATA_DIR = Path(__file__).resolve().parents[3] / "data"
ROLES = ("none", "dispatcher", "lead_unit", "other_unit", "grid_worker", "other_grid_worker", "admin", "expert")
USERNAMES = {"dispatcher": "wangfang", "lead_unit": "eco-zhang", "other_unit": "city-li", "grid_worker": "grid-liu",
             "other_grid_worker": "grid-zhao", "admin": "admin1", "expert": "expert-li"}
OK, DONE, ALLOWED, DENIED, LOGIN = "ok", "done", "allowed", "denied", "login"


def _row(*, dispatcher: str, lead_unit: str, other_unit: str, grid_worker: str, other_grid_worker: str, admin: str,
         none: str = LOGIN, expert: str = DENIED) -> dict[str, str]:
    """``expert``: an expert reads and does only their own consultations (none of the rows' cases are)."""
    return {"none": none, "dispatcher": dispatcher, "lead_unit": lead_unit, "other_unit": other_unit,
            "grid_worker": grid_worker, "other_grid_worker": other_grid_worker, "admin": admin, "expert": expert}


def _everyone(outcome: str, none: str = LOGIN) -> dict[str, str]:
    return _row(dispatcher=outcome, lead_unit=outcome, other_unit=outcome, grid_worker=outcome,
                other_grid_worker=outcome, admin=outcome, none=none, expert=outcome)


def _only(outcome: str, *roles: str) -> dict[str, str]:
    return {role: (LOGIN if role == "none" else outcome if role in roles else DENIED) for role in ROLES}


#: Reading a case: whoever may read it (its lead unit once assigned, its village's grid worker, dispatchers).
READ_CASE = _row(dispatcher=OK, lead_unit=OK, other_unit=DENIED, grid_worker=OK, other_grid_worker=DENIED, admin=OK)
#: The full phone number: those who call the resident back, never grid workers.
FULL_PHONE = _only(OK, "dispatcher", "lead_unit", "admin")
DISPATCHING = _only(DONE, "dispatcher", "admin")
UNIT_WORK = _only(DONE, "lead_unit", "admin")
STAFF_PAGES = _only(ALLOWED, "dispatcher", "admin")
#: The 积分 pages: dispatchers, administrators and grid workers (any village: activities and the mall are the county's).
POINTS_STAFF = lambda outcome: _only(outcome, "dispatcher", "grid_worker", "other_grid_worker", "admin")  # noqa: E731


@dataclass(frozen=True)
class Route:
    """One row: ``method`` and ``route`` (as the app has it), the ``path`` requested (``{case}``, ``{original}``
    filled in), the case ``situation`` needed (a key of admin_support.PATHS, None for none), the form, and the
    expected outcome per role."""

    method: str
    route: str
    path: str
    expected: dict[str, str]
    situation: str | None = None
    form: dict[str, Any] = field(default_factory=dict)
    own_session: bool = False  # the request may end or change the session: each user logs in afresh for it


CASE = "/console/cases/<case_id:str>"
ROUTES: dict[str, Route] = {
    # login.py
    "home": Route("GET", "/console", "/console", _everyone(OK)),
    "login form": Route("GET", "/console/login", "/console/login", _everyone(OK, none=OK), own_session=True),
    "log in without the form's token": Route("POST", "/console/login", "/console/login", _everyone(DENIED, none=DENIED),
                                             form={"username": "wangfang", "password": PASSWORD}, own_session=True),
    "log out": Route("POST", "/console/logout", "/console/logout", _everyone(OK), own_session=True),
    # static_files.py
    "static file": Route("GET", "/console/static/<name:str>", "/console/static/console.css", _everyone(OK, none=OK)),
    # queue.py
    "case queue": Route("GET", "/console/cases", "/console/cases", _everyone(OK)),
    # case_page.py
    "case page": Route("GET", CASE, "/console/cases/{case}", READ_CASE, "assigned"),
    "full phone number": Route("POST", CASE + "/phone", "/console/cases/{case}/phone", FULL_PHONE, "assigned"),
    "accept": Route("POST", CASE + "/accept", "/console/cases/{case}/accept", DISPATCHING, "reported",
                    {"importance_level": "2"}),
    "assign": Route("POST", CASE + "/assign", "/console/cases/{case}/assign", DISPATCHING, "accepted"),
    "reject": Route("POST", CASE + "/reject", "/console/cases/{case}/reject", DISPATCHING, "reported",
                    {"reason": "invalid", "note": "无实际内容"}),
    "duplicate": Route("POST", CASE + "/duplicate", "/console/cases/{case}/duplicate", DISPATCHING, "reported",
                       {"duplicate_of": "{original}", "note": "同一事项"}),
    "reopen": Route("POST", CASE + "/reopen", "/console/cases/{case}/reopen", DISPATCHING, "review"),
    "close": Route("POST", CASE + "/close", "/console/cases/{case}/close", DISPATCHING, "review",
                   {"reason": "已向群众解释清楚"}),
    "acknowledge": Route("POST", CASE + "/acknowledge", "/console/cases/{case}/acknowledge", UNIT_WORK, "assigned"),
    "note": Route("POST", CASE + "/note", "/console/cases/{case}/note", UNIT_WORK, "in_progress",
                  {"note": "已联系村委会"}),
    "return": Route("POST", CASE + "/return", "/console/cases/{case}/return", UNIT_WORK, "assigned",
                    {"reason": "不属于本单位职责"}),
    "resolve": Route("POST", CASE + "/resolve", "/console/cases/{case}/resolve", UNIT_WORK, "in_progress",
                     {"result": "已处理完毕"}),
    # the case's village has no grid data here: the dispatchers get the page's "unknown grid" message
    "set_grid": Route("POST", CASE + "/set_grid", "/console/cases/{case}/set_grid", STAFF_PAGES, "reported",
                      {"grid_code": "NO-SUCH-GRID"}),
    # overview_page.py
    "overview": Route("GET", "/console/overview", "/console/overview",
                      _only(ALLOWED, "dispatcher", "lead_unit", "other_unit", "admin")),
    "overview figures": Route("GET", "/console/overview.json", "/console/overview.json",
                              _only(ALLOWED, "dispatcher", "lead_unit", "other_unit", "admin")),
    # chat_binding_page.py
    "chat binding": Route("GET", "/console/chat-binding", "/console/chat-binding",
                          _only(OK, "grid_worker", "other_grid_worker")),
    "new binding code": Route("POST", "/console/chat-binding", "/console/chat-binding",
                              _only(OK, "grid_worker", "other_grid_worker")),
    "unbind chat": Route("POST", "/console/chat-binding/unbind", "/console/chat-binding/unbind",
                         _only(DONE, "grid_worker", "other_grid_worker"), form={"channel": "wechat", "sender_id": "x"}),
    # points_pages.py, points_mall_pages.py (activity 999999 and the pickup code do not exist: nobody is credited)
    "activities": Route("GET", "/console/activities", "/console/activities", POINTS_STAFF(OK)),
    "register activity": Route("POST", "/console/activities", "/console/activities", POINTS_STAFF(DONE),
                               form={"title": "清理村内垃圾", "held_on": "2026-11-30", "points": "10"}),
    "activity": Route("GET", "/console/activities/<activity_id:int>", "/console/activities/999999",
                      POINTS_STAFF(ALLOWED)),
    "confirm attendees": Route("POST", "/console/activities/<activity_id:int>/attendees",
                               "/console/activities/999999/attendees", POINTS_STAFF(ALLOWED),
                               form={"phones": "13812345678"}),
    "mall": Route("GET", "/console/mall", "/console/mall", POINTS_STAFF(OK)),
    "hand out": Route("POST", "/console/mall/collect", "/console/mall/collect", POINTS_STAFF(ALLOWED),
                      form={"pickup_code": "AAAAAA"}),
    "restock": Route("POST", "/console/mall/restock", "/console/mall/restock", _only(ALLOWED, "admin"),
                     form={"item": "washing_powder", "quantity": "1"}),
    # expert_pages.py (consultation JL20261130-9999 and candidate 999999 do not exist: nothing is changed)
    "expert consultations": Route("GET", "/console/experts", "/console/experts", _only(OK, "dispatcher", "admin",
                                                                                       "expert")),
    "expert consultation": Route("GET", "/console/experts/<case_id:str>", "/console/experts/JL20261130-9999",
                                 _only(ALLOWED, "dispatcher", "admin", "expert")),
    "expert answer": Route("POST", "/console/experts/<case_id:str>/answer", "/console/experts/JL20261130-9999/answer",
                           _only(ALLOWED, "expert"), form={"answer": "用三唑酮"}),
    "assign expert": Route("POST", "/console/experts/<case_id:str>/assign", "/console/experts/JL20261130-9999/assign",
                           STAFF_PAGES),
    "knowledge candidates": Route("GET", "/console/knowledge-candidates", "/console/knowledge-candidates",
                                  _only(OK, "admin")),
    "approve candidate": Route("POST", "/console/knowledge-candidates/<candidate_id:int>/approve",
                               "/console/knowledge-candidates/999999/approve", _only(ALLOWED, "admin")),
    "reject candidate": Route("POST", "/console/knowledge-candidates/<candidate_id:int>/reject",
                              "/console/knowledge-candidates/999999/reject", _only(ALLOWED, "admin")),
    # conversation_pages.py
    "conversations": Route("GET", "/console/conversations", "/console/conversations", STAFF_PAGES),
    "conversation": Route("GET", "/console/conversations/<sender_id:str>", "/console/conversations/wx-nobody",
                          STAFF_PAGES),
    "conversation messages": Route("GET", "/console/conversations/<sender_id:str>/messages.json",
                                   "/console/conversations/wx-nobody/messages.json", STAFF_PAGES),
    "take over": Route("POST", "/console/conversations/<sender_id:str>/takeover",
                       "/console/conversations/wx-nobody/takeover", STAFF_PAGES),
    "send": Route("POST", "/console/conversations/<sender_id:str>/send", "/console/conversations/wx-nobody/send",
                  STAFF_PAGES, form={"text": "您好"}),
    "hand back": Route("POST", "/console/conversations/<sender_id:str>/handback",
                       "/console/conversations/wx-nobody/handback", STAFF_PAGES),
    # account_pages.py (account 999999 does not exist: nobody is changed)
    "accounts": Route("GET", "/console/accounts", "/console/accounts", _only(ALLOWED, "admin")),
    "create account": Route("POST", "/console/accounts", "/console/accounts", _only(ALLOWED, "admin")),
    "unlock account": Route("POST", "/console/accounts/<account_id:int>/unlock", "/console/accounts/999999/unlock",
                            _only(ALLOWED, "admin")),
    "reset password": Route("POST", "/console/accounts/<account_id:int>/password",
                            "/console/accounts/999999/password", _only(ALLOWED, "admin")),
    "disable account": Route("POST", "/console/accounts/<account_id:int>/disable",
                             "/console/accounts/999999/disable", _only(ALLOWED, "admin")),
    "own password form": Route("GET", "/console/password", "/console/password", _everyone(ALLOWED)),
    "change own password": Route("POST", "/console/password", "/console/password", _everyone(ALLOWED),
                                 form={"current_password": "wrong", "new_password": "", "confirm_password": ""},
                                 own_session=True),
}


def console_routes() -> set[tuple[str, str]]:
    """(method, route) of every route the admin app serves under /console."""
    previous = Sanic.test_mode
    Sanic.test_mode = True
    try:
        app = create_app(Settings(database_url="sqlite://", admin_token="route-listing", data_dir=DATA_DIR))
    finally:
        Sanic.test_mode = previous
    found = set()
    for route in app.router.routes:
        path = "/" + route.path
        if path == "/console" or path.startswith("/console/"):
            found |= {(method, path) for method in route.methods if method not in ("HEAD", "OPTIONS")}
    return found


_SERVED = console_routes()


def test_every_console_route_has_a_row():
    listed = {(row.method, row.route) for row in ROUTES.values()}
    missing = sorted(_SERVED - listed)
    assert not missing, f"console routes without a row in ROUTES: {missing}"
    assert all(set(row.expected) == set(ROLES) for row in ROUTES.values())


def test_every_case_action_of_the_page_has_a_route_and_a_row():
    from admin.console.case_page import ACTIONS

    assert {("POST", f"{CASE}/{name}") for name in ACTIONS} <= _SERVED
    assert {name for name in ACTIONS} <= set(ROUTES)


def _outcome(status: int, location: str) -> str:
    if status == 401 or (status == 302 and location.startswith("/console/login")):
        return LOGIN
    if status == 403:
        return DENIED
    if status == 303 and "done=" in location:
        return DONE
    if status == 303 and "error=" in location:
        return f"error ({location.split('error=', 1)[1]})"
    if 200 <= status < 400:
        return OK
    return str(status)


async def test_each_user_gets_what_the_rows_say(browser, accounts, make_case):
    """Every row × every user in one test (one server, one log-in per user): mismatches are listed together."""
    clients = {role: await browser(USERNAMES.get(role)) for role in ROLES}
    original = make_case("assigned")
    mismatches, checked = {}, 0

    for name, row in ROUTES.items():
        if (row.method, row.route) not in _SERVED:
            continue  # a page module that is not there (PAGE_MODULES skips it)
        got = {}
        for role in ROLES:
            client = await browser(USERNAMES.get(role)) if row.own_session else clients[role]
            case_id = make_case(row.situation, village="小韩寨村") if row.situation else ""
            path = row.path.format(case=case_id)
            form = {key: value.format(original=original) if isinstance(value, str) else value
                    for key, value in row.form.items()}
            if row.method == "GET":
                page = await client.get(path, follow=False)
            else:
                page = await client.post(path, form, follow=False)
            outcome = _outcome(page.status, page.headers.get("Location", ""))
            if "Traceback" in page.text:
                outcome += " with a stack trace"
            if row.expected[role] == ALLOWED and outcome not in (DENIED, LOGIN):
                outcome = ALLOWED
            got[role] = outcome
        checked += 1
        if got != row.expected:
            mismatches[name] = {role: f"got {got[role]}, expected {row.expected[role]}"
                                for role in ROLES if got[role] != row.expected[role]}

    assert not mismatches, mismatches
    assert checked >= 18  # at least this module's own routes (queue, case page, its actions, log-in)
