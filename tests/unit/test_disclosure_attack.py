"""The differencing attack of issue 14, as a test (the attacker: tests/unit/differencing.py):
on generated applications over three weeks by nationality, age band and sex, an attacker who
may ask every split and every day-aligned van..tot range (so every period granularity and every
nested or shifted range) and knows the method's public parameters (minimum, rounding, noise
bound; not the secret) combines the published figures by interval reasoning. A cell counts as
recovered only when its interval is a single value, which must be the true one. The
deterministic rule of before gives many cells away; the cell key method none."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from itertools import product

from projections.disclosure import Disclosure
from tests.unit.differencing import Rounding, Rule, attack, cells, recovered

DAYS = 21
DIMENSIONS = (("SY", "ER", "TR", "MA"), ("0-17", "18-34", "35+"), ("F", "M"))
# Expected applications per day of each nationality: two large groups, two small ones.
RATES = {"SY": 2.0, "ER": 1.0, "TR": 0.4, "MA": 0.15}


@dataclass(frozen=True)
class Item:
    event_id: str
    day: int
    values: tuple[str, ...]


def items(seed: int) -> list[Item]:
    rng = random.Random(seed)
    out: list[Item] = []
    for day in range(DAYS):
        for nationality, age, sex in product(*DIMENSIONS):
            expected = RATES[nationality] / (len(DIMENSIONS[1]) * len(DIMENSIONS[2]))
            for _ in range(sum(rng.random() < expected / 4 for _ in range(4))):
                out.append(Item(f"{seed}-{len(out)}", day, (nationality, age, sex)))
    return out


def record_key(event_id: str) -> int:
    """A pseudo-random 32-bit key per record, as views.sql's record_key (which hashes with
    PostgreSQL's hashtextextended; any such hash serves)."""
    return int(hashlib.md5(event_id.encode()).hexdigest()[:8], 16)


def attacked(rule: Rule, seed: int) -> tuple[int, int]:
    data = items(seed)
    truth, published = {}, {}
    for cell in cells(DAYS, DIMENSIONS):
        first, last, values = cell
        members = [
            i
            for i in data
            if first <= i.day <= last
            and all(v is None or v == iv for v, iv in zip(values, i.values, strict=True))
        ]
        truth[cell] = len(members)
        published[cell] = rule(len(members), sum(record_key(i.event_id) for i in members))
    return recovered(attack(published, rule, DAYS, DIMENSIONS, most=len(data)), truth)


def test_the_attack_recovers_many_cells_under_deterministic_rounding() -> None:
    found, of = attacked(Rounding(), seed=1)
    assert of > 1000
    assert found > of // 2, (found, of)


def test_the_attack_recovers_no_cell_under_the_cell_key_method() -> None:
    for seed in (1, 2):
        rule = Disclosure(minimum=5, rounding=5, noise=2, secret=b"test key %d" % seed)
        found, of = attacked(rule, seed)
        assert of > 1000
        assert found == 0, (found, of)
