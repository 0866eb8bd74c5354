"""The simulator's ground truth against folded persons, figure by figure: what the demo prints
and the end-to-end checks rely on. Pure: persons come in chunks (a national year does not fit
in memory at once) and the figures are summed over the chunks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from domain.lifecycle import counts as c
from domain.lifecycle.person import PersonState

FIGURES = (
    "lifecycle",
    "inflow",
    "decisions",
    "departures",
    "anomalies",
    "coa_occupancy",
    "goo_occupancy",
)


def first_of_next_month(month: str) -> datetime:
    year, mon = map(int, month.split("-"))
    return datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC)


def month_ends(days: Iterable[str]) -> list[str]:
    """The last day of each month among `days` (ISO dates)."""
    last: dict[str, str] = {}
    for day in sorted(days):
        last[day[:7]] = day
    return sorted(last.values())


def _flat(value: Any, prefix: str = "") -> dict[str, int]:
    if isinstance(value, Mapping):
        out: dict[str, int] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}/"))
        return out
    return {prefix.rstrip("/"): int(value)}


@dataclass
class Tally:
    """Figures summed over chunks of persons: (figure, period) -> flattened counts."""

    truth: Mapping[str, Any]
    coa_days: list[str] = field(default_factory=list)
    sums: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.coa_days:
            self.coa_days = month_ends(self.truth.get("coa_occupancy", {}))

    def add(self, persons: list[PersonState]) -> None:
        truth = self.truth
        for month in truth.get("lifecycle", {}):
            self._add("lifecycle", month, c.case_state_counts(persons, first_of_next_month(month)))
        for month in truth.get("inflow", {}):
            self._add("inflow", month, c.inflow(persons, month))
        for month in truth.get("decisions", {}):
            self._add("decisions", month, c.decisions(persons, month))
        for month in truth.get("departures", {}):
            self._add("departures", month, c.departures(persons, month))
        for month, kinds in truth.get("anomalies", {}).items():
            self._add("anomalies", month, c.anomalies(persons, month, kinds))
        for day in self.coa_days:
            self._add("coa_occupancy", day, c.coa_occupancy(persons, date.fromisoformat(day)))
            self._add("goo_occupancy", day, {"": c.goo_occupancy(persons, date.fromisoformat(day))})

    def _add(self, figure: str, period: str, value: Any) -> None:
        self.sums.setdefault((figure, period), Counter()).update(_flat(value))

    def got(self, figure: str, period: str) -> dict[str, int]:
        return {k: v for k, v in self.sums.get((figure, period), Counter()).items() if v}

    def expected(self, figure: str, period: str) -> dict[str, int]:
        value = self.truth[figure][period]
        if figure == "goo_occupancy":
            value = {"": value}
        return {k: v for k, v in _flat(value).items() if v}

    def periods(self, figure: str) -> list[str]:
        if figure in ("coa_occupancy", "goo_occupancy"):
            return [d for d in self.coa_days if d in self.truth.get(figure, {})]
        return sorted(self.truth.get(figure, {}))

    def differences(self) -> list[str]:
        """Every figure and period where the folded persons disagree with the truth."""
        out = []
        for figure in FIGURES:
            for period in self.periods(figure):
                got, want = self.got(figure, period), self.expected(figure, period)
                if got != want:
                    keys = sorted(set(got) | set(want))
                    diff = ", ".join(
                        f"{k or 'total'} {got.get(k, 0)} (truth {want.get(k, 0)})"
                        for k in keys
                        if got.get(k, 0) != want.get(k, 0)
                    )
                    out.append(f"{figure} {period}: {diff}")
        return out
