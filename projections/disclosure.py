"""Statistical disclosure control for the analyst interface: the last step before a figure
leaves through `ketenlog query`, the API or the dashboard. Pure; the record keys it needs are
summed in SQL (projections/views.sql, `record_key`) and handed in per cell.

The cell key method (ABS TableBuilder; Eurostat/Destatis' "Cell Key Method" of the 2021
census): every counted record has a pseudo-random record key, a cell's key is derived from the
sum of its records' keys (additive, so SQL sums it alongside the count), and the published value
is the true count plus a small noise looked up by the cell key in a perturbation table: bounded
(|d| <= `noise`), mean 0. Then a count whose perturbed value is below `minimum` is suppressed,
zero included (so neither the threshold nor "not zero" is an exact bound), and the rest rounded
to a multiple of `rounding` (half up). A total is a cell of its own
(its own record set, its own noise), so "total minus the other parts" has no exact answer; the
same record set always gives the same value, so repeating or reformulating a query (other
dates with the same records) does not average the noise away.

Here the cell key is an HMAC, with the server's secret disclosure key, of the cell's count and
its record-key sum: the record keys themselves are a public hash (SQL holds no secret), the
secret makes the noise unpredictable. Why noise at all: deterministic rounding and suppression
(the rule before issue 14) give up exact cells to anyone who differences totals against their
parts or walks a date range a day at a time (tests/unit/test_disclosure_attack.py).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CellKey = int | str
"""A cell's key material: the sum of its records' keys, or (for a figure no view keys by
record) a label naming the cell without its dates."""


@functools.cache  # every cell looks it up: ~12 us a call, a fifth of publishing a row
def perturbation(bound: int) -> tuple[tuple[int, float], ...]:
    """The perturbation table: noise d in -bound..bound with probability halving per step away
    from 0, symmetric (mean 0). For bound 2: 0 with 0.4, +-1 with 0.2 each, +-2 with 0.1 each."""
    weights = {d: 2.0 ** -abs(d) for d in range(-bound, bound + 1)}
    total = sum(weights.values())
    return tuple((d, w / total) for d, w in weights.items())


@dataclass(frozen=True)
class Disclosure:
    minimum: int = 5
    rounding: int = 5
    noise: int = 2
    """The noise bound: published before rounding is the count plus d, |d| <= noise."""
    secret: bytes = b""
    """The server's disclosure key (settings: KETENLOG_DISCLOSURE_KEY_FILE); never published."""
    statistic_minimum: int = 10
    """A statistic (percentile, mean) is published over at least this many items."""

    def __call__(self, n: int, key: CellKey) -> int | None:
        """The publishable value of a count over the records whose key material is `key`, or
        None when it must be suppressed."""
        return self.publish(n, self.noise_of(n, key))

    def publish(self, n: int, d: int) -> int | None:
        """A count published with noise d: suppressed (None) when the perturbed count is below
        the minimum, else rounded. Zero is suppressed too: were it shown as 0, a suppressed
        figure would be known to be at least 1, and sums of such exact bounds pin small cells
        (a table of single persons per day is exactly what boundary walking builds)."""
        if n == 0:
            return 0 if self.exact else None
        sign = -1 if n < 0 else 1
        perturbed = abs(n) + d
        if perturbed < self.minimum:
            return None
        return sign * self.round(perturbed)

    @property
    def exact(self) -> bool:
        """No noise and no minimum (a test's or a trusted reader's setting): nothing non-zero
        can be suppressed, so a zero may show as 0."""
        return self.noise == 0 and self.minimum <= 1

    def round(self, n: int) -> int:
        step = self.rounding
        return ((n + step // 2) // step) * step

    def noise_of(self, n: int, key: CellKey) -> int:
        """The cell's noise: its cell key (uniform in [0, 1)) looked up in the table."""
        if self.noise == 0 or n == 0:
            return 0
        digest = hmac.new(self.secret, f"{n}:{key}".encode(), hashlib.sha256).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        for d, p in perturbation(self.noise):
            if u < p:
                return d
            u -= p
        return self.noise

    def possible(self, n: int) -> frozenset[int | None]:
        """Every value a count n can be published as, whatever its cell key: what an attacker
        who knows the method's parameters (not the secret) can reason with."""
        return frozenset(self.publish(n, d) for d in range(-self.noise, self.noise + 1))

    def statistic(self, value: Any, count: int, key: CellKey) -> int | None:
        """A percentile or mean of the `count` items of a cell: withheld when the cell's
        perturbed count is below `statistic_minimum` (it would describe a few persons; the
        perturbed count, so that a statistic shown is no exact bound on the count), else rounded
        to a whole unit (days, hours), half up."""
        if value is None or abs(count) + self.noise_of(count, key) < self.statistic_minimum:
            return None
        return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def left_of(self, total: int, done: int | None) -> int | None:
        """What is left of a public `total` (a housing task) after a count `done`, derived from
        the published `done` so that the two add up to the total and never exceed it (the
        count's own rounding would let the remainder exceed the total); None where `done` is
        suppressed, for the total less the remainder would give it away."""
        if done is None:
            return None
        return max(total - done, 0)
