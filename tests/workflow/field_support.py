"""Shared set-up of the growers' tests: a plot in 王虎寨镇 in flowering, its growers and devices."""

from __future__ import annotations

from pathlib import Path

from workflow.farms import Farms
from workflow.sensors import SensorService

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
PLOT = "WHZ-001"
GROWER_CHAT = ("wechat", "wx-grower-liu")


def farm(session_factory, clock) -> Farms:
    """A plot ``WHZ-001`` (花期) with grower 刘大姐 on WeChat, a weather station, a soil probe and a pest trap."""
    farms = Farms(session_factory, clock)
    farms.create_plot(PLOT, "刘家东地", "王虎寨镇", growth_stage="花期", area_mu=3.5)
    farms.add_grower([PLOT], "刘大姐", channel=GROWER_CHAT[0], sender_id=GROWER_CHAT[1])
    farms.register_device("ws-1", PLOT, "weather_station")
    farms.register_device("soil-1", PLOT, "soil_probe")
    farms.register_device("trap-1", PLOT, "pest_trap")
    return farms


def sensors(session_factory, clock) -> SensorService:
    return SensorService.from_data_dir(session_factory, DATA_DIR, clock)
