"""Disclosure control: what an analyst may see of a count."""

from __future__ import annotations

from projections.disclosure import Disclosure


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
