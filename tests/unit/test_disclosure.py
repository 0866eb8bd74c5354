"""Disclosure control: what an analyst may see of a count (the cell key method); the attack it
must withstand is tests/unit/test_disclosure_attack.py."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from projections.disclosure import Disclosure, perturbation
from projections.queries import CATALOGUE, publishable, publishable_housing

RULE = Disclosure(minimum=5, rounding=5, noise=2, secret=b"a test key of the server")
KEYS = range(20_000)


def test_the_perturbation_table_is_bounded_symmetric_and_sums_to_one() -> None:
    table = dict(perturbation(2))
    assert set(table) == {-2, -1, 0, 1, 2}
    assert abs(sum(table.values()) - 1) < 1e-12
    assert all(table[d] == table[-d] for d in table)
    assert table[0] > table[1] > table[2] > 0


def test_the_noise_follows_the_table_and_averages_to_zero() -> None:
    seen = Counter(RULE.noise_of(40, key) for key in KEYS)
    assert set(seen) == {-2, -1, 0, 1, 2}
    assert abs(sum(d * k for d, k in seen.items()) / len(KEYS)) < 0.05
    for d, p in perturbation(2):
        assert abs(seen[d] / len(KEYS) - p) < 0.02


def test_the_same_record_set_always_gets_the_same_value_and_the_secret_decides_which() -> None:
    assert [RULE(23, key) for key in KEYS] == [RULE(23, key) for key in KEYS]
    assert len({RULE(23, key) for key in KEYS}) > 1
    other = Disclosure(secret=b"another server's secret key")
    assert [RULE.noise_of(23, k) for k in KEYS] != [other.noise_of(23, k) for k in KEYS]


def test_a_published_count_is_rounded_and_at_most_the_bound_away() -> None:
    for n in range(0, 60):
        for key in range(200):
            shown = RULE(n, key)
            if shown is None:
                assert n + RULE.noise_of(n, key) < 5
                continue
            assert shown % 5 == 0
            assert abs(shown - n) <= 2 + 2  # the noise and half the rounding base


def test_zero_and_small_counts_are_suppressed_alike() -> None:
    # Zero too: a 0 would make every suppressed figure a known "at least 1".
    assert {RULE(0, key) for key in KEYS} == {None}
    assert {RULE(n, key) for n in (1, 2) for key in KEYS} == {None}
    assert None in {RULE(6, key) for key in KEYS}  # 6 - 2 is below the minimum
    assert None not in {RULE(7, key) for key in KEYS}


def test_the_rule_follows_its_settings() -> None:
    coarse = Disclosure(minimum=10, rounding=10, noise=1, secret=b"k" * 32)
    assert {coarse(8, key) for key in KEYS} == {None}
    assert {coarse(15, key) for key in KEYS} <= {10, 20}
    exact = Disclosure(minimum=1, rounding=1, noise=1, secret=b"k" * 32)
    assert {exact(3, key) for key in KEYS} == {2, 3, 4}


def test_statistics_need_ten_items_and_are_rounded_to_a_whole_unit() -> None:
    assert {RULE.statistic(12.5, 7, key) for key in KEYS} == {None}
    assert {RULE.statistic(12.5, 12, key) for key in KEYS} == {13}  # half up
    assert {RULE.statistic(12.49, 12, key) for key in KEYS} == {12}
    # Around ten the threshold is on the perturbed count, so a figure shown is no exact bound.
    assert {RULE.statistic(3.0, 10, key) for key in KEYS} == {None, 3}
    assert RULE.statistic(None, 40, 1) is None


def test_publishable_uses_each_counts_record_keys_and_leaves_them_out() -> None:
    p = CATALOGUE["screenings"]
    columns = ["period", "location", *p.sums, *(r.name for r in p.ratios)]
    day = date(2026, 3, 1)
    rows = [(day, "TER_APEL", 40, 30, 20, 66.7, 111, 222, 333)]
    (shown,) = publishable("screenings", columns, rows, RULE)
    started, completed, within = RULE(40, 111), RULE(30, 222), RULE(20, 333)
    assert shown[:5] == (day, "TER_APEL", started, completed, within)
    assert shown[5] == p.ratios[0].of(dict(zip(columns, shown, strict=False)), day)
    assert len(shown) == len(columns)


def test_rows_without_their_record_keys_are_refused() -> None:
    columns = ["period", "applications"]
    with pytest.raises(ValueError, match="keys=True"):
        publishable("inflow", columns, [(date(2026, 3, 1), 40)], RULE)


def test_a_row_of_suppressed_counts_is_left_out_but_not_one_with_places() -> None:
    columns = ["period", "location_type", "location_id", "persons", "places", "occupancy_rate"]
    day = date(2026, 3, 1)
    rows = [
        (day, "AZC", "L1", 387, 643, 60.2, 9001),
        (day, "KWV", "L2", 2, 16, 12.5, 9002),
        (day, "UNPLACED", "-", 2, 0, None, 9003),
    ]
    shown = publishable("capacity", columns, rows, RULE)
    persons = RULE(387, 9001)
    assert persons is not None
    assert shown == [
        (day, "AZC", "L1", persons, 643, round(100 * persons / 643, 1)),
        (day, "KWV", "L2", None, 16, None),
    ]


def test_statistics_follow_the_cell_key_of_their_count() -> None:
    columns = ["period", "decisions", "p50_lead_days", "p90_lead_days"]
    day = date(2026, 3, 1)
    shown = publishable("lead_times", columns, [(day, 40, 101.4, 180.6, 77)], RULE)
    assert shown == [(day, RULE(40, 77), 101, 181)]


def test_figures_without_record_keys_get_a_cell_key_from_what_they_count() -> None:
    p = CATALOGUE["relocations"]
    columns = ["period", *p.sums, *(r.name for r in p.ratios)]
    years = [date(2024, 1, 1), date(2025, 1, 1)]
    shown = [
        publishable("relocations", columns, [(y, 598, 128470, 30, 22569, 1.7, 0.5)], RULE)[0]
        for y in years
    ]
    # The same counts in another year: the same cell, the same noise.
    assert shown[0][1:5] == shown[1][1:5]
    assert shown[0][1] == RULE(598, "relocations:relocations")


def test_the_housing_backlog_follows_the_published_housed_and_never_exceeds_the_task() -> None:
    rows = [
        (f"GM{i:04}", "2026-I", task, linked, housed, max(task - housed, 0))
        for i, (task, linked, housed) in enumerate(
            [(8, 3, 0), (30, 14, 12), (20, 6, 3), (10, 20, 19), (40, 40, 38)]
        )
    ]
    shown = publishable_housing(rows, RULE)
    assert [r[:3] for r in shown] == [r[:3] for r in rows]  # the task is public
    for (*_, housed, _), (_, _, task, _, published, backlog) in zip(rows, shown, strict=True):
        assert published is None or abs(published - housed) <= 4
        # Suppressed housed: so is the backlog, or task - backlog would give it away.
        assert (backlog is None) == (published is None)
        assert backlog is None or published is None or backlog == max(task - published, 0)
        assert backlog is None or backlog <= task
