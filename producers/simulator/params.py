"""Parameters of the chain simulator: one frozen object, read by every model module.

The defaults are the 2024 profile of the domain reference (§4), scaled by `scale`
(1.0 = one national year).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

FIRST_PER_YEAR_2024 = 32_180


@dataclass(frozen=True)
class Noise:
    """What real feeds do; every share is a fraction of the events (or records) concerned."""

    late_share: float = 0.04
    """Events recorded days to weeks after they happened."""
    late_days: tuple[float, float] = (2.0, 30.0)
    duplicate_share: float = 0.01
    """Events sent twice (same ref, so the same event id)."""
    correction_share: float = 0.004
    """Events first sent with a wrong value, then corrected by a new event (`corrects`)."""
    retraction_share: float = 0.002
    """Erroneous extra events, withdrawn later by an EventRetracted (`retracts`)."""
    malformed_share: float = 0.0
    """Raw records per topic the timeline processor must dead-letter (only with --malformed)."""


@dataclass(frozen=True)
class Targets:
    """Published figures the simulation is calibrated to, per national year (scale 1)."""

    first_applications: int = FIRST_PER_YEAR_2024
    nareis_arrivals: int = 11_000
    repeat_applications: int = 1_550
    approval_rate: float = 0.56
    """GRANTED / (GRANTED + REJECTED + MANIFESTLY_UNFOUNDED), decisions on first applications."""
    dublin_share: float = 0.10
    unaccompanied_share: float = 0.13
    coa_occupancy: int = 72_000
    decision_weeks: float = 53.0
    initial_backlog: int = 50_000
    """Pending asylum cases at the period start (the warm-up is tuned to reach it)."""
    departures: tuple[tuple[str, int], ...] = (
        ("INDEPENDENT", 3_240),
        ("FORCED", 1_010),
        ("DUBLIN_TRANSFER", 1_740),
        ("UNSUPERVISED", 5_740),
    )
    """DT&V 2024: forced 2,750 of which 1,740 Dublin transfers; disjoint types here."""

    def departure_mix(self) -> dict[str, float]:
        total = sum(n for _, n in self.departures)
        return {kind: n / total for kind, n in self.departures}


@dataclass(frozen=True)
class SimParams:
    """Everything a run depends on; two runs with equal parameters yield identical output."""

    seed: int = 1
    start: date = date(2025, 9, 1)
    end: date = date(2026, 8, 31)
    """Last day of the period (inclusive)."""
    scale: float = 1.0
    warmup_months: int = 24
    warmup_inflow_factor: float = 1.25
    """Inflow before the period relative to the period's rate (2023-2025 ran higher)."""
    ind_capacity_per_week: float = 560.0
    """IND first-instance decisions (persons) per week in the period, at scale 1."""
    decision_order_spread_weeks: float = 115.0
    """IND does not decide first-in first-out: a case's priority is its ready date plus a
    uniform draw of up to this many weeks (so some old cases stay stuck). 115 (was 100) keeps
    the mean lead time within its tolerance with the Pact's flows (docs/simulator.md)."""
    pact_date: date = date(2026, 6, 12)
    emergency_share: float = 0.45
    """Share of long-stay placements in emergency shelter (noodopvang)."""
    housing_wait_median_weeks: float = 30.0
    ukrainian_scale: float = 0.05
    """GOO: Ukrainians in municipal shelter are simulated at this fraction of ~93,000."""
    housing_task_per_half_year: int = 14_000
    legal_aid_missing_share: float = 0.02
    """Asylum households without a lawyer at the decision (RVR). No published figure: RVR
    assigns every applicant in the general procedure a lawyer; this is an assumption that gives
    the anomaly DECISION_WITHOUT_LEGAL_AID a ground truth."""
    targets: Targets = field(default_factory=Targets)
    noise: Noise = field(default_factory=Noise)

    def with_persons(self, first_applicants: int) -> SimParams:
        """Scale so that about `first_applicants` first applications fall in a year."""
        return replace(self, scale=first_applicants / self.targets.first_applications)

    def scaled(self, annual: float) -> float:
        return annual * self.scale
