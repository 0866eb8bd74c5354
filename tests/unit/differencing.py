"""The differencing attacker of issue 14 (shared by tests/unit/test_disclosure_attack.py on
generated items and tests/integration/test_disclosure_attack_db.py over the real API): sound
interval reasoning over every split of a table and every day-aligned range of its days, with
only the public parameters of a disclosure rule (what it may publish for a count)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Protocol

from projections.disclosure import CellKey

Cell = tuple[int, int, tuple[str | None, ...]]
"""A query cell: first day, last day (0-based), a value per dimension (None = all of them)."""
Dimensions = Sequence[Sequence[str]]


class Rule(Protocol):
    def __call__(self, n: int, key: CellKey) -> int | None: ...

    def possible(self, n: int) -> frozenset[int | None]: ...


@dataclass(frozen=True)
class Rounding:
    """The rule before issue 14: 0 as it is, 1..4 suppressed, the rest rounded to 5."""

    def __call__(self, n: int, key: CellKey) -> int | None:
        if n == 0:
            return 0
        return None if n < 5 else (n + 2) // 5 * 5

    def possible(self, n: int) -> frozenset[int | None]:
        return frozenset({self(n, 0)})


def cells(days: int, dimensions: Dimensions) -> list[Cell]:
    choices = [(None, *values) for values in dimensions]
    return [
        (first, last, values)
        for first in range(days)
        for last in range(first, days)
        for values in product(*choices)
    ]


def relations(days: int, dimensions: Dimensions) -> list[tuple[Cell, list[Cell]]]:
    """Total = sum of parts: along each dimension, and a range = a shorter one and its last
    (or first) day."""
    out = []
    for first, last, values in cells(days, dimensions):
        for d, v in enumerate(values):
            if v is None:
                parts = [(*values[:d], x, *values[d + 1 :]) for x in dimensions[d]]
                out.append(((first, last, values), [(first, last, p) for p in parts]))
        if last > first:
            whole = (first, last, values)
            out.append((whole, [(first, last - 1, values), (last, last, values)]))
            out.append((whole, [(first, first, values), (first + 1, last, values)]))
    return out


def attack(
    published: dict[Cell, int | None], rule: Rule, days: int, dimensions: Dimensions, most: int
) -> dict[Cell, tuple[int, int]]:
    """The narrowest intervals of true counts (0 .. `most`) that the published figures and the
    relations allow, narrowed until nothing changes."""
    feasible: dict[int | None, tuple[int, int]] = {}
    for n in range(most + 1):
        for value in rule.possible(n):
            lo, hi = feasible.get(value, (n, n))
            feasible[value] = (min(lo, n), max(hi, n))
    bounds = {cell: feasible[value] for cell, value in published.items()}
    rels = relations(days, dimensions)
    changed = True
    while changed:
        changed = False
        for whole, parts in rels:
            lo = sum(bounds[p][0] for p in parts)
            hi = sum(bounds[p][1] for p in parts)
            wlo, whi = bounds[whole]
            new = (max(wlo, lo), min(whi, hi))
            if new != bounds[whole]:
                bounds[whole], changed = new, True
            wlo, whi = new
            for p in parts:
                plo, phi = bounds[p]
                narrowed = (max(plo, wlo - (hi - phi)), min(phi, whi - (lo - plo)))
                if narrowed != (plo, phi):
                    bounds[p], changed = narrowed, True
                    lo, hi = lo - plo + narrowed[0], hi - phi + narrowed[1]
    return bounds


def recovered(bounds: dict[Cell, tuple[int, int]], truth: dict[Cell, int]) -> tuple[int, int]:
    """How many non-zero cells the attacker pinned exactly, of how many; fails where the
    attacker is unsound (an interval without the true count)."""
    for cell, (lo, hi) in bounds.items():
        assert lo <= truth[cell] <= hi, f"the attacker is unsound at {cell}"
    nonzero = [c for c, n in truth.items() if n]
    return sum(bounds[c][0] == bounds[c][1] for c in nonzero), len(nonzero)
