"""Shared values of the admin API tests: the kinds of caller, a standard report, and how a case reaches each status.

(Imported by the conftest and the tests; pytest puts this directory on ``sys.path``.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workflow.cases import NewReport
from workflow.lifecycle import CaseLifecycle
from workflow.transitions import Actor

#: Lead unit of eco_environment (the category of :func:`report`), and a unit that leads other matters.
LEAD_UNIT = "county_ecology"
OTHER_UNIT = "county_urban_management"


@dataclass(frozen=True)
class Tokens:
    """One bearer token per kind of caller, and the names the audit trail records for them."""

    dispatcher: str
    lead_unit: str
    other_unit: str
    admin: str
    stored_admin: str

    DISPATCHER_NAME = "调度员王芳"
    LEAD_UNIT_NAME = "生态环境分局-张科长"
    OTHER_UNIT_NAME = "城管执法局-李队长"
    STORED_ADMIN_NAME = "平台管理员"

    def of(self, role: str) -> str | None:
        """The token of ``role`` (``dispatcher``, ``lead_unit``, ``other_unit``, ``admin``); None for ``none``."""
        return None if role == "none" else getattr(self, role)


def report(**overrides: Any) -> NewReport:
    """A resident's report of burning straw in 王虎寨镇 (eco_environment, lead unit county_ecology)."""
    values: dict[str, Any] = {
        "description": "东关村村口有人焚烧秸秆，烟很大",
        "category_code": "eco_environment",
        "suggested_category_code": "eco_environment",
        "category_confidence": 0.62,
        "matter_type": "other",
        "township": "王虎寨镇",
        "reporter_id": "wx-resident-1",
        "channel": "wechat",
    }
    values.update(overrides)
    return NewReport(**values)


_DISPATCHER = Actor.dispatcher("fixture-dispatcher")
_UNIT = Actor.unit(LEAD_UNIT, "fixture-staff")
_RESIDENT = Actor.resident("wx-resident-1")
STEPS: dict[str, Callable[[CaseLifecycle, str], object]] = {
    "accept": lambda lc, case_id: lc.accept(case_id, _DISPATCHER, importance_level=2),
    "assign": lambda lc, case_id: lc.assign(case_id, _DISPATCHER),
    "acknowledge": lambda lc, case_id: lc.acknowledge(case_id, _UNIT),
    "return": lambda lc, case_id: lc.return_case(case_id, _UNIT, reason="不属于本单位职责"),
    "resolve": lambda lc, case_id: lc.resolve(case_id, _UNIT, result="已到现场制止"),
    "unsatisfied": lambda lc, case_id: lc.rate(case_id, _RESIDENT, "unsatisfied", comment="还在烧"),
}
_TO_RESOLVED = ["accept", "assign", "acknowledge", "resolve"]
#: How a case reaches each situation; ``review``: the resident was unsatisfied twice (returned, needs_review).
PATHS: dict[str, list[str]] = {
    "reported": [],
    "accepted": ["accept"],
    "assigned": ["accept", "assign"],
    "returned": ["accept", "assign", "return"],
    "in_progress": ["accept", "assign", "acknowledge"],
    "resolved": _TO_RESOLVED,
    "review": [*_TO_RESOLVED, "unsatisfied", "acknowledge", "resolve", "unsatisfied"],
}
