"""Disclosure control: what an analyst may see of a count."""

from __future__ import annotations

from projections.disclosure import Disclosure
from projections.queries import publishable_housing


def test_small_counts_are_suppressed_and_the_rest_rounded_to_five() -> None:
    rule = Disclosure(minimum=5, rounding=5)
    assert [rule(n) for n in (0, 1, 4, 5, 7, 8, 12, 13, 1002)] == [
        0,
        None,
        None,
        5,
        5,
        10,
        10,
        15,
        1000,
    ]


def test_the_rule_follows_its_settings() -> None:
    assert Disclosure(minimum=10, rounding=10)(9) is None
    assert Disclosure(minimum=10, rounding=10)(15) == 20
    assert Disclosure(minimum=1, rounding=1)(3) == 3


def test_statistics_are_withheld_with_their_count_and_rounded_otherwise() -> None:
    d = Disclosure()
    rows = [("2026-03", "A", 3, 12.34, 40.0), ("2026-03", "B", 12, 12.34, 40.06)]
    assert d.rows(rows, 2, statistics=2) == [
        ("2026-03", "A", None, None, None),
        ("2026-03", "B", 10, 12.3, 40.1),
    ]
    # Without statistics every column from the first count on is a count.
    assert d.rows([("x", 3, 12)], 1) == [("x", None, 10)]


def test_places_pass_as_they_are_and_ratios_follow_the_published_counts() -> None:
    from datetime import date  # noqa: PLC0415

    from projections.queries import CATALOGUE, publishable  # noqa: PLC0415

    columns = ["period", "location_type", "persons", "places", "occupancy_rate"]
    day = date(2026, 3, 1)
    rows = [(day, "AZC", 387, 643, 60.2), (day, "KWV", 3, 16, 18.8), (day, "COL", 13, 16, 81.3)]
    assert publishable("capacity", columns, rows, Disclosure()) == [
        (day, "AZC", 385, 643, 59.9),  # 385 / 643, not the exact 387 / 643
        (day, "KWV", None, 16, None),
        (day, "COL", 15, 16, 93.8),  # 93.75 rounded half up, as PostgreSQL rounds
    ]
    columns = [
        "period",
        *CATALOGUE["relocations"].sums,
        *(r.name for r in CATALOGUE["relocations"].ratios),
    ]
    year = date(2024, 1, 1)  # 366 days
    shown = publishable(
        "relocations", columns, [(year, 598, 128470, 3, 22569, 1.7, 0.05)], Disclosure()
    )
    assert shown == [(year, 600, 128470, None, 22570, round(600 * 366 / 128470, 2), None)]


def test_the_housing_backlog_follows_the_published_housed_and_never_exceeds_the_task() -> None:
    d = Disclosure(minimum=5, rounding=5)
    rows = [
        # task 8, none housed: the raw backlog 8 would round to 10, above the task
        ("GM0001", "2026-I", 8, 3, 0, 8),
        # 12 housed rounds to 10: the backlog is what is left of the task after those 10
        ("GM0002", "2026-I", 30, 14, 12, 18),
        # 3 housed is suppressed: so is the backlog, or task - backlog would give it away
        ("GM0003", "2026-I", 20, 6, 3, 17),
        # more housed than the task: nothing left
        ("GM0004", "2026-I", 10, 20, 19, 0),
    ]
    shown = publishable_housing(rows, d)
    assert shown == [
        ("GM0001", "2026-I", 8, None, 0, 8),
        ("GM0002", "2026-I", 30, 15, 10, 20),
        ("GM0003", "2026-I", 20, 5, None, None),
        ("GM0004", "2026-I", 10, 20, 20, 0),
    ]
    for _, _, task, _, housed, backlog in shown:
        assert backlog is None or backlog <= task
        assert backlog is None or housed is None or backlog == max(task - housed, 0)
