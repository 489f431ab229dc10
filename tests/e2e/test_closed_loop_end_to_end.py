"""The whole loop through the running system: a resident reports over REST, a dispatcher accepts and assigns over the
admin API, the unit resolves with its own token, the worker tells the resident through Rasa, the resident rates in
their own words and the case is closed (SQLite; PostgreSQL + Redis)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid

import pytest

from test_report_end_to_end import file_a_case

pytestmark = pytest.mark.slow


def unit_token(system, unit: str) -> str:
    """A token for ``unit`` made with the CLI, as an administrator would."""
    result = subprocess.run(
        [sys.executable, "-m", "juhaoban.cli", "token", "create", "--role", "unit", "--unit", unit,
         "--name", "生态环境分局值班员"],
        env=system.env, capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.strip().splitlines()[-1]


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError("timed out")


def test_report_accept_assign_resolve_tell_rate_close(system):
    sender = f"resident-{uuid.uuid4().hex[:8]}"
    case_id = file_a_case(system, sender)
    if system.admin_get(f"/api/cases/{case_id}").json()["status"] == "reported":
        accepted = system.admin_post(f"/api/cases/{case_id}/accept", {"importance_level": 2})
        assert accepted.status_code == 200, accepted.text
    assigned = system.admin_post(f"/api/cases/{case_id}/assign", {})
    assert assigned.status_code == 200 and assigned.json()["lead_unit"]["code"] == "county_ecology", assigned.text

    token = unit_token(system, "county_ecology")
    assert system.admin_post(f"/api/cases/{case_id}/acknowledge", {}, token=token).status_code == 200
    resolved = system.admin_post(f"/api/cases/{case_id}/resolve", {"result": "已责令该厂停止排放并清理河沟"},
                                 token=token)
    assert resolved.status_code == 200, resolved.text

    # The worker pushes the result into the resident's conversation through Rasa (the REST channel cannot push:
    # the message is in the tracker and in the resident's outbox).
    told = wait_for(lambda: [t for t in system.tracker_texts(sender) if "已责令该厂停止排放" in t])
    assert case_id in told[0] and "满意" in told[0]
    messages = system.admin_get(f"/api/residents/{sender}/messages").json()["messages"]
    assert [m["kind"] for m in messages][-1] == "resolved"

    reply = system.say(sender, "还行吧 就是慢了点")
    assert "感谢您的评价" in reply and case_id in reply
    case = system.admin_get(f"/api/cases/{case_id}").json()
    assert case["status"] == "closed" and case["rating"] == "basically_satisfied"
    events = [e["event"] for e in system.admin_get(f"/api/cases/{case_id}/events").json()["events"]]
    assert events[-4:] == ["assigned", "acknowledged", "resolved", "rated"]
