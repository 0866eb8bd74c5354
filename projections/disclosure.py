"""Statistical disclosure control for the analyst interface: small counts could identify a
person, so counts from 1 to `minimum - 1` are suppressed and the others rounded to a multiple of
`rounding` (half up). Zero is not disclosive and stays 0. Pure; applied to every figure that
leaves through `ketenlog query` (and, later, the API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Disclosure:
    minimum: int = 5
    rounding: int = 5

    def __call__(self, n: int) -> int | None:
        """The publishable value of a count, or None when it must be suppressed."""
        if n == 0:
            return 0
        if abs(n) < self.minimum:
            return None
        step = self.rounding
        sign = -1 if n < 0 else 1
        return sign * ((abs(n) + step // 2) // step) * step

    def rows(
        self, rows: list[tuple[Any, ...]], first_count: int, *, statistics: int = 0
    ) -> list[tuple[Any, ...]]:
        """Rows whose columns from `first_count` on are counts, made publishable. The last
        `statistics` columns are instead figures about the items the first count counts (a
        percentile): withheld (None) when that count is below the minimum, else to 1 decimal."""
        end = len(rows[0]) - statistics if rows else 0
        return [
            (
                *r[:first_count],
                *(self(int(v)) for v in r[first_count:end]),
                *(self.statistic(v, int(r[first_count])) for v in r[end:]),
            )
            for r in rows
        ]

    def statistic(self, value: Any, count: int) -> float | None:
        if value is None or abs(count) < self.minimum:
            return None
        return round(float(value), 1)

    def left_of(self, total: int, done: int | None) -> int | None:
        """What is left of a public `total` (a housing task) after a count `done`, derived from
        the published `done` so that the two add up to the total and never exceed it (the
        count's own rounding would let the remainder exceed the total); None where `done` is
        suppressed, for the total less the remainder would give it away."""
        if done is None:
            return None
        return max(total - done, 0)
