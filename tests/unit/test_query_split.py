"""A projection whose figures do not add up across a dimension is always split by it: the
lifecycle view's cases, receptions, ... are never summed into one series (CLI and API both go
through queries.plan)."""

from __future__ import annotations

from projections.queries import plan


def test_lifecycle_defaults_to_lifecycle_and_state_and_always_keeps_lifecycle() -> None:
    assert plan("lifecycle", "month", [], None, None)[0] == [
        "period",
        "lifecycle",
        "state",
        "subjects",
    ]
    assert plan("lifecycle", "month", ["state"], None, None)[0] == [
        "period",
        "lifecycle",
        "state",
        "subjects",
    ]
    assert plan("lifecycle", "month", ["lifecycle"], None, None)[0] == [
        "period",
        "lifecycle",
        "subjects",
    ]


def test_other_projections_sum_over_what_is_not_asked() -> None:
    assert plan("inflow", "month", [], None, None)[0] == ["period", "applications"]
