"""The sensor ingestion API: a sensor token sends batches, bad readings are listed (207) while good ones are kept;
plots, growers, devices and broadcasts are for administrators."""

from __future__ import annotations

import pytest

from workflow.api_tokens import create_token

PLOT = "WHZ-001"


def soil(value, at="2026-11-30T09:00:00+08:00", **extra):
    reading = {"device_id": "soil-1", "measured_at": at, "kind": "soil_moisture", "value": value, "unit": "%",
               "depth_cm": 20}
    reading.update(extra)
    return reading


@pytest.fixture
def sensor_token(session_factory) -> str:
    return create_token(session_factory, "sensor", name="田间网关-王虎寨").token


@pytest.fixture
async def farm_api(api):
    assert (await api.post("/api/plots", {"code": PLOT, "name": "刘家东地", "township": "王虎寨镇",
                                          "growth_stage": "花期", "area_mu": 3.5})).status == 201
    grower = await api.post(f"/api/plots/{PLOT}/growers", {"display_name": "刘大姐", "channel": "wechat",
                                                           "sender_id": "wx-liu"})
    assert grower.status == 201
    assert (await api.post("/api/sensors/devices", {"device_id": "soil-1", "plot": PLOT,
                                                    "kind": "soil_probe"})).status == 200
    return api


async def test_a_mixed_batch_is_answered_207_and_keeps_the_good_readings(farm_api, sensor_token):
    batch = {"readings": [soil(22), soil(20, unit="mm", at="2026-11-30T08:00:00+08:00"),
                          soil(21, at="2026-11-30T07:00:00+08:00"), {"device_id": "soil-1"}]}
    response = await farm_api.post("/api/sensors/readings", batch, token=sensor_token)
    assert response.status == 207
    assert (response.body["accepted"], response.body["duplicates"]) == (2, 0)
    assert [(r["index"], r["code"]) for r in response.body["rejected"]] == [(1, "wrong_unit"), (3, "missing_field")]
    assert "单位" in response.body["rejected"][0]["reason_zh"] and "unit" in response.body["rejected"][0]["reason_en"]
    again = await farm_api.post("/api/sensors/readings", {"readings": [soil(22)]}, token=sensor_token)
    assert again.status == 200 and (again.body["accepted"], again.body["duplicates"]) == (0, 1)
    plot = await farm_api.get(f"/api/plots/{PLOT}")
    assert [(r["kind"], r["value"]) for r in plot.body["latest"]] == [("soil_moisture", 22)]


async def test_dry_soil_alerts_the_grower_once_through_the_outbox(farm_api, sensor_token, outbox):
    first = await farm_api.post("/api/sensors/readings", {"readings": [soil(12)]}, token=sensor_token)
    assert [a["rule_id"] for a in first.body["alerts"]] == ["soil_dry_flowering"]
    second = await farm_api.post("/api/sensors/readings", {"readings": [soil(11, at="2026-11-30T09:10:00+08:00")]},
                                 token=sensor_token)
    assert second.body["alerts"] == []
    [message] = outbox.messages_for_resident("wx-liu")
    assert message.kind == "field_alert" and message.channel == "wechat" and "浇" in message.text


@pytest.mark.parametrize("body, status", [({"readings": []}, 422), ({"readings": "x"}, 422), ({"reading": []}, 422),
                                          (None, 422)])
async def test_a_body_that_is_not_a_batch_is_refused_whole(farm_api, sensor_token, body, status):
    response = await farm_api.post("/api/sensors/readings", body, token=sensor_token)
    assert response.status == status and "error" in response.body


async def test_malformed_json_is_a_400(farm_api, sensor_token):
    response = await farm_api.post("/api/sensors/readings", data=b"{readings:", token=sensor_token)
    assert response.status == 400


async def test_who_may_call_what(farm_api, sensor_token, tokens, make_case):
    assert (await farm_api.post("/api/sensors/readings", {"readings": [soil(22)]}, token=None)).status == 401
    assert (await farm_api.post("/api/sensors/readings", {"readings": [soil(22)]},
                                token=tokens.dispatcher)).status == 403
    assert (await farm_api.post("/api/sensors/readings", {"readings": [soil(22)]})).status == 200  # admin
    # A sensor token sends readings and nothing else.
    case_id = make_case()
    assert (await farm_api.get(f"/api/cases/{case_id}", token=sensor_token)).status == 403
    assert (await farm_api.get("/api/cases", token=sensor_token)).status == 403
    assert (await farm_api.post("/api/plots", {"code": "X"}, token=sensor_token)).status == 403
    assert (await farm_api.post("/api/growers/broadcast", {"request_id": "r", "text": "t"},
                                token=tokens.dispatcher)).status == 403
    assert (await farm_api.get(f"/api/plots/{PLOT}", token=tokens.lead_unit)).status == 403


async def test_plot_errors_are_clear(farm_api):
    assert (await farm_api.get("/api/plots/NOPE")).status == 404
    bad = await farm_api.post("/api/plots", {"code": "P2", "name": "x", "township": "火星镇"})
    assert bad.status == 422 and bad.body["error"]["context"]["field"] == "township"
    stage = await farm_api.post(f"/api/plots/{PLOT}/stage", {"growth_stage": "开花"})
    assert stage.status == 422 and stage.body["error"]["context"]["field"] == "growth_stage"
    assert (await farm_api.post(f"/api/plots/{PLOT}/stage", {"growth_stage": "采收后"})).body["growth_stage"] == "采收后"
    unknown = await farm_api.post("/api/plots", {"code": "P3", "name": "x", "township": "巨鹿镇", "colour": 1})
    assert unknown.status == 422 and unknown.body["error"]["code"] == "invalid_request_body"


async def test_a_broadcast_is_idempotent_on_its_request_id(farm_api, outbox):
    body = {"request_id": "guide-2026-12-01", "text": "近期降温，请做好防冻。", "township": "王虎寨镇"}
    first = await farm_api.post("/api/growers/broadcast", body)
    assert first.status == 201 and first.body["recipients"] == 1 and not first.body["repeated"]
    retry = await farm_api.post("/api/growers/broadcast", body)
    assert retry.status == 200 and retry.body["repeated"] and retry.body["id"] == first.body["id"]
    assert [m.kind for m in outbox.messages_for_resident("wx-liu")] == ["grower_broadcast"]
    reused = await farm_api.post("/api/growers/broadcast", {**body, "text": "别的"})
    assert reused.status == 409 and reused.body["error"]["code"] == "request_id_reused"
    elsewhere = await farm_api.post("/api/growers/broadcast", {"request_id": "g2", "text": "巨鹿镇培训",
                                                               "township": "巨鹿镇"})
    assert elsewhere.status == 201 and elsewhere.body["recipients"] == 0
