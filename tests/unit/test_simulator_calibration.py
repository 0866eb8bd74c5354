"""The national year (scale 1) against the published targets, counted from the yielded
Submissions where feasible; the rest (occupancy, lead time, backlog) from the report."""

from __future__ import annotations

from collections import Counter

import pytest

from producers.identity import event_id
from producers.simulator import SimParams, simulate
from producers.simulator.calibration import measure, period_years, report

pytestmark = pytest.mark.calibration


# A national year simulated and recounted: minutes on a 2-core machine, more under load.
@pytest.mark.timeout(1800)
def test_national_year_meets_every_target() -> None:
    params = SimParams(seed=2026, scale=1.0)
    sim = simulate(params)
    checks = measure(sim.effective, params, sim.truth)
    assert all(c.ok for c in checks), report(checks)

    seen: set[str] = set()
    gone: set[str] = set()
    kept = []
    for org, sub in sim.submissions():
        key = event_id(org.value, sub.ref)
        if key in seen:
            continue
        seen.add(key)
        gone.update(x for x in (sub.corrects, sub.retracts) if x)
        kept.append((key, sub))
    counts: Counter[str] = Counter()
    first_cases: set[str] = set()
    dublin_cases: set[str] = set()
    for key, sub in kept:
        if key in gone or sub.type == "EventRetracted":
            continue
        if sub.type == "TrackAssigned" and sub.data["track"] == "DUBLIN":
            dublin_cases.add(sub.case_id or "")
        if not params.start <= sub.occurred_at.date() <= params.end:
            continue
        if sub.type == "AsylumApplicationLodged":
            counts[sub.data["application_type"]] += 1
            if sub.data["application_type"] == "FIRST":
                first_cases.add(sub.case_id or "")
                counts["AMV"] += sub.data["unaccompanied_minor"]
        elif sub.type == "ArrivalReported" and sub.data["applicant_group"] == "MVV_HOLDER":
            counts["ARRIVED_NAREIS"] += 1
        elif sub.type == "DecisionIssued" and sub.data["outcome"] != "INADMISSIBLE":
            counts["DECIDED"] += 1
            counts["GRANTED"] += sub.data["outcome"] == "GRANTED"
        elif sub.type in ("DepartedIndependently", "DepartedWithoutSupervision"):
            counts[sub.type] += 1
        elif sub.type == "ForcedReturnExecuted":
            counts["DUBLIN" if sub.data["destination"] == "DUBLIN" else "FORCED"] += 1
    t = params.targets
    years = period_years(params)
    assert abs(counts["FIRST"] / (t.first_applications * years) - 1) <= 0.05
    assert abs(counts["ARRIVED_NAREIS"] / (t.nareis_arrivals * years) - 1) <= 0.10
    assert abs(counts["REPEAT"] / (t.repeat_applications * years) - 1) <= 0.20
    assert abs(counts["AMV"] / counts["FIRST"] - t.unaccompanied_share) <= 0.02
    assert abs(len(first_cases & dublin_cases) / len(first_cases) - t.dublin_share) <= 0.02
    # All non-Dublin decisions, repeat and re-decisions included: a looser band.
    assert abs(counts["GRANTED"] / counts["DECIDED"] - t.approval_rate) <= 0.06
    mix = t.departure_mix()
    total = sum(
        counts[k]
        for k in ("DepartedIndependently", "FORCED", "DUBLIN", "DepartedWithoutSupervision")
    )
    assert abs(counts["DepartedIndependently"] / total - mix["INDEPENDENT"]) <= 0.05
    assert abs(counts["FORCED"] / total - mix["FORCED"]) <= 0.05
    assert abs(counts["DUBLIN"] / total - mix["DUBLIN_TRANSFER"]) <= 0.05
    assert abs(counts["DepartedWithoutSupervision"] / total - mix["UNSUPERVISED"]) <= 0.05
