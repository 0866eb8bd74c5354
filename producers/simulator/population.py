"""Who arrives: nationalities with their approval rates, households (single adults, families,
unaccompanied minors), persons with V-nummers, and the 342 municipalities with their weights.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from datetime import date

from producers.simulator.calendar import birthday_ts, date_of


@dataclass(frozen=True)
class Nationality:
    code: str
    """ISO 3166-1 alpha-3 (XXA: stateless, as ICAO 9303)."""
    share: float
    approval: float
    """Base approval rate before the calibration shift."""
    a_share: float
    """Share of A status (refugee) among grants."""
    safe_country: bool = False


# Shares: 2023 (domain reference §4) for the named seven; the rest are rounded estimates.
NATIONALITIES: tuple[Nationality, ...] = (
    Nationality("SYR", 0.340, 0.92, 0.30),
    Nationality("TUR", 0.075, 0.65, 0.90),
    Nationality("ERI", 0.060, 0.92, 0.95),
    Nationality("YEM", 0.050, 0.85, 0.50),
    Nationality("SOM", 0.047, 0.55, 0.40),
    Nationality("DZA", 0.040, 0.05, 0.60, safe_country=True),
    Nationality("IRQ", 0.039, 0.30, 0.60),
    Nationality("AFG", 0.035, 0.75, 0.60),
    Nationality("MAR", 0.025, 0.03, 0.60, safe_country=True),
    Nationality("IRN", 0.025, 0.55, 0.80),
    Nationality("SDN", 0.020, 0.70, 0.60),
    Nationality("COL", 0.015, 0.05, 0.60),
    Nationality("XXA", 0.015, 0.60, 0.60),
    Nationality("ETH", 0.012, 0.40, 0.60),
    Nationality("NGA", 0.010, 0.15, 0.60),
    Nationality("GIN", 0.010, 0.20, 0.60),
    Nationality("GEO", 0.010, 0.02, 0.60, safe_country=True),
    Nationality("TUN", 0.010, 0.03, 0.60, safe_country=True),
    Nationality("PAK", 0.010, 0.15, 0.60),
    Nationality("EGY", 0.010, 0.15, 0.60),
    Nationality("LBY", 0.008, 0.25, 0.60),
    Nationality("RUS", 0.008, 0.45, 0.70),
    Nationality("CMR", 0.008, 0.25, 0.60),
    Nationality("UGA", 0.008, 0.45, 0.80),
    Nationality("LBN", 0.008, 0.20, 0.60),
    Nationality("AZE", 0.006, 0.15, 0.60),
    Nationality("SLE", 0.006, 0.15, 0.60),
    Nationality("COD", 0.008, 0.35, 0.60),
    Nationality("BDI", 0.006, 0.40, 0.60),
    Nationality("VEN", 0.006, 0.10, 0.60),
    Nationality("ALB", 0.006, 0.02, 0.60, safe_country=True),
    Nationality("PSE", 0.010, 0.80, 0.50),
    Nationality("CIV", 0.008, 0.15, 0.60),
    Nationality("MLI", 0.006, 0.30, 0.60),
    Nationality("SEN", 0.004, 0.05, 0.60),
)

DUBLIN_STATES = ("DEU", "BEL", "FRA", "ITA", "AUT", "ESP", "GRC", "HRV", "BGR", "POL", "SWE")

# Large municipalities carry their real CBS codes and rounded populations (thousands); the
# other 322 are placeholders GM2001..GM2322 (no such CBS codes exist), with populations drawn
# once from a fixed generator so the table never depends on the run's seed.
_LARGE = (
    ("GM0363", 930),
    ("GM0599", 670),
    ("GM0518", 560),
    ("GM0344", 370),
    ("GM0772", 245),
    ("GM0014", 240),
    ("GM0855", 230),
    ("GM0034", 220),
    ("GM0758", 190),
    ("GM0268", 185),
    ("GM0200", 168),
    ("GM0202", 167),
    ("GM0392", 165),
    ("GM0153", 160),
    ("GM0307", 160),
    ("GM0479", 160),
    ("GM0796", 160),
    ("GM0193", 132),
    ("GM0546", 128),
    ("GM0935", 122),
)
MUNICIPALITY_COUNT = 342


@dataclass(frozen=True)
class Municipality:
    code: str
    population_k: float


def municipalities() -> tuple[Municipality, ...]:
    fixed = random.Random(20_260_101)
    out = [Municipality(code, float(pop)) for code, pop in _LARGE]
    for i in range(MUNICIPALITY_COUNT - len(_LARGE)):
        pop = min(115.0, max(6.0, fixed.lognormvariate(math.log(32.0), 0.6)))
        out.append(Municipality(f"GM{2001 + i:04d}", round(pop, 1)))
    return tuple(out)


class WeightedChoice:
    """Fast repeated weighted choice (cumulative weights + bisect)."""

    def __init__(self, items: list[str] | tuple[str, ...], weights: list[float]) -> None:
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> str:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


class Person:
    """One person as the agencies know them; `v_nummer` is the only direct identifier."""

    __slots__ = ("adult_ts", "amv", "birth_year", "doy", "idx", "nationality", "sex", "v_nummer")

    def __init__(  # noqa: PLR0917 - one per person, built by People.new only
        self,
        idx: int,
        v_nummer: str,
        nationality: str,
        birth_year: int,
        sex: str,
        doy: int,
        amv: bool,
    ) -> None:
        self.idx = idx
        self.v_nummer = v_nummer
        self.nationality = nationality
        self.birth_year = birth_year
        self.sex = sex
        self.amv = amv
        self.doy = min(doy, 364)
        """The birthday: this many days after 1 January of every year (the date of birth is
        that day of `birth_year`); the same convention as `adult_ts`."""
        self.adult_ts = birthday_ts(birth_year, doy, 18)

    def minor_at(self, ts: int) -> bool:
        return ts < self.adult_ts

    def age_on(self, ts: int) -> int:
        """Whole years on the (UTC) day of `ts`: the age the Pact's events carry. A child
        drawn with this year as birth year and a birthday still to come is taken as 0."""
        day = date_of(ts)
        before_birthday = (day - date(day.year, 1, 1)).days < self.doy
        return max(0, day.year - self.birth_year - before_birthday)


class People:
    """Allocates persons with unique, seed-determined ten-digit V-nummers."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._issued: set[str] = set()
        self.all: list[Person] = []

    def _v_nummer(self) -> str:
        while True:
            v = str(self._rng.randrange(1_000_000_000, 10_000_000_000))
            if v not in self._issued:
                self._issued.add(v)
                return v

    def new(
        self, nationality: str, birth_year: int, sex: str, amv: bool = False, doy: int | None = None
    ) -> Person:
        p = Person(
            len(self.all),
            self._v_nummer(),
            nationality,
            birth_year,
            sex,
            self._rng.randrange(365) if doy is None else doy,
            amv,
        )
        self.all.append(p)
        return p


def adult_birth_year(rng: random.Random, year: int) -> int:
    # Most applicants are under 35 (§4): 18 + an exponential tail.
    return year - min(70, 18 + int(rng.expovariate(1 / 11.0)))


def child_birth_year(rng: random.Random, year: int) -> int:
    return year - rng.randrange(0, 18)


def amv_birth_year(rng: random.Random, year: int) -> int:
    age = rng.choices((12, 13, 14, 15, 16, 17), (0.05, 0.07, 0.12, 0.2, 0.27, 0.29))[0]
    return year - age


# Share of unaccompanied minors who are 17 and turn 18 later in the year they apply: the
# calendar year minus the birth year says 18, the age on the day says 17 (issue 12).
AMV_TURNING_18_SHARE = 0.10


def household(
    rng: random.Random,
    people: People,
    nationality: str,
    year: int,
    birthday_after: int | None = None,
) -> tuple[str, list[Person]]:
    """A unit that arrives together: ('AMV'|'SINGLE'|'FAMILY', members, principal first).

    Unit shares are solved so that ~13 % of applicants are unaccompanied minors and ~15 %
    accompanied minors (25-30 % minors in all, §4). `birthday_after` (a day of the year after
    the unit's application): some minors are then 17 with their 18th birthday after it."""
    u = rng.random()
    if u < 0.161:
        sex = "M" if rng.random() < 0.9 else "F"
        if birthday_after is not None and rng.random() < AMV_TURNING_18_SHARE:
            doy = rng.randrange(birthday_after, 365)
            return "AMV", [people.new(nationality, year - 18, sex, amv=True, doy=doy)]
        return "AMV", [people.new(nationality, amv_birth_year(rng, year), sex, amv=True)]
    if u < 0.161 + 0.755:
        sex = "M" if rng.random() < 0.82 else "F"
        return "SINGLE", [people.new(nationality, adult_birth_year(rng, year), sex)]
    members = []
    if rng.random() < 0.6:
        members.append(people.new(nationality, adult_birth_year(rng, year), "M"))
        members.append(people.new(nationality, adult_birth_year(rng, year), "F"))
    else:
        members.append(
            people.new(nationality, adult_birth_year(rng, year), "F" if rng.random() < 0.8 else "M")
        )
    for _ in range(rng.choices((1, 2, 3, 4), (0.3, 0.35, 0.22, 0.13))[0]):
        members.append(
            people.new(nationality, child_birth_year(rng, year), "M" if rng.random() < 0.5 else "F")
        )
    return "FAMILY", members


def approval_shift(probabilities: list[float], target: float) -> float:
    """The logit shift s such that the mean of sigmoid(logit(p) + s) equals target."""
    logits = [math.log(p / (1 - p)) for p in probabilities]
    low, high = -8.0, 8.0
    for _ in range(60):
        mid = (low + high) / 2
        mean = sum(1 / (1 + math.exp(-(x + mid))) for x in logits) / max(1, len(logits))
        if mean < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def shifted(p: float, shift: float) -> float:
    return 1 / (1 + math.exp(-(math.log(p / (1 - p)) + shift)))
