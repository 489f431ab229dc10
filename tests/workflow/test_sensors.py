"""Ingesting field readings: each reading is checked on its own, good ones are kept, repeats store nothing twice;
the plot's latest readings answer "我家地的墒情怎么样"."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from field_support import GROWER_CHAT, PLOT, farm, sensors
from workflow.field_errors import InvalidFieldData
from workflow.sensor_models import SensorReading

# MONDAY_MORNING is 2026-11-30 09:30 in Asia/Shanghai.
NOW = "2026-11-30T09:30:00+08:00"


def reading(**overrides):
    values = {"device_id": "soil-1", "measured_at": "2026-11-30T09:00:00+08:00", "kind": "soil_moisture",
              "value": 22.5, "unit": "%", "depth_cm": 20}
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not ...}


@pytest.fixture
def service(session_factory, clock):
    farm(session_factory, clock)
    return sensors(session_factory, clock)


def _stored(session_factory) -> int:
    with session_factory() as session:
        return session.execute(select(func.count()).select_from(SensorReading)).scalar_one()


@pytest.mark.parametrize("bad, code, field", [
    (reading(unit="mm"), "wrong_unit", "unit"),
    (reading(kind="air_temperature", device_id="ws-1", unit="°F", depth_cm=..., value=70), "wrong_unit", "unit"),
    (reading(value=120), "out_of_range", "value"),
    (reading(kind="air_temperature", device_id="ws-1", unit="°C", depth_cm=..., value=-41), "out_of_range", "value"),
    (reading(kind="rainfall", device_id="ws-1", unit="mm", depth_cm=..., value=501), "out_of_range", "value"),
    (reading(depth_cm=250), "invalid_depth", "depth_cm"),
    (reading(depth_cm=...), "invalid_depth", "depth_cm"),
    (reading(kind="pest_count", device_id="trap-1", unit="count", depth_cm=..., value=3.5, species="蚜虫"),
     "out_of_range", "value"),
    (reading(kind="pest_count", device_id="trap-1", unit="count", depth_cm=..., value=3, species="蝴蝶"),
     "unknown_species", "species"),
    (reading(kind="pest_count", device_id="trap-1", unit="count", depth_cm=..., value=-1, species="蚜虫"),
     "out_of_range", "value"),
    (reading(measured_at="2026-11-30T09:36:00+08:00"), "future_timestamp", "measured_at"),
    (reading(measured_at="2026-10-30T09:00:00+08:00"), "stale_timestamp", "measured_at"),
    (reading(measured_at="2026-11-30T09:00:00"), "invalid_timestamp", "measured_at"),
    (reading(measured_at="昨天"), "invalid_timestamp", "measured_at"),
    (reading(device_id="nobody"), "unknown_device", "device_id"),
    (reading(device_id="ws-1"), "kind_not_measured_by_device", "kind"),
    (reading(device_id=...), "missing_field", "device_id"),
    (reading(value=...), "missing_field", "value"),
    (reading(value="22.5"), "non_numeric_value", "value"),
    (reading(value=True), "non_numeric_value", "value"),
    (reading(value=float("nan")), "non_numeric_value", "value"),
    (reading(kind="wind"), "unknown_kind", "kind"),
    (reading(depth=20), "unknown_field", "depth"),
    (reading(species="蚜虫"), "unexpected_field", "species"),
    ("22.5", "not_an_object", None),
    ({"device_id": "cam", "kind": "snapshot", "measured_at": NOW, "ref": "https://x.cn/a.jpg"}, "unknown_device",
     "device_id"),
    ({"device_id": "trap-1", "kind": "snapshot", "measured_at": NOW}, "invalid_ref", "ref"),
])
def test_a_malformed_reading_is_rejected_with_its_index_and_a_reason_in_both_languages(service, session_factory,
                                                                                      bad, code, field):
    result = service.ingest([reading(), bad])
    assert result.accepted == 1 and _stored(session_factory) == 1  # the good reading is kept
    [rejected] = result.rejected
    assert (rejected.index, rejected.code, rejected.field) == (1, code, field)
    assert rejected.reason_zh and rejected.reason_en


def test_a_mixed_batch_keeps_every_good_reading(service, session_factory):
    batch = [reading(value=10 + i, measured_at=f"2026-11-30T0{i}:00:00+08:00") for i in range(5)]
    batch.insert(2, reading(unit="°C"))
    batch.append(reading(device_id="ghost"))
    result = service.ingest(batch)
    assert (result.received, result.accepted, result.duplicates) == (7, 5, 0)
    assert [r.index for r in result.rejected] == [2, 6]
    assert _stored(session_factory) == 5


def test_the_celsius_sign_is_accepted_and_snapshots_need_a_url(service, session_factory, clock):
    from workflow.farms import Farms

    Farms(session_factory, clock).register_device("cam-1", PLOT, "camera")
    result = service.ingest([
        reading(device_id="ws-1", kind="air_temperature", unit="℃", value=18.2, depth_cm=...),
        {"device_id": "cam-1", "kind": "snapshot", "measured_at": NOW, "ref": "https://img.example.cn/a.jpg"},
        {"device_id": "cam-1", "kind": "snapshot", "measured_at": NOW, "ref": "javascript:alert(1)"},
    ])
    assert result.accepted == 2 and [r.code for r in result.rejected] == ["invalid_ref"]


def test_a_batch_sent_twice_stores_nothing_twice_and_a_changed_value_is_refused(service, session_factory):
    batch = [reading(), reading(depth_cm=40, value=30), reading(), ]
    first = service.ingest(batch)
    assert (first.accepted, first.duplicates) == (2, 1)
    again = service.ingest(batch)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 3, ())
    changed = service.ingest([reading(value=23)])
    assert [r.code for r in changed.rejected] == ["conflicting_duplicate"]
    assert _stored(session_factory) == 2


def test_an_inactive_device_is_refused(service, session_factory, clock):
    from workflow.farms import Farms

    Farms(session_factory, clock).register_device("soil-1", PLOT, "soil_probe", active=False)
    assert [r.code for r in service.ingest([reading()]).rejected] == ["inactive_device"]


@pytest.mark.parametrize("batch", [[], {"readings": []}, "x", [reading()] * 1001])
def test_a_batch_that_is_not_a_list_of_readings_is_refused_whole(service, batch):
    with pytest.raises(InvalidFieldData):
        service.ingest(batch)


def test_latest_readings_give_the_newest_value_per_kind_and_depth(service, clock):
    service.ingest([
        reading(value=25, measured_at="2026-11-30T06:00:00+08:00"),
        reading(value=14.5, measured_at="2026-11-30T07:30:00+08:00"),
        reading(value=31, depth_cm=40, measured_at="2026-11-29T07:00:00+08:00"),
        reading(device_id="ws-1", kind="air_temperature", unit="°C", value=8, depth_cm=...),
    ])
    latest = {(r.kind, r.series): r.value for r in service.latest_readings(PLOT)}
    assert latest == {("soil_moisture", "20cm"): 14.5, ("soil_moisture", "40cm"): 31, ("air_temperature", ""): 8}


def test_the_bot_answers_about_the_senders_plots_with_the_age_of_each_reading(service):
    service.ingest([
        reading(value=14.5, measured_at="2026-11-30T07:30:00+08:00"),
        reading(value=31, depth_cm=40, measured_at="2026-11-28T07:00:00+08:00"),
        reading(device_id="ws-1", kind="air_temperature", unit="°C", value=8, depth_cm=...),
    ])
    answer = service.answer_for_sender(*GROWER_CHAT, focus="soil_moisture")
    assert "刘家东地" in answer and "王虎寨镇" in answer and "花期" in answer
    assert "20 厘米土层 14.5%" in answer and "2 小时前" in answer
    assert "花期土壤偏干" in answer  # below the flowering irrigation line of data/sensors/rules.yml
    assert "40 厘米土层 31%" in answer and "2 天前" in answer and "已超过一天没有更新" in answer
    assert "气温" not in answer
    assert "气温：8°C" in service.answer_for_sender(*GROWER_CHAT)


def test_a_stranger_is_told_to_register_a_plot(service):
    assert "还没有查到您名下登记的地块" in service.answer_for_sender("wechat", "someone-else")


def test_a_resident_grower_is_found_by_their_bound_chat(session_factory, clock):
    from workflow.models import ResidentChannel

    farms = farm(session_factory, clock)
    with session_factory.begin() as session:
        resident_id = _resident(session)
        session.add(ResidentChannel(resident_id=resident_id, channel="socketio", sender_id="web-9",
                                    bound_at=clock.now))
    farms.add_grower(["WHZ-001"], "王建国", resident_id=resident_id)
    assert [p.code for p in farms.plots_of_sender("socketio", "web-9")] == ["WHZ-001"]


def _resident(session) -> int:
    from workflow.models import Grid, Household, Resident

    from workflow.models import Village

    village = session.execute(select(Village).order_by(Village.code)).scalars().first()
    grid = Grid(code="G-T1", name="第一网格", village_code=village.code, kind="rural")
    session.add(grid)
    session.flush()
    household = Household(code="H-T1", grid_code=grid.code, address="东关村 1 号", head_name="王建国", member_count=3)
    session.add(household)
    session.flush()
    resident = Resident(household_id=household.id, name="王建国", role="head")
    session.add(resident)
    session.flush()
    return resident.id
