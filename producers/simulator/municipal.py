"""Municipalities and the ministry: the half-yearly housing task per municipality
(HousingTaskPublished), the choice of municipality when COA links a status holder, and the
municipal shelter of displaced Ukrainians (GOO), scaled down by `ukrainian_scale`.
"""

from __future__ import annotations

import random
from datetime import timedelta

from producers.simulator import calendar as cal
from producers.simulator.calendar import DAY
from producers.simulator.facts import Recorder
from producers.simulator.params import SimParams
from producers.simulator.population import (
    Municipality,
    People,
    WeightedChoice,
    adult_birth_year,
    child_birth_year,
)

UKRAINIANS_IN_GOO = 93_000


def apportion(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder apportionment: integers proportional to weights, summing to total."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


class Municipal:
    def __init__(
        self,
        params: SimParams,
        rng: random.Random,
        out: Recorder,
        munis: tuple[Municipality, ...],
        history_start: int,
    ) -> None:
        self.p = params
        self.rng = rng
        self.out = out
        self.munis = munis
        self.history_start = history_start
        self.choice = WeightedChoice([m.code for m in munis], [m.population_k for m in munis])
        self.tasks: dict[tuple[str, str], int] = {}

    def link_municipality(self, rng: random.Random, ts: int) -> str:
        return self.choice.pick(rng)

    def housing_tasks(self) -> None:
        """One HousingTaskPublished per municipality and half-year, published ~10 weeks before
        the half-year starts (the first one at the warm-up start)."""
        total = round(self.p.scaled(self.p.housing_task_per_half_year))
        weights = [m.population_k for m in self.munis]
        start = cal.date_of(self.history_start)
        for period, first_day in cal.task_periods(
            start, cal.date_of(self.out.horizon - 1) + timedelta(days=1)
        ):
            published = max(self.history_start, cal.ts_of(first_day - timedelta(days=70)))
            for muni, task in zip(self.munis, apportion(total, weights), strict=True):
                self.tasks[(muni.code, period)] = task
                self.out.subject(
                    "MINISTERIE",
                    "HousingTaskPublished",
                    published + 9 * 3600,
                    f"housing-task:{muni.code}:{period}",
                    {"municipality_code": muni.code, "task_period": period, "task": task},
                )

    def ukrainians(self, people: People) -> None:
        """Displaced Ukrainians in municipal shelter: a stock placed since 2022, leaving at
        ~15 % a year (left NL, private housing, moved) and replaced by newcomers."""
        rng = self.rng
        stock = round(UKRAINIANS_IN_GOO * self.p.ukrainian_scale * self.p.scale)
        early = cal.ts_of(cal.date_of(self.history_start).replace(month=3, day=1)) - 2 * 365 * DAY
        horizon = self.out.horizon
        arrivals = [early + rng.randrange(max(1, self.history_start - early)) for _ in range(stock)]
        inflow_per_day = stock * 0.15 / 365.0
        t = self.history_start
        while inflow_per_day > 0:
            t += int(rng.expovariate(inflow_per_day) * DAY) + 1
            if t >= horizon:
                break
            arrivals.append(t)
        for arrived in arrivals:
            year = cal.date_of(arrived).year
            adult = rng.random() < 0.7
            person = people.new(
                "UKR",
                adult_birth_year(rng, year) if adult else child_birth_year(rng, year),
                "F" if rng.random() < (0.65 if adult else 0.5) else "M",
            )
            t = arrived
            muni = self.choice.pick(rng)
            while t < horizon:
                self.out.person(
                    "GEMEENTE",
                    "ShelterPlacementStarted",
                    t,
                    person,
                    None,
                    {"municipality_code": muni},
                )
                t += int(rng.expovariate(0.15 / 365.0) * DAY) + DAY
                reason = rng.choices(
                    ("LEFT_NL", "PRIVATE_HOUSING", "MOVED", "OTHER"), (0.4, 0.35, 0.2, 0.05)
                )[0]
                self.out.person(
                    "GEMEENTE",
                    "ShelterPlacementEnded",
                    t,
                    person,
                    None,
                    {"municipality_code": muni, "reason": reason},
                )
                if reason != "MOVED":
                    break
                muni = self.choice.pick(rng)
                t += DAY
