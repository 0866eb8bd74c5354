"""A simulation folded the way the processors fold it (encode, decode, Fact.from_record, fold
per person), for tests that compare with the simulator's ground truth without Kafka."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.facts import Fact
from domain.lifecycle import PersonState, fold
from producers.prepare import Preparer
from producers.simulator import Simulation
from schemas.codec import default_codec

CHAIN_KEY = b"lifecycle-test-chain-key-0123456789abcdef"
SUBJECT_KEYS = ("location:", "housing-task:")


def facts_by_subject(sim: Simulation) -> dict[str, list[Fact]]:
    """Every simulated fact as the processors decode it, by person key (or subject key)."""
    # The simulated period may lie in the future: give the preparer a clock beyond it.
    prep = Preparer(CHAIN_KEY, "00000001", clock=lambda: datetime(2100, 1, 1, tzinfo=UTC))
    codec = default_codec()
    by_person: dict[str, list[Fact]] = defaultdict(list)
    for offset, (org, sub) in enumerate(sim.submissions()):
        record = codec.decode(prep.prepare(org, sub).value).record
        fact = Fact.from_record(record, "keten.timeline", 0, offset)
        by_person[fact.person_key].append(fact)
    return by_person


def fold_simulation(sim: Simulation) -> tuple[list[PersonState], list[Fact]]:
    """Every person's folded state, and the facts of the non-person subjects."""
    by_person = facts_by_subject(sim)
    persons = [fold(fs) for key, fs in by_person.items() if not key.startswith(SUBJECT_KEYS)]
    subjects = [f for key, fs in by_person.items() if key.startswith(SUBJECT_KEYS) for f in fs]
    return persons, subjects


@dataclass(frozen=True)
class Folded:
    sim: Simulation
    persons: list[PersonState]
    subjects: list[Fact]
    """The facts of the non-person subjects (locations, housing tasks)."""
