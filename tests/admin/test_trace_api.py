"""Traceability API and the public trace page: batches and events, the pre-harvest interval (409 or flagged), the
chain in order, escaping, and a Chinese 404 for unknown codes."""

from __future__ import annotations

import aiohttp
import pytest

PLOT = "WHZ-001"


@pytest.fixture
async def batch(api):
    await api.post("/api/plots", {"code": PLOT, "name": "刘家<东>地", "township": "王虎寨镇", "growth_stage": "花期"})
    grower = await api.post(f"/api/plots/{PLOT}/growers", {"display_name": "刘大姐", "channel": "wechat",
                                                           "sender_id": "wx-liu-secret"})
    created = await api.post("/api/trace/batches", {"plot": PLOT, "grower_id": grower.body["id"]})
    assert created.status == 201 and created.body["code"].startswith("JYH-")
    return created.body["code"]


def event(kind, when, **extra):
    return {"kind": kind, "occurred_at": when, "what": extra.pop("what", f"{kind}"), "place": "刘家东地",
            "actor": "刘大姐", **extra}


async def _page(api, path):
    async with aiohttp.ClientSession() as session:
        async with session.get(api.base_url + path) as response:
            return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_a_harvest_inside_the_interval_is_409_then_flagged_with_an_override(api, batch):
    spray = event("spraying", "2026-06-01T08:00:00+08:00", product="吡虫啉", dose=20, dose_unit="g/亩",
                  what="防治蚜虫")
    assert (await api.post(f"/api/trace/{batch}/events", spray)).status == 201
    refused = await api.post(f"/api/trace/{batch}/events", event("harvest", "2026-06-05T07:00:00+08:00"))
    assert refused.status == 409
    error = refused.body["error"]
    assert error["code"] == "pre_harvest_interval_violation"
    assert (error["context"]["product"], error["context"]["sprayed_on"], error["context"]["earliest_harvest"]) == \
        ("吡虫啉", "2026-06-01", "2026-06-08")
    flagged = await api.post(f"/api/trace/{batch}/events",
                             event("harvest", "2026-06-05T07:00:00+08:00", override_phi=True,
                                   override_reason="农残检测合格"))
    assert flagged.status == 201 and flagged.body["phi_override"]
    chain = await api.get(f"/api/trace/{batch}")
    assert chain.body["flagged"] and [e["kind"] for e in chain.body["events"]] == ["spraying", "harvest"]


async def test_bad_events_are_422(api, batch):
    naive = await api.post(f"/api/trace/{batch}/events", event("planting", "2026-03-01T08:00:00"))
    assert naive.status == 422 and naive.body["error"]["context"]["field"] == "occurred_at"
    unknown = await api.post(f"/api/trace/{batch}/events", event("spraying", "2026-03-01T08:00:00+08:00",
                                                                 product="神药", dose=1, dose_unit="g/亩"))
    assert unknown.status == 422 and unknown.body["error"]["code"] == "unknown_pesticide"
    assert (await api.post("/api/trace/JYH-2026-22222/events", event("planting", "2026-03-01T08:00:00+08:00"))
            ).status == 404


async def test_the_public_page_shows_the_chain_in_order_escaped_and_without_chat_ids(api, batch):
    await api.post(f"/api/trace/{batch}/events", event("packaging", "2026-06-20T08:00:00+08:00", what="装袋 500 克"))
    await api.post(f"/api/trace/{batch}/events", event("planting", "2025-03-10T08:00:00+08:00",
                                                       what="<script>alert(1)</script>定植"))
    await api.post(f"/api/trace/{batch}/events", event("harvest", "2026-06-10T06:00:00+08:00", what="采二白期花蕾",
                                                       quantity_kg=80))
    status, content_type, page = await _page(api, f"/trace/{batch.lower()}")
    assert status == 200 and content_type.startswith("text/html")
    assert page.index("定植") < page.index("采二白期花蕾") < page.index("装袋 500 克")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "刘家&lt;东&gt;地" in page and "刘大姐" in page and "王虎寨镇" in page
    assert "wx-liu-secret" not in page


async def test_an_unknown_code_gets_a_chinese_404_page(api):
    status, content_type, page = await _page(api, "/trace/JYH-2026-<b>x")
    assert status == 404 and content_type.startswith("text/html")
    assert "没有查到" in page and "<b>x" not in page


async def test_writing_needs_an_admin_token(api, batch, tokens):
    assert (await api.post("/api/trace/batches", {"plot": PLOT, "grower_id": 1}, token=tokens.dispatcher)
            ).status == 403
    assert (await api.get(f"/api/trace/{batch}", token=tokens.dispatcher)).status == 200
    assert (await api.get(f"/api/trace/{batch}", token=None)).status == 401
