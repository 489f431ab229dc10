"""Traceability: trace codes, the chain in order, and the pre-harvest interval (refused, or flagged on override)."""

from __future__ import annotations

import datetime as dt

import pytest

from field_support import DATA_DIR, PLOT, farm
from workflow.field_errors import InvalidFieldData
from workflow.pesticides import UnknownPesticide, load_pesticides
from workflow.traceability import (
    CODE_ALPHABET,
    PreHarvestIntervalViolation,
    TraceNotFound,
    Traceability,
    normalize_trace_code,
)

SH = dt.timezone(dt.timedelta(hours=8))


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=SH)


@pytest.fixture
def trace(session_factory, clock):
    clock.now = dt.datetime(2026, 6, 30, 2, 0, tzinfo=dt.timezone.utc)
    farm(session_factory, clock)
    return Traceability(session_factory, load_pesticides(DATA_DIR), clock)


@pytest.fixture
def code(trace) -> str:
    return trace.create_batch(PLOT, 1, created_by="admin")


def record(trace, code, kind, when, **extra):
    values = {"what": extra.pop("what", f"{kind} 记录"), "place": "刘家东地", "actor": "刘大姐", "recorded_by": "admin"}
    values.update(extra)
    return trace.record_event(code, kind, occurred_at=when, **values)


def spray(trace, code, when, product="吡虫啉", **extra):
    return record(trace, code, "spraying", when, product=product, dose=20, dose_unit="g/亩", what="防治蚜虫", **extra)


def test_a_trace_code_is_short_unambiguous_and_read_loosely(code):
    prefix, year, tail = code.split("-")
    assert (prefix, year, len(tail)) == ("JYH", "2026", 5) and set(tail) <= set(CODE_ALPHABET)
    assert not set("01ILO") & set(CODE_ALPHABET)
    assert normalize_trace_code(f" {code.lower().replace('-', ' ')} ") == code
    assert normalize_trace_code(code.replace("-", "－")) == code
    assert normalize_trace_code("JYH-2026-0OOO1") is None


def test_a_harvest_inside_the_interval_is_refused_with_product_and_dates(trace, code):
    spray(trace, code, at("2026-06-01"))  # 吡虫啉: 7 days in data/trace/pesticides.yml
    with pytest.raises(PreHarvestIntervalViolation) as error:
        record(trace, code, "harvest", at("2026-06-07"), quantity_kg=120)
    assert error.value.context == {"product": "吡虫啉", "sprayed_on": "2026-06-01", "earliest_harvest": "2026-06-08",
                                   "phi_days": 7, "harvest_on": "2026-06-07"}
    assert "最早 2026-06-08 才能采收" in error.value.message_zh
    assert trace.chain(code).events[-1].kind == "spraying"  # nothing recorded
    harvest = record(trace, code, "harvest", at("2026-06-08", 6), quantity_kg=120)
    assert not harvest.phi_override


def test_the_longest_running_interval_decides(trace, code):
    spray(trace, code, at("2026-06-01"), product="三唑酮")  # 20 days
    spray(trace, code, at("2026-06-10"))  # 7 days
    with pytest.raises(PreHarvestIntervalViolation) as error:
        record(trace, code, "harvest", at("2026-06-18"))
    assert error.value.context["product"] == "三唑酮" and error.value.context["earliest_harvest"] == "2026-06-21"


def test_the_interval_is_counted_in_shanghai_days(trace, code):
    spray(trace, code, dt.datetime(2026, 6, 1, 16, 30, tzinfo=dt.timezone.utc))  # 00:30 on 2 June in Shanghai
    with pytest.raises(PreHarvestIntervalViolation) as error:
        record(trace, code, "harvest", at("2026-06-08"))
    assert error.value.context["sprayed_on"] == "2026-06-02"


def test_an_override_with_a_reason_records_the_harvest_and_flags_the_chain(trace, code):
    spray(trace, code, at("2026-06-01"))
    with pytest.raises(InvalidFieldData):
        record(trace, code, "harvest", at("2026-06-05"), override_phi=True)
    harvest = record(trace, code, "harvest", at("2026-06-05"), override_phi=True,
                     override_reason="农残检测合格，报告 JC-0605")
    assert harvest.phi_override and harvest.details["phi_violation"]["earliest_harvest"] == "2026-06-08"
    chain = trace.chain(code)
    assert chain.flagged
    summary = trace.trace_summary_zh(code)
    assert "安全间隔期内" in summary and "JC-0605" in summary


def test_a_spraying_recorded_late_cannot_hide_inside_a_recorded_harvests_interval(trace, code):
    record(trace, code, "harvest", at("2026-06-05"))
    with pytest.raises(PreHarvestIntervalViolation):
        spray(trace, code, at("2026-06-01"))
    spray(trace, code, at("2026-06-06"))  # after the harvest: fine


def test_a_spraying_needs_a_known_product_a_dose_and_a_unit(trace, code):
    with pytest.raises(UnknownPesticide) as error:
        spray(trace, code, at("2026-06-01"), product="神奇药水")
    assert "吡虫啉" in error.value.context["known"]
    with pytest.raises(InvalidFieldData) as missing:
        record(trace, code, "spraying", at("2026-06-01"), product="吡虫啉", dose=20)
    assert missing.value.context["field"] == "dose_unit"
    with pytest.raises(InvalidFieldData):
        record(trace, code, "spraying", at("2026-06-01"), product="吡虫啉", dose=-1, dose_unit="g/亩")
    with pytest.raises(InvalidFieldData):
        record(trace, code, "spraying", at("2026-06-01"), product="吡虫啉", dose=20, dose_unit="瓶")
    assert spray(trace, code, at("2026-06-01"), product="imidacloprid").details["product"] == "吡虫啉"


def test_the_chain_is_in_order_of_when_ties_by_recording(trace, code):
    record(trace, code, "packaging", at("2026-06-20"))
    record(trace, code, "planting", at("2025-03-15"))
    record(trace, code, "drying", at("2026-06-12"), what="烘干一")
    record(trace, code, "harvest", at("2026-06-10"))
    record(trace, code, "drying", at("2026-06-12"), what="烘干二")
    chain = trace.chain(code)
    assert [e.kind for e in chain.events] == ["planting", "harvest", "drying", "drying", "packaging"]
    assert [e.what for e in chain.events if e.kind == "drying"] == ["烘干一", "烘干二"]
    assert chain.grower_name == "刘大姐" and chain.plot_name == "刘家东地" and chain.township_name == "王虎寨镇"


def test_no_future_events_and_unknown_kinds(trace, code):
    with pytest.raises(InvalidFieldData):
        record(trace, code, "harvest", at("2026-07-30"))
    with pytest.raises(InvalidFieldData):
        record(trace, code, "watering", at("2026-06-01"))


def test_unknown_codes_and_growers(trace):
    with pytest.raises(TraceNotFound):
        trace.chain("JYH-2026-22222")
    assert "没有查到溯源码" in trace.trace_summary_zh("ABC")
    from workflow.farms import GrowerNotFound, PlotNotFound

    with pytest.raises(GrowerNotFound):
        trace.create_batch(PLOT, 999, created_by="admin")
    with pytest.raises(PlotNotFound):
        trace.create_batch("NOPE", 1, created_by="admin")
