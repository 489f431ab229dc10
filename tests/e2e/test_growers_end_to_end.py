"""Issue 7 through the running system (SQLite; PostgreSQL + Redis): a grower gets a cited answer; a question the
base cannot answer reaches an expert in the console and the answer comes back to the grower's chat; a dry-soil
reading in flowering pushes irrigation advice once; "我家地的墒情怎么样" answers from it; a batch's chain shows in the
chat and on the public page; a policy question is answered with its source.

Slow: starts ``juhaoban serve``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from test_closed_loop_end_to_end import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "admin" / "console"))
from console_support import ConsoleBrowser  # noqa: E402

pytestmark = pytest.mark.slow

PASSWORD = "Julu2026console"


def cli(system, *args, stdin: str | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", "juhaoban.cli", *args], env=system.env, input=stdin,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def sensor_token(system) -> str:
    return cli(system, "token", "create", "--role", "sensor", "--name", "官亭镇墒情站").strip().splitlines()[-1]


def test_a_grower_gets_answers_an_expert_alerts_and_the_trace_chain(system):
    suffix = uuid.uuid4().hex[:6]
    grower, expert = f"grower-{suffix}", f"expert{suffix}"

    reply = system.say(grower, "金银花什么时候打顶")
    assert "来源：" in reply and "核对日期：" in reply

    cli(system, "account", "create", "--role", "expert", "--username", expert, "--name", "李明",
        "--password-stdin", stdin=PASSWORD + "\n")
    reply = system.say(grower, "我想问问专家 俺家金银花的花蕾发黑一碰就掉是咋回事")
    case_id = re.search(r"JL\d{8}-\d{4}", reply).group(0)
    assert "李明" in reply

    async def expert_answers() -> None:
        browser = ConsoleBrowser(system.admin_url)
        try:
            await browser.login(expert)
            page = await browser.get("/console/experts")
            assert case_id in page.text
            await browser.get(f"/console/experts/{case_id}")
            done = await browser.post(f"/console/experts/{case_id}/answer",
                                      {"answer": "多半是灰霉病，摘除病蕾，雨前喷一次腐霉利，采前7天停药"})
            assert done.status == 200, done.text[-400:]
        finally:
            await browser.close()

    asyncio.run(expert_answers())
    told = wait_for(lambda: [t for t in system.tracker_texts(grower) if "腐霉利" in t])
    assert "李明" in told[0]

    # A plot in flowering with the grower's chat, a soil probe, and a dry reading.
    plot = f"HP-{suffix}"
    assert system.admin_post("/api/plots", {"code": plot, "name": "老刘家东地", "township": "官亭镇",
                                            "growth_stage": "花期"}).status_code == 201
    added = system.admin_post(f"/api/plots/{plot}/growers", {"display_name": "刘建国", "channel": "rest",
                                                              "sender_id": grower})
    assert added.status_code == 201, added.text
    assert system.admin_post("/api/sensors/devices", {"device_id": f"SOIL-{suffix}", "plot": plot,
                                                      "kind": "soil_probe"}).status_code in (200, 201)
    token = sensor_token(system)
    now = dt.datetime.now(dt.timezone.utc)
    batch = {"readings": [
        {"device_id": f"SOIL-{suffix}", "kind": "soil_moisture", "value": 11.5, "unit": "%", "depth_cm": 20,
         "measured_at": (now - dt.timedelta(minutes=10)).isoformat()},
        {"device_id": f"SOIL-{suffix}", "kind": "soil_moisture", "value": 250, "unit": "%", "depth_cm": 20,
         "measured_at": now.isoformat()},
    ]}
    ingested = system.admin_post("/api/sensors/readings", batch, token=token)
    assert ingested.status_code == 207, ingested.text
    assert ingested.json()["accepted"] == 1
    assert system.admin_post("/api/sensors/readings", batch, token=token).json()["accepted"] in (0, 1)
    wait_for(lambda: [t for t in system.tracker_texts(grower) if "墒情提醒" in t])
    assert len([t for t in system.tracker_texts(grower) if "墒情提醒" in t]) == 1
    reply = system.say(grower, "我家地的墒情怎么样")
    assert "老刘家东地" in reply and "11.5" in reply

    # A batch with its chain, in the chat and on the public page.
    grower_id = added.json()["id"]
    created = system.admin_post("/api/trace/batches", {"plot": plot, "grower_id": grower_id})
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    event = system.admin_post(f"/api/trace/{code}/events", {
        "kind": "planting", "occurred_at": (now - dt.timedelta(days=400)).isoformat(), "what": "栽植金银花苗",
        "place": "老刘家东地", "actor": "刘建国"})
    assert event.status_code == 201, event.text
    assert "栽植金银花苗" in system.say(grower, f"查一下溯源码 {code}")
    page = requests.get(f"{system.admin_url}/trace/{code}", timeout=30)
    assert page.status_code == 200 and "栽植金银花苗" in page.text and grower not in page.text
    assert requests.get(f"{system.admin_url}/trace/JYH-2026-ZZZZZ", timeout=30).status_code == 404

    reply = system.say(f"resident-{suffix}", "高龄补贴怎么申请")
    assert "政策参考" in reply and "来源：" in reply
