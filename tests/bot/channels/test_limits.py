"""Per-sender limits: a flooding sender is told to slow down and the bot is not run for those messages."""

from __future__ import annotations

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.limits import RateLimit, SenderRateLimiter, limit_messages
from bot.channels.rest import RestInput
from bot.channels.stores import CounterStore, InMemoryCounterStore
from channel_support import serve_channel


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_it_parses_the_limit_setting():
    assert RateLimit.parse("5/10") == RateLimit(5, 10)
    assert RateLimit.from_env({}) == RateLimit(20, 60)
    for bad in ("5", "a/b", "0/10", "5/0", "1/2/3"):
        with pytest.raises(ValueError):
            RateLimit.parse(bad)


def test_it_allows_the_limit_and_says_how_long_to_wait_after_it():
    clock = Clock(600.0)  # the start of a 60-second window
    limiter = SenderRateLimiter(InMemoryCounterStore(), RateLimit(3, 60), clock=clock)
    assert [limiter.check("rest:u1") for _ in range(3)] == [None, None, None]
    clock.now = 615.0
    assert limiter.check("rest:u1") == 45
    assert limiter.check("rest:u2") is None  # another sender is not affected
    clock.now = 660.0  # the next window
    assert limiter.check("rest:u1") is None


async def test_over_the_limit_the_sender_is_answered_and_the_bot_not_run():
    ran = []

    async def bot(message):
        ran.append(message.text)
        await message.output_channel.send_text_message(message.sender_id, "好的")

    guarded = limit_messages(bot, SenderRateLimiter(InMemoryCounterStore(), RateLimit(2, 60)))
    outputs = []
    for i in range(3):
        output = CollectingOutputChannel()
        await guarded(UserMessage(f"第{i}条", output, "u1", input_channel="rest"))
        outputs.append([m["text"] for m in output.messages])
    assert ran == ["第0条", "第1条"]
    assert outputs[2][0].startswith("您发消息太快了") and "重新发送" in outputs[2][0]


async def test_a_broken_counter_store_never_blocks_a_resident():
    class Broken(CounterStore):
        def increment(self, key, ttl_seconds):
            raise ConnectionError("redis is down")

    ran = []

    async def bot(message):
        ran.append(message.text)

    guarded = limit_messages(bot, SenderRateLimiter(Broken(), RateLimit(1, 60)))
    await guarded(UserMessage("路灯坏了", CollectingOutputChannel(), "u1", input_channel="rest"))
    assert ran == ["路灯坏了"]


async def test_the_rest_channel_answers_a_flood_with_the_polite_reply():
    async def bot(message):
        await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")

    channel = RestInput(SenderRateLimiter(InMemoryCounterStore(), RateLimit(2, 60)))
    async with serve_channel(channel, bot, "/webhooks/rest") as served:
        replies = []
        for i in range(3):
            async with served.session.post(f"{served.base_url}/webhook",
                                           json={"sender": "flooder", "message": f"消息{i}"}) as response:
                replies.append([m["text"] for m in await response.json()])
    assert replies[:2] == [["收到：消息0"], ["收到：消息1"]]
    assert replies[2][0].startswith("您发消息太快了")


async def test_the_rest_channel_reads_a_message_that_is_not_text_without_failing():
    seen = []

    async def bot(message):
        seen.append(message.text)
        await message.output_channel.send_text_message(message.sender_id, "请用文字说一下遇到了什么问题。")

    channel = RestInput(SenderRateLimiter(InMemoryCounterStore(), RateLimit(20, 60)))
    async with serve_channel(channel, bot, "/webhooks/rest") as served:
        for message in (None, 123, ["路灯"]):
            async with served.session.post(f"{served.base_url}/webhook",
                                           json={"sender": "odd", "message": message}) as response:
                assert response.status == 200 and len(await response.json()) == 1
    assert seen == ["", "123", ""]
