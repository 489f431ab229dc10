"""Residents' notifications reach their conversations through Rasa's trigger_intent (a stand-in Rasa server)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from juhaoban.delivery import DeliveryResult, RasaDelivery
from workflow.cases import NewReport
from workflow.lifecycle import CaseLifecycle
from workflow.notifications import Outbox
from workflow.transitions import Actor


class StandInRasa:
    """Records every request; answers with the status codes queued in ``statuses`` (then 200)."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.statuses: list[int] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.requests.append((self.path, body))
                status = stand_in.statuses.pop(0) if stand_in.statuses else 200
                payload = json.dumps({"tracker": {}, "messages": []}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def rasa():
    server = StandInRasa()
    yield server
    server.close()


@pytest.fixture
def accepted_case(case_service, session_factory, calendar, clock) -> str:
    case_id = case_service.file_report(NewReport(
        description="村东头有人焚烧秸秆，烟很大", category_code="eco_environment",
        suggested_category_code="eco_environment", category_confidence=0.5, matter_type="other",
        township="王虎寨", reporter_id="wx-openid-1", channel="wechat")).case_id
    CaseLifecycle(session_factory, calendar, clock=clock).accept(case_id, Actor.dispatcher("李"), importance_level=1)
    return case_id


def test_the_update_is_triggered_in_the_residents_conversation_on_their_channel(
        rasa, accepted_case, session_factory, clock):
    outbox = Outbox(session_factory, clock=clock)
    result = RasaDelivery(outbox, rasa.url).deliver_batch()
    assert result.delivered == 1
    path, body = rasa.requests[0]
    assert path.startswith("/conversations/wx-openid-1/trigger_intent?")
    assert "output_channel=wechat" in path
    assert body["name"] == "EXTERNAL_case_update"
    assert body["entities"]["case_id"] == accepted_case and accepted_case in body["entities"]["notification_text"]
    assert "县生态环境分局" in body["entities"]["notification_text"]
    assert RasaDelivery(outbox, rasa.url).deliver_batch().delivered == 0  # delivered once only


def test_a_server_error_is_retried_later_and_a_bad_request_is_given_up(rasa, accepted_case, session_factory, clock):
    outbox = Outbox(session_factory, clock=clock)
    rasa.statuses = [503]
    assert RasaDelivery(outbox, rasa.url).deliver_batch().retried == 1
    assert RasaDelivery(outbox, rasa.url).deliver_batch().delivered == 0  # not due yet (backoff)
    clock.advance(dt.timedelta(seconds=31))
    rasa.statuses = [400]
    assert RasaDelivery(outbox, rasa.url).deliver_batch().given_up == 1
    clock.advance(dt.timedelta(hours=1))
    assert RasaDelivery(outbox, rasa.url).deliver_batch() == DeliveryResult()  # never handed out again
    [message] = outbox.messages_for_resident("wx-openid-1")
    assert message.failed_at is not None and "HTTP 400" in message.last_error


def test_rasa_being_down_loses_nothing(accepted_case, session_factory, clock):
    outbox = Outbox(session_factory, clock=clock)
    assert RasaDelivery(outbox, "http://127.0.0.1:9", timeout=2).deliver_batch().retried == 1
    [message] = outbox.messages_for_resident("wx-openid-1")
    assert message.delivered_at is None and message.failed_at is None and message.attempts == 1


def test_a_hotline_callers_conversation_is_addressed_with_its_colon(
        rasa, case_service, session_factory, calendar, clock):
    # Rasa 3.6 does not decode the path: "hotline%3A…" would be a different conversation from "hotline:…".
    case = case_service.file_report(NewReport(
        description="村东头有人焚烧秸秆，烟很大", category_code="eco_environment",
        suggested_category_code="eco_environment", category_confidence=0.5, matter_type="other",
        township="王虎寨", reporter_id="hotline:13812345678", channel="hotline"))
    CaseLifecycle(session_factory, calendar, clock=clock).accept(case.case_id, Actor.dispatcher("李"),
                                                                 importance_level=1)
    outbox = Outbox(session_factory, clock=clock)
    assert RasaDelivery(outbox, rasa.url).deliver_batch().delivered >= 1
    assert rasa.requests[0][0].startswith("/conversations/hotline:13812345678/trigger_intent?")


def test_a_grid_workers_notice_is_triggered_on_the_workers_chat_and_units_messages_stay(
        rasa, case_service, session_factory, calendar, clock):
    from workflow.accounts import AccountService
    from workflow.grid_work import GridWork
    from workflow.models import Grid

    liu = AccountService(session_factory).create("grid-liu", "Julu2026console", role="grid_worker",
                                                 village_code="wanghuzhai_xiaohanzhai", display_name="刘洋")
    with session_factory.begin() as session:
        session.add(Grid(code="XHZ-1", name="第一网格", village_code="wanghuzhai_xiaohanzhai", kind="rural",
                         is_sample=False, worker_account_id=liu.id))
    work = GridWork(session_factory, calendar, clock=clock)
    work.bind_sender(work.issue_binding_code(liu.id), "socketio", "web-liu")
    case_service.file_report(NewReport(description="村口路灯不亮", category_code="city_management",
                                       matter_type="other", township="王虎寨", village="小韩寨村",
                                       reporter_id="wx-openid-2", channel="wechat"))
    result = RasaDelivery(Outbox(session_factory, clock=clock), rasa.url).deliver_batch()
    assert result.delivered == 1
    path, body = rasa.requests[0]
    assert path.startswith("/conversations/web-liu/trigger_intent?") and "output_channel=socketio" in path
    assert body["entities"]["notification_kind"] == "grid_case"
    assert body["entities"]["notification_text"].startswith("您的网格新收到一件反映")
