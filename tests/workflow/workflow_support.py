"""Shared test data for the closed-loop tests (lifecycle, notifications, jobs)."""

from __future__ import annotations

from workflow.cases import NewReport


def report(**overrides) -> NewReport:
    """A resident's report of burning straw in 王虎寨 (eco_environment, lead unit county_ecology), via WeChat."""
    values = dict(
        description="村东头有人焚烧秸秆，烟很大",
        category_code="eco_environment",
        suggested_category_code="eco_environment",
        category_confidence=0.91,
        matter_type="other",
        township="王虎寨",
        reporter_id="wx-openid-1",
        channel="wechat",
    )
    values.update(overrides)
    return NewReport(**values)
