"""Fixtures of the unit tests: one small simulation, simulated and folded once per session for
every test that compares derived figures with the simulator's ground truth (read-only)."""

from __future__ import annotations

import pytest

from producers.simulator import SimParams, simulate
from tests.unit.simulated import CHAIN_KEY, Folded, fold_simulation


@pytest.fixture(scope="session")
def small_run() -> Folded:
    sim = simulate(SimParams(seed=5, scale=0.008), chain_key=CHAIN_KEY)
    persons, subjects = fold_simulation(sim)
    return Folded(sim, persons, subjects)
