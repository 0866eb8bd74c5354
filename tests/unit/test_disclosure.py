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
