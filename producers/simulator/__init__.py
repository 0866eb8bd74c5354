"""The chain simulator: a synthetic but realistic migration chain for demos, tests and
benchmarks, with its own ground truth (see docs/simulator.md).

    sim = simulate(SimParams(seed=7, scale=0.1))
    for org, submission in sim.submissions(): ...
    sim.truth  # the figures processors and projections must reproduce
"""

from producers.simulator.generator import Simulation, simulate
from producers.simulator.params import Noise, SimParams, Targets

__all__ = ["Noise", "SimParams", "Simulation", "Targets", "simulate"]
