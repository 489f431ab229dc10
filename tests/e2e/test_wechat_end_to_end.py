"""A resident on the WeChat official account, through the whole running system (PostgreSQL + Redis): follows the
account, reports with a location and a photo, a retried message is handled once, checks the case from the menu,
hears the result through the customer-service API (a local stand-in for the platform) and rates it."""

from __future__ import annotations

import hashlib
import re
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bot" / "channels"))
from channel_support import FakeWeChatApi  # noqa: E402

from bot.channels.stores import redis_client  # noqa: E402
from test_closed_loop_end_to_end import unit_token, wait_for  # noqa: E402

pytestmark = pytest.mark.slow

TOKEN, APPID, SECRET = "e2e-wechat-token", "wx_e2e_julu", "e2e-secret"
CASE_ID = re.compile(r"JL\d{8}-\d{4}")


@pytest.fixture(scope="module")
def platform():
    # A token an earlier run left in Redis belongs to an earlier stand-in; start from none, as a new account does.
    redis_client("redis://127.0.0.1:6379/0").delete(f"juhaoban:wechat:{APPID}_access_token")
    api = FakeWeChatApi(APPID, SECRET).start()
    yield api
    api.close()


@pytest.fixture(scope="module")
def wechat_system(tmp_path_factory, trained_model, e2e_postgres_url, platform, system_starter):
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_SECRET": SECRET, "WECHAT_AES_KEY": "",
           "WECHAT_API_BASE": platform.base_url}
    yield from system_starter(e2e_postgres_url, "redis://127.0.0.1:6379/0", tmp_path_factory.mktemp("wechat"),
                            trained_model, env)


class Resident:
    """One follower of the account, posting signed messages as the platform would."""

    def __init__(self, system, platform) -> None:
        self.openid = f"o{uuid.uuid4().hex[:20]}"
        self.system = system
        self.platform = platform
        self.msg_id = int(time.time() * 1000)

    def post(self, msg_type: str, fields: dict, *, msg_id: int | None = None) -> str:
        """Posts one message; returns what the resident sees: the passive reply, or the customer-service
        messages that follow a ``success``."""
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:8]
        signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
        body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
        if msg_id is None and msg_type != "event":
            self.msg_id += 1
            msg_id = self.msg_id
        msg = f"<MsgId>{msg_id}</MsgId>" if msg_id else ""
        xml = (f"<xml><ToUserName><![CDATA[gh_julu]]></ToUserName><FromUserName><![CDATA[{self.openid}]]>"
               f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
               f"{body}{msg}</xml>")
        before = len(self.platform.texts_to(self.openid))
        response = requests.post(f"{self.system.rasa_url}/webhooks/wechat/webhook", data=xml.encode(),
                                 params={"signature": signature, "timestamp": timestamp, "nonce": nonce},
                                 timeout=10)
        assert response.status_code == 200, response.text
        if response.text != "success":
            return ET.fromstring(response.text).find("Content").text
        return self.pushed_since(before)

    def say(self, text: str, **kwargs) -> str:
        return self.post("text", {"Content": text}, **kwargs)

    def pushed_since(self, before: int, quiet: float = 2.0, timeout: float = 30.0) -> str:
        """Customer-service messages after the first ``before``, once none came for ``quiet`` seconds."""
        deadline, last_change, seen = time.monotonic() + timeout, time.monotonic(), before
        while time.monotonic() < deadline:
            now = len(self.platform.texts_to(self.openid))
            if now != seen:
                seen, last_change = now, time.monotonic()
            elif now > before and time.monotonic() - last_change >= quiet:
                break
            time.sleep(0.2)
        return "\n".join(self.platform.texts_to(self.openid)[before:])


def test_a_resident_reports_checks_and_rates_through_the_official_account(wechat_system, platform):
    resident = Resident(wechat_system, platform)
    assert "欢迎关注巨好办" in resident.post("event", {"Event": "subscribe", "EventKey": ""})

    reply = resident.say("我们村东头那个厂子天天晚上往河沟里放黑水 臭得没法住人")
    assert "生态环境" in reply and "哪个乡镇" in reply
    reply = resident.post("location", {"Location_X": "37.3010", "Location_Y": "115.0830", "Scale": "15",
                                       "Label": "巨鹿县王虎寨镇"})
    assert "王虎寨镇" in reply and "联系电话" in reply
    reply = resident.post("image", {"PicUrl": "http://mmbiz.example/river.jpg", "MediaId": "media-river-1"})
    assert "照片收到了" in reply
    assert "县生态环境分局" in resident.say("不留")

    resident.msg_id += 1
    confirm_id = resident.msg_id
    reply = resident.say("对", msg_id=confirm_id)
    case_id = CASE_ID.search(reply).group(0)
    assert resident.say("对", msg_id=confirm_id) == ""  # the platform's retry: answered "success", not run again
    case = wechat_system.admin_get(f"/api/cases/{case_id}").json()
    assert case["channel"] == "wechat" and case["reporter"] == resident.openid
    assert case["township_name"] == "王虎寨镇" and case["location"]["latitude"] == pytest.approx(37.301)
    assert [a["media_id"] for a in case["attachments"]] == ["media-river-1"]
    mine = wechat_system.admin_get("/api/cases", reporter=resident.openid).json()
    assert len(mine["cases"]) == 1

    assert case_id in resident.post("event", {"Event": "CLICK", "EventKey": "MY_CASES"})

    if case["status"] == "reported":
        assert wechat_system.admin_post(f"/api/cases/{case_id}/accept", {"importance_level": 2}).status_code == 200
    assert wechat_system.admin_post(f"/api/cases/{case_id}/assign", {}).status_code == 200
    token = unit_token(wechat_system, "county_ecology")
    assert wechat_system.admin_post(f"/api/cases/{case_id}/acknowledge", {}, token=token).status_code == 200
    resolved = wechat_system.admin_post(f"/api/cases/{case_id}/resolve", {"result": "已责令该厂停止排放并清理河沟"},
                                        token=token)
    assert resolved.status_code == 200, resolved.text

    # The worker delivers the result through Rasa with output_channel=wechat: the customer-service API.
    told = wait_for(lambda: [t for t in platform.texts_to(resident.openid) if "已责令该厂停止排放" in t])
    assert case_id in told[0] and "满意" in told[0]

    assert "感谢您的评价" in resident.say("满意")
    assert wechat_system.admin_get(f"/api/cases/{case_id}").json()["status"] == "closed"
    assert all(m["token"].startswith("TOKEN-") for m in platform.sent) and platform.rejected == []
