"""The calibration report: each published target next to what the simulation produced, with
its tolerance. Counts the effective facts of the period; the unit test recounts from the
yielded Submissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from producers.simulator import calendar as cal
from producers.simulator.calendar import WEEK
from producers.simulator.facts import Fact
from producers.simulator.params import SimParams

FIRST_INSTANCE = ("GRANTED", "REJECTED", "MANIFESTLY_UNFOUNDED")
# The lead time runs to the first decision on the application: from 12 June 2026 a Dublin
# case's is the transfer decision (AMMR art. 42), which replaced the inadmissibility decision.
FIRST_DECISIONS = ("DecisionIssued", "TransferDecisionIssued")


@dataclass(frozen=True)
class Check:
    name: str
    target: float
    value: float
    tolerance: float
    relative: bool
    """Tolerance as a fraction of the target (else absolute, in the target's unit)."""

    @property
    def ok(self) -> bool:
        allowed = self.tolerance * self.target if self.relative else self.tolerance
        return abs(self.value - self.target) <= allowed

    def line(self) -> str:
        tol = f"±{self.tolerance:.0%}" if self.relative else f"±{self.tolerance:g}"
        return (
            f"{self.name:<34} {self.target:>12,.3f} {self.value:>12,.3f} {tol:>8}  "
            f"{'PASS' if self.ok else 'FAIL'}"
        )


def period_years(params: SimParams) -> float:
    return ((params.end - params.start).days + 1) / 365.25


def measure(effective: list[Fact], params: SimParams, truth: dict[str, Any]) -> list[Check]:
    s = cal.ts_of(params.start)
    e = cal.ts_of(params.end + timedelta(days=1))
    years = period_years(params)
    t = params.targets
    first_cases: dict[str, int] = {}
    lodged_at: dict[str, int] = {}
    first = repeat = nareis = amv = 0
    departures = dict.fromkeys(("INDEPENDENT", "FORCED", "DUBLIN_TRANSFER", "UNSUPERVISED"), 0)
    decisions: list[Fact] = []
    dublin_cases: set[str] = set()
    decided_before: set[str] = set()
    for f in effective:
        typ = f.type
        if typ == "AsylumApplicationLodged":
            kind = f.data["application_type"]
            if f.case_id is not None and kind != "NAREIS":
                lodged_at[f.case_id] = f.occ
            if kind == "FIRST" and f.case_id is not None:
                first_cases[f.case_id] = f.occ
            if s <= f.occ < e:
                if kind == "FIRST":
                    first += 1
                    amv += f.data["unaccompanied_minor"]
                elif kind == "REPEAT":
                    repeat += 1
        elif typ == "ArrivalReported" and f.data["applicant_group"] == "MVV_HOLDER":
            nareis += s <= f.occ < e
        elif typ in FIRST_DECISIONS and f.case_id is not None:
            if f.occ < s:
                decided_before.add(f.case_id)
            elif f.occ < e:
                decisions.append(f)
        elif typ == "TrackAssigned" and f.data["track"] == "DUBLIN" and f.case_id is not None:
            dublin_cases.add(f.case_id)
        elif s <= f.occ < e:
            if typ == "DepartedIndependently":
                departures["INDEPENDENT"] += 1
            elif typ == "ForcedReturnExecuted":
                kind = "DUBLIN_TRANSFER" if f.data["destination"] == "DUBLIN" else "FORCED"
                departures[kind] += 1
            elif typ == "DepartedWithoutSupervision":
                departures["UNSUPERVISED"] += 1
    granted = counted = 0
    waits: list[float] = []
    seen: set[str] = set()
    for f in sorted(decisions, key=lambda x: x.occ):
        case = f.case_id or ""
        if case not in first_cases:
            continue
        if f.type == "DecisionIssued" and f.data["outcome"] in FIRST_INSTANCE:
            counted += 1
            granted += f.data["outcome"] == "GRANTED"
        if case not in seen and case not in decided_before:
            seen.add(case)
            waits.append((f.occ - first_cases[case]) / WEEK)
    dublin = sum(1 for c, ts in first_cases.items() if s <= ts < e and c in dublin_cases)
    pending = sum(1 for c, ts in lodged_at.items() if ts < s and c not in decided_before)
    occupancy = [row["total"] for row in truth["coa_occupancy"].values()]
    mix = t.departure_mix()
    total_departures = max(1, sum(departures.values()))
    checks = [
        Check("first applications", t.first_applications * params.scale * years, first, 0.05, True),
        Check("nareis arrivals", t.nareis_arrivals * params.scale * years, nareis, 0.10, True),
        Check(
            "repeat applications", t.repeat_applications * params.scale * years, repeat, 0.20, True
        ),
        Check(
            "approval rate (first applications)",
            t.approval_rate,
            granted / max(1, counted),
            0.04,
            False,
        ),
        Check(
            "Dublin share of first applications",
            t.dublin_share,
            dublin / max(1, first),
            0.02,
            False,
        ),
        Check("unaccompanied share", t.unaccompanied_share, amv / max(1, first), 0.02, False),
        Check(
            "decision lead time (weeks)",
            t.decision_weeks,
            sum(waits) / max(1, len(waits)),
            0.25,
            True,
        ),
        Check(
            "pending cases at period start", t.initial_backlog * params.scale, pending, 0.10, True
        ),
        Check(
            "COA occupancy (mean of days)",
            t.coa_occupancy * params.scale,
            sum(occupancy) / max(1, len(occupancy)),
            0.15,
            True,
        ),
    ]
    for kind, share in mix.items():
        checks.append(
            Check(
                f"departure mix: {kind.lower()}",
                share,
                departures[kind] / total_departures,
                0.05,
                False,
            )
        )
    return checks


def report(checks: list[Check]) -> str:
    head = f"{'target':<34} {'published':>12} {'simulated':>12} {'tol':>8}  result"
    lines = [head, "-" * len(head)] + [c.line() for c in checks]
    failed = sum(not c.ok for c in checks)
    lines.append(f"{len(checks) - failed} of {len(checks)} within tolerance")
    return "\n".join(lines)
