"""When the system may accept a report by itself (the rest of workflow/dispatch.py is exercised through
tests/workflow/test_lifecycle.py, where a dispatcher accepts and assigns real cases)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from workflow.dispatch import auto_accept_refusal


def _case(**overrides) -> SimpleNamespace:
    values = dict(
        needs_review=False,
        matter_type="other",
        category_code="eco_environment",
        suggested_category_code="eco_environment",
        category_confidence=0.9,
    )
    values.update(overrides)
    return SimpleNamespace(**values)


@pytest.mark.parametrize("matter_type", ["policy_consultation", "public_service", "other"])
def test_a_confident_non_emergency_report_may_be_accepted_by_the_system(matter_type):
    assert auto_accept_refusal(_case(matter_type=matter_type), 0.85) is None


@pytest.mark.parametrize(
    "overrides,threshold,why",
    [
        (dict(category_confidence=0.85), 0.85, "not above"),
        (dict(category_confidence=0.2), 0.85, "not above"),
        (dict(category_confidence=None), 0.0, "not above"),
        (dict(matter_type="emergency", category_confidence=1.0), 0.85, "emergencies"),
        (dict(category_code="agriculture"), 0.85, "top suggestion"),
        (dict(category_code=None, needs_review=True), 0.85, "dispatcher"),
        (dict(category_confidence=0.99), 1.0, "not above"),  # 1.0 turns auto-accept off
    ],
)
def test_everything_else_waits_for_a_dispatcher(overrides, threshold, why):
    assert why in auto_accept_refusal(_case(**overrides), threshold)
