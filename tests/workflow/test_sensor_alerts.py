"""Threshold rules push advice to the plot's growers at most once per rule per plot per Asia/Shanghai day; rules
are data, validated on load; administrators' broadcasts are idempotent on their request id."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from sqlalchemy import func, select

from field_support import DATA_DIR, GROWER_CHAT, PLOT, farm, sensors
from workflow.field_errors import FieldDataFileError, InvalidFieldData
from workflow.grower_broadcasts import RequestIdReused, broadcast
from workflow.models import Notification
from workflow.pesticides import load_pesticides
from workflow.sensor_rules import load_sensor_config


def soil(value, at="2026-11-30T09:00:00+08:00", depth=20):
    return {"device_id": "soil-1", "measured_at": at, "kind": "soil_moisture", "value": value, "unit": "%",
            "depth_cm": depth}


def aphids(count, at):
    return {"device_id": "trap-1", "measured_at": at, "kind": "pest_count", "value": count, "unit": "count",
            "species": "蚜虫"}


def _messages(session_factory, kind="field_alert"):
    with session_factory() as session:
        return session.execute(select(Notification).where(Notification.kind == kind)
                               .order_by(Notification.id)).scalars().all()


@pytest.fixture
def service(session_factory, clock):
    farm(session_factory, clock)
    return sensors(session_factory, clock)


def test_dry_soil_in_flowering_tells_the_grower_to_irrigate_once_a_day(service, session_factory, clock):
    first = service.ingest([soil(13.5)])
    [alert] = first.alerts
    assert alert.rule_id == "soil_dry_flowering" and alert.recipients == 1
    [message] = _messages(session_factory)
    assert (message.recipient_role, message.channel, message.recipient_id) == ("resident", *GROWER_CHAT)
    assert "浇" in message.text and "13.5%" in message.text and "刘家东地" in message.text
    clock.advance(dt.timedelta(hours=1))
    again = service.ingest([soil(12, at="2026-11-30T10:15:00+08:00")])
    assert again.accepted == 1 and again.alerts == ()
    assert len(_messages(session_factory)) == 1


def test_the_same_rule_fires_again_after_midnight_in_shanghai_not_utc(service, session_factory, clock):
    clock.now = dt.datetime(2026, 11, 30, 15, 50, tzinfo=dt.timezone.utc)  # 23:50 in Shanghai
    assert len(service.ingest([soil(13, at="2026-11-30T23:45:00+08:00")]).alerts) == 1
    clock.now = dt.datetime(2026, 11, 30, 16, 10, tzinfo=dt.timezone.utc)  # 00:10 the next day, same UTC date
    assert len(service.ingest([soil(13, at="2026-12-01T00:05:00+08:00")]).alerts) == 1
    assert [m.data["day"] for m in _messages(session_factory)] == ["2026-11-30", "2026-12-01"]


def test_moist_soil_another_stage_or_another_depth_pushes_nothing(service, session_factory, clock):
    from workflow.farms import Farms

    assert service.ingest([soil(25)]).alerts == ()
    assert service.ingest([soil(10, depth=40, at="2026-11-30T09:05:00+08:00")]).alerts == ()
    Farms(session_factory, clock).set_growth_stage(PLOT, "采收后")
    assert service.ingest([soil(5, at="2026-11-30T09:10:00+08:00")]).alerts == ()
    assert _messages(session_factory) == []


def test_aphid_counts_add_up_over_the_day_and_the_advice_names_products_and_intervals(service, session_factory):
    assert service.ingest([aphids(20, "2026-11-30T06:00:00+08:00")]).alerts == ()
    [alert] = service.ingest([aphids(15, "2026-11-30T09:00:00+08:00")]).alerts
    assert alert.rule_id == "aphid_trap_high" and alert.value == 35
    assert "吡虫啉（安全间隔期 7 天）" in alert.text


def test_yesterdays_backlog_is_stored_but_does_not_alert(service, session_factory):
    result = service.ingest([soil(5, at="2026-11-29T12:00:00+08:00")])
    assert result.accepted == 1 and result.alerts == ()


def test_heat_alerts_every_grower_chat_once(service, session_factory, clock):
    from workflow.farms import Farms

    Farms(session_factory, clock).add_grower([PLOT], "刘建国", channel="socketio", sender_id="web-liu")
    Farms(session_factory, clock).add_grower([PLOT], "刘大姐", channel=GROWER_CHAT[0], sender_id=GROWER_CHAT[1])
    [alert] = service.ingest([{"device_id": "ws-1", "measured_at": "2026-11-30T09:00:00+08:00",
                               "kind": "air_temperature", "value": 36.4, "unit": "°C"}]).alerts
    assert alert.rule_id == "heat" and alert.recipients == 2
    assert sorted(m.recipient_id for m in _messages(session_factory)) == ["web-liu", "wx-grower-liu"]


@pytest.mark.parametrize("edit, field", [
    (lambda r: r[0].update(kind="wind"), "kind"),
    (lambda r: r[0].update(above=3), "below/above"),
    (lambda r: r[0].pop("depth_cm"), "depth_cm"),
    (lambda r: r[2].update(species="蝴蝶"), "species"),
    (lambda r: r[2].update(products=["敌敌畏X"]), "products"),
    (lambda r: r[0].update(stages=["开花"]), "stages"),
    (lambda r: r[0].update(advice="{plott}"), "advice"),
    (lambda r: r[5].update(aggregate="day_total"), "aggregate"),
    (lambda r: r[1].update(id=r[0]["id"]), "id"),
    (lambda r: r[0].update(threshold=3), "threshold"),
])
def test_a_broken_rules_file_stops_loading_with_the_rule_and_field(tmp_path, edit, field):
    import yaml

    shutil.copytree(DATA_DIR / "trace", tmp_path / "trace")
    (tmp_path / "sensors").mkdir()
    document = yaml.safe_load((DATA_DIR / "sensors" / "rules.yml").read_text(encoding="utf-8"))
    edit(document["rules"])
    (tmp_path / "sensors" / "rules.yml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FieldDataFileError) as error:
        load_sensor_config(tmp_path, load_pesticides(tmp_path))
    assert field in error.value.context["field"]


def test_the_shipped_rules_load():
    config = load_sensor_config(DATA_DIR, load_pesticides(DATA_DIR))
    assert {"soil_dry_flowering", "aphid_trap_high", "heat"} <= {rule.id for rule in config.rules}
    assert "蚜虫" in config.pest_species and "棉铃虫" in config.pest_species


# ---------------------------------------------------------------------- broadcasts
def test_a_broadcast_reaches_one_chat_per_grower_and_a_retry_sends_nothing(session_factory, clock):
    from workflow.farms import Farms

    farms = farm(session_factory, clock)
    farms.create_plot("JL-009", "城角地", "巨鹿镇", growth_stage="花期")
    farms.add_grower(["JL-009"], "赵叔", channel="wechat", sender_id="wx-zhao")
    farms.add_grower(["JL-009"], "刘大姐", channel=GROWER_CHAT[0], sender_id=GROWER_CHAT[1])  # farms both
    everyone = broadcast(session_factory, request_id="req-1", text="今晚有大风，请加固棚架。", sent_by="admin",
                         clock=clock)
    assert len(everyone.recipients) == 2 and not everyone.repeated
    repeated = broadcast(session_factory, request_id="req-1", text="今晚有大风，请加固棚架。", sent_by="admin",
                         clock=clock)
    assert repeated.repeated and repeated.id == everyone.id
    assert len(_messages(session_factory, "grower_broadcast")) == 2
    township = broadcast(session_factory, request_id="req-2", text="巨鹿镇明天开培训会。", sent_by="admin",
                         township="巨鹿镇", clock=clock)
    assert [chat[1] for chat in township.recipients] == ["wx-zhao", "wx-grower-liu"] or \
        sorted(chat[1] for chat in township.recipients) == ["wx-grower-liu", "wx-zhao"]
    with pytest.raises(RequestIdReused):
        broadcast(session_factory, request_id="req-1", text="别的内容", sent_by="admin", clock=clock)
    with pytest.raises(InvalidFieldData):
        broadcast(session_factory, request_id="req-3", text="x", sent_by="admin", township="火星镇", clock=clock)
    with pytest.raises(InvalidFieldData):
        broadcast(session_factory, request_id="req-4", text="  ", sent_by="admin", clock=clock)
    assert len(_messages(session_factory, "grower_broadcast")) == 4


def test_two_ingestions_racing_push_the_days_advice_once(service, session_factory):
    from concurrent.futures import ThreadPoolExecutor

    batches = [[soil(13, at=f"2026-11-30T09:{minute:02d}:00+08:00")] for minute in range(0, 40, 5)]
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        results = list(pool.map(service.ingest, batches))
    assert sum(r.accepted for r in results) == len(batches)
    assert sum(len(r.alerts) for r in results) == 1
    assert len(_messages(session_factory)) == 1
