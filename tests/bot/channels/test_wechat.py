"""The WeChat official-account channel at the protocol level.

Requests are built here from the platform's published formats (signature = SHA-1 of the sorted token, timestamp
and nonce; the XML messages; safe mode's AES-256-CBC with the EncodingAESKey), not with the library under test,
and the customer-service API is a local stand-in that checks appid, secret and token like the platform.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
import threading
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.limits import RateLimit, SenderRateLimiter
from bot.channels.stores import InMemoryCounterStore, InMemoryDedupStore, RedisDedupStore, redis_client
from bot.channels.wechat import (
    MENU_INTENTS,
    UNHEARD_VOICE_TEXT,
    UNSUPPORTED_TEXT,
    WeChatConfig,
    WeChatConfigError,
    WeChatInput,
    WeChatOutput,
)
from bot.channels.wechat_api import CountyWeChatClient, ExpiringMemoryStorage
from channel_support import FakeWeChatApi, RecordingBot, serve_channel

TOKEN = "juhaoban-test-token"
APPID = "wx0123456789abcdef"
SECRET = "test-app-secret"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters, as the platform shows it
ACCOUNT = "gh_julu_county"
RESIDENT = "oResident_WangFang"
REDIS_URL = "redis://127.0.0.1:6379/0"
PREFIX = "/webhooks/wechat"


# ---------------------------------------------------------------- the platform's side of the protocol
def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed_query(token: str = TOKEN, **extra: str) -> dict:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    return {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}


def cdata(text: str) -> str:
    """Text for a CDATA section ("]]>" split across two sections, as the platform does)."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def message_xml(msg_type: str, fields: dict, *, msg_id: int | None = None, sender: str = RESIDENT) -> str:
    body = "".join(f"<{k}><![CDATA[{cdata(v)}]]></{k}>" if isinstance(v, str) else f"<{k}>{v}</{k}>"
                   for k, v in fields.items())
    msg = f"<MsgId>{msg_id}</MsgId>" if msg_id is not None else ""
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{body}{msg}</xml>")


def text_xml(content: str, msg_id: int = 24000000000000001, sender: str = RESIDENT) -> str:
    return message_xml("text", {"Content": content}, msg_id=msg_id, sender=sender)


def aes_encrypt(plain: str) -> str:
    """Safe mode, as published: base64(AES-256-CBC(random16 + len(msg) + msg + appid, PKCS#7 to 32))."""
    key = base64.b64decode(AES_KEY + "=")
    data = os.urandom(16) + struct.pack(">I", len(plain.encode())) + plain.encode() + APPID.encode()
    pad = 32 - len(data) % 32
    data += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def aes_decrypt(encrypted: str) -> str:
    key = base64.b64decode(AES_KEY + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    data = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    data = data[: -data[-1]]
    length = struct.unpack(">I", data[16:20])[0]
    assert data[20 + length:].decode() == APPID
    return data[20: 20 + length].decode()


def reply_fields(xml: str) -> dict:
    return {child.tag: child.text for child in ET.fromstring(xml)}


# ---------------------------------------------------------------- fixtures
@pytest.fixture
def api():
    fake = FakeWeChatApi(APPID, SECRET).start()
    yield fake
    fake.close()


def make_channel(api, *, aes: bool = False, reply_timeout: float = 4.0, dedup=None, limit=RateLimit(100, 60)):
    config = WeChatConfig(TOKEN, APPID, SECRET, AES_KEY if aes else "", api.base_url, reply_timeout)
    client = CountyWeChatClient(APPID, SECRET, api.base_url)
    return WeChatInput(config, client=client, dedup=dedup or InMemoryDedupStore(),
                       limiter=SenderRateLimiter(InMemoryCounterStore(), limit))


async def post(served, xml: str, query: dict | None = None):
    async with served.session.post(f"{served.base_url}/webhook", params=query or signed_query(),
                                   data=xml.encode()) as response:
        return response.status, await response.text()


# ---------------------------------------------------------------- URL verification and signatures
async def test_it_answers_the_url_verification_with_echostr_only_when_signed(api):
    async with serve_channel(make_channel(api), RecordingBot(), PREFIX) as served:
        ok = await served.session.get(f"{served.base_url}/webhook", params=signed_query(echostr="e7281"))
        forged = await served.session.get(f"{served.base_url}/webhook",
                                          params=signed_query(token="wrong", echostr="e7281"))
        assert (ok.status, await ok.text()) == (200, "e7281")
        assert forged.status == 403


async def test_it_refuses_an_unsigned_message_and_never_runs_the_bot(api):
    bot = RecordingBot()
    async with serve_channel(make_channel(api), bot, PREFIX) as served:
        status, _ = await post(served, text_xml("路灯坏了"), signed_query(token="forged"))
        missing, _ = await post(served, text_xml("路灯坏了"), {"timestamp": "1", "nonce": "2"})
    assert (status, missing) == (403, 403)
    assert bot.messages == []


async def test_it_stays_off_without_credentials_and_says_so():
    channel = WeChatInput(WeChatConfig("", "", ""), dedup=InMemoryDedupStore())
    async with serve_channel(channel, RecordingBot(), PREFIX) as served:
        status, text = await post(served, text_xml("你好"))
        health = await (await served.session.get(f"{served.base_url}/")).json()
    assert status == 503 and "not configured" in text
    assert health == {"status": "not configured"}
    assert channel.get_output_channel() is None


async def test_it_answers_400_to_a_body_that_is_not_a_message(api):
    async with serve_channel(make_channel(api), RecordingBot(), PREFIX) as served:
        status, _ = await post(served, "this is not xml")
    assert status == 400


# ---------------------------------------------------------------- message types
async def test_it_replies_passively_to_text_in_plain_mode(api):
    bot = RecordingBot(lambda text: ["收到，您反映的问题初步归为「城市管理」类。", "这件事发生在哪个乡镇？"])
    async with serve_channel(make_channel(api), bot, PREFIX) as served:
        status, xml = await post(served, text_xml("我们村的路灯坏了好几天了"))
    reply = reply_fields(xml)
    assert status == 200
    assert reply["ToUserName"] == RESIDENT and reply["FromUserName"] == ACCOUNT and reply["MsgType"] == "text"
    assert reply["Content"] == "收到，您反映的问题初步归为「城市管理」类。\n\n这件事发生在哪个乡镇？"
    message = bot.messages[0]
    assert (message.text, message.sender_id, message.input_channel) == ("我们村的路灯坏了好几天了", RESIDENT, "wechat")
    assert api.sent == []  # nothing went through the customer-service API


async def test_it_decrypts_safe_mode_messages_and_encrypts_the_reply(api):
    bot = RecordingBot(lambda text: ["好的，已收到。"])
    encrypted = aes_encrypt(text_xml("王虎寨镇小韩寨村垃圾没人清"))
    query = signed_query(encrypt_type="aes")
    query["msg_signature"] = sign(TOKEN, query["timestamp"], query["nonce"], encrypted)
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    async with serve_channel(make_channel(api, aes=True), bot, PREFIX) as served:
        status, xml = await post(served, body, query)
        bad_query = {**query, "msg_signature": "0" * 40}
        forged, _ = await post(served, body.replace("<xml>", "<xml> "), bad_query)
    outer = reply_fields(xml)
    assert status == 200 and forged == 403
    assert outer["MsgSignature"] == sign(TOKEN, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
    assert reply_fields(aes_decrypt(outer["Encrypt"]))["Content"] == "好的，已收到。"
    assert [m.text for m in bot.messages] == ["王虎寨镇小韩寨村垃圾没人清"]


async def test_it_takes_a_voice_message_by_its_recognition_and_flags_it(api):
    bot = RecordingBot()
    voice = message_xml("voice", {"MediaId": "media-voice-1", "Format": "amr",
                                  "Recognition": "俺们村的机井坏了浇不了地"}, msg_id=24000000000000101)
    silent = message_xml("voice", {"MediaId": "media-voice-2", "Format": "amr", "Recognition": ""},
                         msg_id=24000000000000102)
    async with serve_channel(make_channel(api), bot, PREFIX) as served:
        _, heard = await post(served, voice)
        _, unheard = await post(served, silent)
    assert [m.text for m in bot.messages] == ["俺们村的机井坏了浇不了地"]
    assert bot.messages[0].metadata == {"message_type": "voice", "media_id": "media-voice-1"}
    assert reply_fields(unheard)["Content"] == UNHEARD_VOICE_TEXT


async def test_it_turns_location_image_and_events_into_what_the_bot_understands(api):
    bot = RecordingBot(lambda text: [])
    messages = [
        message_xml("location", {"Location_X": 37.3010, "Location_Y": 115.083, "Scale": 15,
                                 "Label": "河北省邢台市巨鹿县王虎寨镇"}, msg_id=24000000000000201),
        message_xml("image", {"PicUrl": "http://mmbiz.example/pic1.jpg", "MediaId": "media-img-1"},
                    msg_id=24000000000000202),
        message_xml("event", {"Event": "subscribe", "EventKey": ""}),
        message_xml("event", {"Event": "CLICK", "EventKey": "MY_CASES"}, sender="oResident_2"),
        message_xml("event", {"Event": "CLICK", "EventKey": "MY_POINTS"}, sender="oResident_3"),
    ]
    async with serve_channel(make_channel(api), bot, PREFIX) as served:
        answers = [await post(served, xml) for xml in messages]
    assert all(answer == (200, "success") for answer in answers)  # the bot said nothing back
    assert [m.text for m in bot.messages] == [
        '/share_location{"latitude": 37.301, "longitude": 115.083, "location_label": "河北省邢台市巨鹿县王虎寨镇"}',
        '/share_image{"media_id": "media-img-1", "pic_url": "http://mmbiz.example/pic1.jpg"}',
        "/subscribe",
        "/ask_case_status",
        "/ask_points",
    ]
    assert set(MENU_INTENTS.values()) == {"start_report", "ask_case_status", "ask_points", "request_human"}


async def test_it_ignores_unsubscribe_and_unknown_menu_keys_and_explains_unsupported_types(api):
    bot = RecordingBot()
    async with serve_channel(make_channel(api), bot, PREFIX) as served:
        gone = await post(served, message_xml("event", {"Event": "unsubscribe", "EventKey": ""}))
        unknown = await post(served, message_xml("event", {"Event": "CLICK", "EventKey": "NO_SUCH_KEY"},
                                                 sender="oResident_4"))
        _, video = await post(served, message_xml("video", {"MediaId": "m", "ThumbMediaId": "t"},
                                                  msg_id=24000000000000301))
    assert gone == (200, "success") and unknown == (200, "success")
    assert reply_fields(video)["Content"] == UNSUPPORTED_TEXT
    assert bot.messages == []


# ---------------------------------------------------------------- retries and the 5-second limit
@pytest.fixture(params=["memory", "redis"])
def dedup(request):
    if request.param == "memory":
        return InMemoryDedupStore()
    return RedisDedupStore(redis_client(REDIS_URL), prefix=f"juhaoban:test:{uuid.uuid4().hex}:")


async def test_it_handles_a_retried_message_once(api, dedup):
    bot = RecordingBot()
    xml = text_xml("小区门口的井盖丢了", msg_id=24000000000009999)
    async with serve_channel(make_channel(api, dedup=dedup), bot, PREFIX) as served:
        first = await post(served, xml)
        retries = [await post(served, xml) for _ in range(3)]  # the platform retries up to 3 times
    assert "小区门口的井盖丢了" in reply_fields(first[1])["Content"]
    assert retries == [(200, "success")] * 3
    assert len(bot.messages) == 1


async def test_it_answers_success_in_time_and_sends_a_slow_reply_through_the_customer_service_api(api):
    bot = RecordingBot(lambda text: ["已为您登记，工单号 JL20261206-0001。", "办理进展会在这里通知您。"], delay=1.5)
    async with serve_channel(make_channel(api, reply_timeout=0.5), bot, PREFIX) as served:
        started = time.monotonic()
        answer = await post(served, text_xml("对", msg_id=24000000000000401))
        answered_after = time.monotonic() - started
        await asyncio.wait_for(bot.done.wait(), 5)
        for _ in range(50):
            if len(api.texts_to(RESIDENT)) == 2:
                break
            await asyncio.sleep(0.1)
    assert answer == (200, "success") and answered_after < 1.5
    assert api.texts_to(RESIDENT) == ["已为您登记，工单号 JL20261206-0001。", "办理进展会在这里通知您。"]
    assert api.token_fetches == 1


async def test_it_slows_a_flooding_sender_politely(api):
    bot = RecordingBot()
    async with serve_channel(make_channel(api, limit=RateLimit(2, 60)), bot, PREFIX) as served:
        replies = [await post(served, text_xml(f"第{i}条", msg_id=24000000000000500 + i)) for i in range(3)]
    assert len(bot.messages) == 2
    assert "太快" in reply_fields(replies[2][1])["Content"]


# ---------------------------------------------------------------- outbound messages and the access token
async def test_it_pushes_notifications_through_the_customer_service_api(api):
    channel = make_channel(api)
    output = channel.get_output_channel()
    assert isinstance(output, WeChatOutput)
    await output.send_text_message(RESIDENT, "您反映的问题已办结，请回复：满意 / 基本满意 / 不满意。")
    long_text = "\n".join(["处理情况：已责令停止排放，并对河沟进行了清理。"] * 60)
    await output.send_text_message(RESIDENT, long_text)
    texts = api.texts_to(RESIDENT)
    assert texts[0] == "您反映的问题已办结，请回复：满意 / 基本满意 / 不满意。"
    assert len(texts) > 2 and all(len(t.encode()) <= 2048 for t in texts[1:])
    assert "\n".join(texts[1:]) == long_text
    assert api.sent[0]["msgtype"] == "text" and api.token_fetches == 1


def test_it_fetches_a_new_token_when_the_platform_says_it_expired(api):
    client = CountyWeChatClient(APPID, SECRET, api.base_url)
    client.send_text(RESIDENT, "第一条")
    api.expire_next_token_use = True
    client.send_text(RESIDENT, "第二条")
    assert api.texts_to(RESIDENT) == ["第一条", "第二条"]
    assert api.token_fetches == 2 and [m["token"] for m in api.sent] == ["TOKEN-1", "TOKEN-2"]


def test_it_renews_the_token_before_it_expires(api):
    now = [1000.0]
    client = CountyWeChatClient(APPID, SECRET, api.base_url, storage=ExpiringMemoryStorage(lambda: now[0]))
    client.send_text(RESIDENT, "a")
    now[0] += 6899  # the platform's token lives 7,200 s; ours is renewed 300 s before
    client.send_text(RESIDENT, "b")
    now[0] += 2
    client.send_text(RESIDENT, "c")
    assert [m["token"] for m in api.sent] == ["TOKEN-1", "TOKEN-1", "TOKEN-2"]
    assert api.rejected == []


def test_it_refreshes_the_token_once_across_instances(api):
    api.fetch_delay = 0.3
    appid_redis = redis_client(REDIS_URL)
    appid_redis.delete(f"juhaoban:wechat:{APPID}_access_token")
    instances = [CountyWeChatClient(APPID, SECRET, api.base_url, redis=redis_client(REDIS_URL)) for _ in range(3)]
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda c=c: tokens.append(c.access_token)) for c in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    appid_redis.delete(f"juhaoban:wechat:{APPID}_access_token")
    assert api.token_fetches == 1
    assert tokens == ["TOKEN-1"] * 3


# ---------------------------------------------------------------- configuration
def test_it_reads_credentials_and_lets_the_environment_override_them():
    credentials = {"token": "from-file", "appid": "wx-file", "secret": "s", "encoding_aes_key": "",
                   "api_base_url": "http://127.0.0.1:9/cgi-bin"}
    config = WeChatConfig.from_credentials(credentials, {"WECHAT_TOKEN": "from-env", "WECHAT_AES_KEY": AES_KEY})
    assert (config.token, config.appid, config.encoding_aes_key) == ("from-env", "wx-file", AES_KEY)
    assert config.api_base_url == "http://127.0.0.1:9/cgi-bin/" and config.enabled


def test_it_fails_loudly_on_a_missing_key_or_a_bad_aes_key():
    with pytest.raises(WeChatConfigError, match="secret"):
        WeChatConfig.from_credentials({"token": "", "appid": "", "encoding_aes_key": "", "api_base_url": ""}, {})
    full = {key: "" for key in ("token", "appid", "secret", "encoding_aes_key", "api_base_url")}
    with pytest.raises(WeChatConfigError, match="43"):
        WeChatConfig.from_credentials({**full, "encoding_aes_key": "short"}, {})
    assert not WeChatConfig.from_credentials(full, {}).enabled


async def test_it_refuses_a_signed_request_replayed_long_after(api):
    bot = RecordingBot()
    old = str(int(time.time()) - 3600)
    query = {"signature": sign(TOKEN, old, "n0nce"), "timestamp": old, "nonce": "n0nce"}
    async with serve_channel(make_channel(api), bot, PREFIX) as served:
        status, _ = await post(served, text_xml("路灯坏了", msg_id=24000000000000601), query)
    assert status == 403 and bot.messages == []


async def test_a_reply_quoting_cdata_end_markers_stays_well_formed_xml(api):
    hostile = "xyz]]></Content><MsgType>news</MsgType>"
    bot = RecordingBot(lambda text: [f"没找到“{text}”这个乡镇。"])
    async with serve_channel(make_channel(api), bot, PREFIX) as served:
        _, xml = await post(served, text_xml(hostile, msg_id=24000000000000602))
    reply = reply_fields(xml)  # parses: the XML is well formed
    assert reply["Content"] == f"没找到“{hostile}”这个乡镇。" and reply["MsgType"] == "text"


async def test_a_message_the_bot_failed_on_is_run_again_when_the_platform_retries(api):
    attempts = []

    async def flaky(message):
        attempts.append(message.text)
        if len(attempts) == 1:
            raise ConnectionError("database is down")
        await message.output_channel.send_text_message(message.sender_id, "收到")

    xml = text_xml("井盖丢了", msg_id=24000000000000603)
    async with serve_channel(make_channel(api), flaky, PREFIX) as served:
        _, first = await post(served, xml)
        _, retry = await post(served, xml)
    assert "没有处理成功" in reply_fields(first)["Content"]
    assert reply_fields(retry)["Content"] == "收到" and attempts == ["井盖丢了", "井盖丢了"]
