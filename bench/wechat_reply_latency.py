"""How fast the WeChat channel answers, and how often within the platform's 5 seconds (passive reply).

Starts ``juhaoban serve`` (SQLite, in-process stores) with the WeChat channel pointed at a local stand-in for the
platform's API, then has ``--residents`` followers each report one problem in four messages (the report, the
township, "不留", "对"), ``--concurrency`` at a time, and prints per-message latency percentiles and how many answers
went out passively vs. through the customer-service API.

    .venv/bin/python bench/wechat_reply_latency.py --model models/<file>.tar.gz --residents 20 --concurrency 4
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "bot" / "channels"), str(ROOT / "tests" / "e2e"), str(ROOT / "tests")]
from channel_support import FakeWeChatApi  # noqa: E402
from conftest import start_system  # noqa: E402  (tests/e2e/conftest.py)

TOKEN, APPID, SECRET = "bench-token", "wx_bench", "bench-secret"
MESSAGES = ["我们村东头那个厂子天天晚上往河沟里放黑水", "王虎寨镇", "不留", "对"]


def post(rasa_url: str, openid: str, text: str, msg_id: int) -> tuple[float, bool]:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:8]
    signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    xml = (f"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>{timestamp}"
           f"</CreateTime><MsgType>text</MsgType><Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    started = time.monotonic()
    response = requests.post(f"{rasa_url}/webhooks/wechat/webhook", data=xml.encode(), timeout=30,
                             params={"signature": signature, "timestamp": timestamp, "nonce": nonce})
    response.raise_for_status()
    return time.monotonic() - started, response.text != "success"


def resident(rasa_url: str, index: int) -> list[tuple[float, bool]]:
    openid = f"o_bench_{index}_{uuid.uuid4().hex[:6]}"
    results = []
    for step, text in enumerate(MESSAGES):
        results.append(post(rasa_url, openid, text, int(time.time() * 1000) * 10 + step))
        time.sleep(5.0 if not results[-1][1] else 0.0)  # a reply that went out actively: let it finish
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    api = FakeWeChatApi(APPID, SECRET).start()
    tmp = Path(tempfile.mkdtemp(prefix="wechat-bench-"))
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_SECRET": SECRET, "WECHAT_AES_KEY": "",
           "WECHAT_API_BASE": api.base_url, "JUHAOBAN_RATE_LIMIT": "1000/60"}
    system = start_system(f"sqlite:///{tmp / 'bench.db'}", None, tmp, args.model, env)
    running = next(system)
    try:
        post(running.rasa_url, "o_warmup", "你好", 1)  # the first parse loads lazily
        started = time.monotonic()
        with ThreadPoolExecutor(args.concurrency) as pool:
            runs = list(pool.map(lambda i: resident(running.rasa_url, i), range(args.residents)))
        elapsed = time.monotonic() - started
    finally:
        system.close()
        api.close()
    latencies = sorted(latency for run in runs for latency, _ in run)
    passive = sum(1 for run in runs for _, was_passive in run if was_passive)
    q = statistics.quantiles(latencies, n=100)
    print(f"messages: {len(latencies)}  residents: {args.residents}  concurrency: {args.concurrency}  "
          f"time: {elapsed:.0f} s")
    print(f"latency s: p50 {q[49]:.2f}  p95 {q[94]:.2f}  max {latencies[-1]:.2f}")
    print(f"answered passively: {passive} ({passive / len(latencies):.0%}); "
          f"through the customer-service API: {len(latencies) - passive}; "
          f"messages the stand-in received: {len(api.sent)}")


if __name__ == "__main__":
    main()
