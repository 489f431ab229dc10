"""What a resident reporting an emergency is told at once: call the emergency number, then we file the case.

A case filed in the bot reaches a unit within its 2-hour deadline, far too slow for a fire, a crime in progress or
someone hurt. National emergency numbers (中华人民共和国 特服号码: 119 fire and rescue, 110 police, 120 medical
emergency, 122 traffic accidents) are said first, chosen by the report's category; an emergency of another category
gets all three.
"""

from __future__ import annotations

from typing import Optional

#: Category code → the numbers to call, in the order said.
EMERGENCY_NUMBERS = {
    "fire_safety": "119（火警）",
    "work_safety": "119（火警、救援）和120（急救）",
    "public_security": "110（报警）",
    "dispute_mediation": "110（报警）",
    "road_traffic_safety": "122（交通事故）或110，有人受伤拨120",
    "health": "120（急救）",
    "natural_resources": "119（救援）",
    "water_conservancy": "119（救援）",
}
_ALL = "119（火警、救援）、110（报警）或120（急救）"


def emergency_advice(matter_type: Optional[str], category: Optional[str]) -> Optional[str]:
    """The sentence to say before anything else when ``matter_type`` is ``emergency``, else None."""
    if matter_type != "emergency":
        return None
    numbers = EMERGENCY_NUMBERS.get(category or "", _ALL)
    return (f"情况紧急的话，请马上拨打{numbers}！人员先撤到安全的地方。"
            "我们同时登记，按紧急事项2小时内处置。")
