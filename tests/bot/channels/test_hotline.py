"""The hotline channel over HTTP: finished calls in, cases out, exactly once; errors as JSON; SMS pushes.

The NLU is injected (the keyword stand-in of tests/fixtures/hotline) except in the one slow test, which posts every
fixture call through the real trained model and checks what a county dispatcher expects.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import pytest
from sanic import Sanic
from sqlalchemy import func, select

from bot.channels.hotline import (
    SMS_URL_ENV,
    HotlineConfigError,
    HotlineInput,
    HotlineIntake,
    HotlineOutput,
)
from bot.transcripts import PlaceCorrector
from channel_support import RecordingBot, serve_channel
from sanic_support import serving
from workflow.gazetteer import Gazetteer
from workflow.hotline import HotlineDesk
from workflow.models import Case

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "hotline"))
from hotline_fixtures import EXPECTED, EXPECTED_UNSEEN, UNSEEN_FILE, call, keyword_parse, load_calls  # noqa: E402

DATA_DIR = Path(__file__).resolve().parents[3] / "data"
PREFIX = "/webhooks/hotline"


@pytest.fixture(scope="module")
def places() -> PlaceCorrector:
    return PlaceCorrector(Gazetteer.load(DATA_DIR))


@pytest.fixture
def intake(session_factory, case_service, lifecycle, places) -> HotlineIntake:
    return HotlineIntake(HotlineDesk(session_factory, case_service, lifecycle), places)


@pytest.fixture
async def served(intake):
    bot = RecordingBot()
    async with serve_channel(HotlineInput(intake=intake, parse=keyword_parse), bot, PREFIX) as served:
        served.bot = bot
        yield served


async def post(served, body) -> tuple[int, dict]:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False)
    async with served.session.post(f"{served.base_url}/webhook", data=data,
                                   headers={"Content-Type": "application/json"}) as response:
        return response.status, await response.json()


# ---------------------------------------------------------------- configuration
def test_it_is_the_hotline_channel_and_needs_no_credentials():
    channel = HotlineInput.from_credentials(None, environ={})
    assert HotlineInput.name() == "hotline" and channel.sms_url is None
    assert channel.get_output_channel() is None  # Rasa collects pushes; they stay in the outbox


def test_the_sms_gateway_comes_from_credentials_or_the_environment():
    assert HotlineInput.from_credentials({"sms_url": "http://sms.local/send"}, environ={}).sms_url == \
        "http://sms.local/send"
    channel = HotlineInput.from_credentials({"sms_url": "http://sms.local/send"},
                                            environ={SMS_URL_ENV: "https://gw.example/sms"})
    assert channel.sms_url == "https://gw.example/sms"
    assert isinstance(channel.get_output_channel(), HotlineOutput)


@pytest.mark.parametrize("credentials, named", [({"sms_ulr": "http://x"}, "sms_ulr"), ({"sms_url": "sms.local"},
                                                                                        "sms_url")])
def test_it_fails_loudly_on_a_bad_key(credentials, named):
    with pytest.raises(HotlineConfigError, match=named):
        HotlineInput.from_credentials(credentials, environ={})


async def test_with_a_token_only_the_call_centre_may_post(intake):
    # A posted call can read a caller's cases and rate them (回访): never open to anyone.
    channel = HotlineInput(intake=intake, parse=keyword_parse, token="call-centre-secret")
    body = json.dumps(load_calls()[0], ensure_ascii=False)
    async with serve_channel(channel, RecordingBot(), PREFIX) as served:
        answers = []
        for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": "Bearer call-centre-secret"}):
            async with served.session.post(f"{served.base_url}/webhook", data=body,
                                           headers={"Content-Type": "application/json", **headers}) as response:
                answers.append(response.status)
    assert answers == [401, 401, 200]
    assert HotlineInput.from_credentials({"token": "x"}, environ={"JUHAOBAN_HOTLINE_TOKEN": "y"}).token == "y"


def test_without_a_token_only_this_machine_may_post():
    channel = HotlineInput()
    here = type("Request", (), {"ip": "127.0.0.1", "headers": {}})()
    elsewhere = type("Request", (), {"ip": "203.0.113.7", "headers": {}})()
    assert channel._refusal(here) is None
    assert channel._refusal(elsewhere).status == 403


# ---------------------------------------------------------------- the webhook
async def test_it_answers_the_health_check(served):
    async with served.session.get(f"{served.base_url}/") as response:
        assert (response.status, await response.json()) == (200, {"status": "ok", "sms": False})


async def test_it_files_the_matters_of_a_posted_call(served, session_factory):
    status, outcome = await post(served, call("HL-20261130-0001"))
    assert status == 200 and outcome["duplicate"] is False and outcome["call_id"] == "HL-20261130-0001"
    assert [(c["category"], c["category_name"], c["township"], c["township_name"]) for c in outcome["cases"]] == [
        ("eco_environment", "生态环境", "wanghuzhai_zhen", "王虎寨镇"),
        ("city_management", "城市管理", "wanghuzhai_zhen", "王虎寨镇")]
    assert all(c["case_id"].startswith("JL20261130-") and c["status"] == "accepted" for c in outcome["cases"])
    assert outcome["answered"] == [] and outcome["not_filed"] == []
    assert served.bot.messages == []  # nothing of a call goes through the conversation
    with session_factory() as session:
        reporters = set(session.execute(select(Case.reporter_id)).scalars())
    assert reporters == {"hotline:13831912345"}


async def test_the_same_call_posted_again_files_nothing_new(served, session_factory):
    _, first = await post(served, call("HL-20261130-0006"))
    status, again = await post(served, call("HL-20261130-0006"))
    assert status == 200 and again["duplicate"] is True and again["cases"] == first["cases"]
    with session_factory() as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar_one() == 3


async def test_it_answers_a_status_question_in_the_call(served):
    _, outcome = await post(served, call("HL-20261130-0003"))
    assert [a["kind"] for a in outcome["answered"]] == ["status"]
    assert outcome["answered"][0]["answer"] == "没有查到您用这个号码反映过的问题。"
    assert [c["township"] for c in outcome["cases"]] == ["suying_zhen"]


async def test_a_follow_up_call_about_an_unknown_case_says_why_nothing_was_rated(served):
    _, outcome = await post(served, call("HL-20261130-0004"))
    assert outcome["cases"] == []
    assert outcome["answered"][0]["kind"] == "rating"
    assert outcome["answered"][0]["error"]["code"] == "case_not_found"


@pytest.mark.parametrize("body, field", [
    ({**call("HL-20261130-0001"), "turns": []}, "turns"),
    ({**call("HL-20261130-0001"), "started_at": "2026-11-30 08:41"}, "started_at"),
    ({k: v for k, v in call("HL-20261130-0001").items() if k != "call_id"}, "call_id"),
    ([1, 2], "(body)"),
])
async def test_a_malformed_call_is_answered_400_naming_the_field(served, session_factory, body, field):
    status, answer = await post(served, body)
    assert (status, answer["error"], answer["field"]) == (400, "invalid_call", field)
    assert field.split("[")[0].strip("()") in answer["message"] or field == "(body)"
    with session_factory() as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar_one() == 0


async def test_a_bad_turn_is_named_by_its_index(served):
    body = copy.deepcopy(call("HL-20261130-0001"))
    body["turns"][3]["speaker"] = "customer"
    status, answer = await post(served, body)
    assert (status, answer["field"]) == (400, "turns[3].speaker")


async def test_a_body_that_is_not_json_is_answered_400(served):
    status, answer = await post(served, b'{"call_id": "HL-1", ')
    assert (status, answer["error"]) == (400, "invalid_json")


async def test_an_unexpected_failure_is_answered_500_without_a_stack_trace(places):
    class Broken:
        async def take(self, body, parse):
            raise RuntimeError("connection to server at 10.0.0.5 refused")

    async with serve_channel(HotlineInput(intake=Broken(), parse=keyword_parse), RecordingBot(), PREFIX) as s:
        status, answer = await post(s, call("HL-20261130-0001"))
    assert (status, answer["error"]) == (500, "internal_error")
    assert "10.0.0.5" not in json.dumps(answer) and "Traceback" not in json.dumps(answer)


async def test_it_waits_for_the_model_before_taking_calls(intake):
    async with serve_channel(HotlineInput(intake=intake), RecordingBot(), PREFIX) as served:
        status, answer = await post(served, call("HL-20261130-0001"))
    assert (status, answer["error"]) == (503, "model_not_ready")


# ---------------------------------------------------------------- SMS pushes
class FakeSmsGateway:
    """Records ``POST {"phone", "text"}``; answers the queued statuses (then 200)."""

    def __init__(self):
        self.sent: list[dict] = []
        self.statuses: list[int] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                gateway.sent.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(gateway.statuses.pop(0) if gateway.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def gateway():
    fake = FakeSmsGateway()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


async def test_a_push_to_a_hotline_caller_goes_out_as_sms(gateway):
    output = HotlineInput(sms_url=gateway.url).get_output_channel()
    await output.send_text_message("hotline:13831912345", "您反映的问题已受理，工单号JL20261130-0001。")
    assert gateway.sent == [{"phone": "13831912345", "text": "您反映的问题已受理，工单号JL20261130-0001。"}]


async def test_no_sms_goes_to_a_landline_or_a_hidden_number(gateway):
    output = HotlineOutput(gateway.url)
    await output.send_text_message("hotline:03195261234", "已受理")
    await output.send_text_message("hotline:call-HL-1", "已受理")
    assert gateway.sent == []


async def test_a_failing_gateway_fails_the_push_so_it_is_retried(gateway):
    gateway.statuses.append(502)
    with pytest.raises(aiohttp.ClientResponseError):
        await HotlineOutput(gateway.url).send_text_message("hotline:13831912345", "已受理")


# ---------------------------------------------------------------- the real model
@asynccontextmanager
async def serve_with_agent(channel, agent):
    """The channel's blueprint in a sanic app whose ``ctx.agent`` is the loaded model, as in ``rasa run``."""
    Sanic.test_mode = True
    app = Sanic(f"hotline_model_{id(channel)}")
    app.ctx.agent = agent
    app.blueprint(channel.blueprint(RecordingBot()), url_prefix=PREFIX)
    async with serving(app) as (base_url, session):
        served = type("Served", (), {})()
        served.base_url, served.session = base_url + PREFIX, session
        yield served


@pytest.fixture(scope="module")
def agent(trained_model):
    """The trained model, loaded once for the module (as ``rasa run`` holds it)."""
    import logging

    import structlog
    from rasa.core.agent import Agent

    # Rasa's structlog prints every parse at debug level. Its print logger keeps the stream it was configured
    # with (under pytest, one test's capture, closed after it, which breaks the run at exit): real stderr here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                        logger_factory=structlog.PrintLoggerFactory(file=sys.__stderr__))
    return Agent.load(str(trained_model))


async def score_calls(served, calls, expected) -> dict:
    """Post ``calls``; count matters split, categories and townships as ``expected`` (expected.json's shape)."""
    score = {"matters": 0, "split": 0, "category": 0, "township": 0, "wrong": []}
    for body in calls:
        status, outcome = await post(served, body)
        assert status == 200, outcome
        wanted_call = expected[body["call_id"]]
        score["matters"] += len(wanted_call["matters"])
        kinds = [a["kind"] for a in outcome["answered"]]
        ratings = [a["rating"] for a in outcome["answered"] if a["kind"] == "rating"]
        if kinds.count("status") != wanted_call.get("questions", 0) or ratings != wanted_call.get("ratings", []):
            score["wrong"].append((body["call_id"], "answered", kinds, ratings))
        if len(outcome["cases"]) != len(wanted_call["matters"]):
            score["wrong"].append((body["call_id"], "matters", [c["suggested_category"] for c in outcome["cases"]]))
            continue
        score["split"] += len(outcome["cases"])
        for case, wanted in zip(outcome["cases"], wanted_call["matters"]):
            ok_category = case["suggested_category"] in wanted["categories"]
            ok_township = (case["township"], case["township_source"]) == (wanted["township"], wanted["source"])
            score["category"] += ok_category
            score["township"] += ok_township
            if not (ok_category and ok_township):
                score["wrong"].append((body["call_id"], case["suggested_category"], case["township"],
                                       case["township_source"]))
    return score


@pytest.mark.slow
async def test_it_reads_the_fixture_calls_as_a_dispatcher_would_with_the_trained_model(agent, intake):
    """Every fixture call posted to the webhook, the trained model parsing: the matters, their categories and
    townships, status questions and ratings a county dispatcher expects (tests/fixtures/hotline/expected.json).

    calls.jsonl is where the rules were developed: every expectation must hold. calls_unseen.jsonl was written
    after them and never tuned on: at least 80% of its matters must come out right."""
    async with serve_with_agent(HotlineInput(intake=intake), agent) as served:
        developed = await score_calls(served, load_calls(), EXPECTED)
        unseen = await score_calls(served, load_calls(UNSEEN_FILE), EXPECTED_UNSEEN)
    for name, score in (("calls.jsonl", developed), ("calls_unseen.jsonl", unseen)):  # shown with -s or on failure
        print(f"\n{name}: {score['matters']} matters; split right {score['split']}, category right "
              f"{score['category']}, township right {score['township']}; wrong: {score['wrong']}")
    assert developed["wrong"] == []
    assert min(unseen["split"], unseen["category"], unseen["township"]) >= 0.8 * unseen["matters"]
