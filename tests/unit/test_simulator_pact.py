"""The simulator's Pact flows (from 12 June 2026) and their ground truth: who publishes what,
ages on the day, and figures that agree with the facts they come from. A run that reaches
past the border procedure's maximum (12 weeks from 12 June end in September) is needed for
the clock, so the period here ends in 2027."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest

from producers.simulator import SimParams, Simulation, simulate
from producers.simulator import calendar as cal
from producers.simulator.facts import Fact
from producers.simulator.pact_truth import BorderClock, PactFigures
from producers.simulator.truth import AGE_BANDS, age_band

PACT = cal.ts_of(date(2026, 6, 12))


@pytest.fixture(scope="module")
def sim() -> Simulation:
    params = SimParams(
        seed=4, scale=0.12, start=date(2026, 1, 1), end=date(2027, 3, 31), warmup_months=3
    )
    return simulate(params)


def after_pact(sim: Simulation, type_: str) -> list[Fact]:
    return [f for f in sim.effective if f.type == type_ and f.occ >= PACT]


def total(months: dict[str, dict[str, int]], key: str) -> int:
    return sum(cell.get(key, 0) for cell in months.values())


def test_kmar_publishes_the_border_facts_at_schiphol_avim_inland(sim: Simulation) -> None:
    arrivals = after_pact(sim, "ArrivalReported")
    by_org = Counter((f.org, f.data["reporting_location"]) for f in arrivals)
    assert by_org[("KMAR", "SCHIPHOL")] > 0 and by_org[("AVIM", "TER_APEL")] > 0
    assert all(
        f.org == ("KMAR" if f.data["reporting_location"] == "SCHIPHOL" else "AVIM")
        for f in arrivals
    )
    schiphol_cases = {f.case_id for f in arrivals if f.org == "KMAR"}
    for type_ in ("BiometricsCaptured", "IdentityRegistered", "ScreeningStarted"):
        facts = [f for f in after_pact(sim, type_) if f.case_id in schiphol_cases]
        assert facts and {f.org for f in facts} == {"KMAR"}, type_
    inland = [f for f in after_pact(sim, "ScreeningStarted") if f.case_id not in schiphol_cases]
    assert inland and {f.org for f in inland} == {"AVIM"}
    assert {f.data["screening_location"] for f in inland} == {"TER_APEL"}


def test_every_border_detention_ends_and_non_entry_is_recorded(sim: Simulation) -> None:
    # A border case takes at most 12 weeks (18 when extended), its return border procedure
    # 12 more: a detention imposed seven months before the period's end has ended in it.
    settled = cal.ts_of(date(2026, 8, 31))
    imposed = Counter(
        f.subject for f in sim.effective if f.type == "BorderDetentionImposed" and f.occ < settled
    )
    ended = Counter(f.subject for f in sim.effective if f.type == "BorderDetentionEnded")
    assert imposed
    assert all(ended[subject] == n for subject, n in imposed.items())
    bases = Counter(f.data["basis"] for f in after_pact(sim, "EntryNotAuthorised"))
    assert set(bases) == {"SCREENING", "ASYLUM_BORDER_PROCEDURE", "RETURN_BORDER_PROCEDURE"}
    grounds = Counter(f.data["ground"] for f in after_pact(sim, "EntryAuthorised"))
    assert grounds["REFERRED_TO_REGULAR_PROCEDURE"] and grounds["PROTECTION_GRANTED"]
    assert grounds["BORDER_PROCEDURE_MAXIMUM_REACHED"]


def test_the_border_clock_and_its_anomaly(sim: Simulation) -> None:
    truth = sim.truth
    border = truth["pact_border_procedures"]
    started = total(border, "started")
    ended: Counter[str] = Counter()
    for cell in border.values():
        ended.update(cell.get("ended", {}))
    assert started > 0 and sum(ended.values()) <= started
    assert ended["MAXIMUM_REACHED"] > 0
    assert any(k.startswith("DECIDED:") for k in ended)
    exceeded = total(truth["anomalies"], "BORDER_PROCEDURE_EXCEEDED")
    # Every border procedure that reached its maximum is an anomaly at that instant (the
    # EntryAuthorised at the maximum, or the clock passing before a late event).
    assert exceeded == ended["MAXIMUM_REACHED"]
    assert after_pact(sim, "BorderProcedureExtended")


def test_border_returns_come_from_the_return_border_procedure(sim: Simulation) -> None:
    returns: Counter[str] = Counter()
    for cell in sim.truth["pact_border_returns"].values():
        returns.update(cell)
    started = after_pact(sim, "ReturnBorderProcedureStarted")
    assert started and {f.org for f in started} == {"DTV"}
    assert returns["FORCED"] > 0 and sum(returns.values()) <= len(started)
    outcomes = Counter(f.data["outcome"] for f in after_pact(sim, "ReturnBorderProcedureEnded"))
    assert outcomes["DEPARTED"] > 0 and outcomes["MAXIMUM_REACHED"] > 0


def test_ammr_replaces_the_pre_pact_claims_for_cases_after_12_june(sim: Simulation) -> None:
    lodged = {
        f.case_id: f.occ
        for f in sim.effective
        if f.type == "AsylumApplicationLodged" and f.case_id is not None
    }
    dublin = {
        f.case_id
        for f in sim.effective
        if f.type == "TrackAssigned" and f.data["track"] == "DUBLIN"
    }
    after = {case for case, ts in lodged.items() if ts >= PACT and case in dublin}
    assert after
    for f in sim.effective:
        if f.case_id in after:
            assert not (f.type == "DublinClaimSent" and f.data["claim_kind"] == "TAKE_BACK")
            assert not (f.type == "DecisionIssued" and f.data["outcome"] == "INADMISSIBLE"), f
    for type_ in (
        "TakeBackNotificationSent",
        "TakeBackNotificationConfirmed",
        "TransferDecisionIssued",
        "TransferTimeLimitExtended",
        "IncomingRequestReceived",
        "IncomingRequestAnswered",
        "IncomingTransferReceived",
    ):
        assert after_pact(sim, type_), type_
    grounds = Counter(f.data["ground"] for f in after_pact(sim, "ResponsibilityShifted"))
    assert grounds["REQUEST_REFUSED"] > 0 and grounds["TRANSFER_TIME_LIMIT_EXPIRED"] > 0
    transfers = after_pact(sim, "ForcedReturnExecuted")
    assert any(f.data["destination"] == "DUBLIN" for f in transfers)


def test_ammr_figures_are_consistent_per_direction_and_kind(sim: Simulation) -> None:
    ammr = sim.truth["pact_ammr"]
    keys = {key for cell in ammr.values() for key in cell}
    assert {"OUT|TAKE_BACK", "OUT|TAKE_CHARGE", "IN|TAKE_BACK", "IN|TAKE_CHARGE"} <= keys
    # Requests answered or transferred in the period were asked in it or before it: count
    # those asked before from the facts, so the sums must close exactly.
    s = cal.ts_of(sim.params.start)
    before: Counter[str] = Counter()
    for f in sim.effective:
        if f.occ < s and f.type in ("DublinClaimSent", "TakeBackNotificationSent"):
            kind = f.data.get("claim_kind", "TAKE_BACK")
            before[f"OUT|{kind}"] += 1
    for key in keys:
        figures = {
            name: sum(cell.get(key, {}).get(name, 0) for cell in ammr.values())
            for name in (
                "requested",
                "accepted",
                "refused",
                "transferred",
                "transferred_within_time_limit",
            )
        }
        answered = figures["accepted"] + figures["refused"]
        assert answered <= figures["requested"] + before[key], (key, figures)
        assert figures["transferred"] <= figures["accepted"] + before[key], (key, figures)
        assert figures["transferred_within_time_limit"] <= figures["transferred"], key
    transferred_out = total_ammr(ammr, "OUT|TAKE_BACK", "transferred")
    within = total_ammr(ammr, "OUT|TAKE_BACK", "transferred_within_time_limit")
    assert 0 < within <= transferred_out


def total_ammr(ammr: dict[str, dict[str, dict[str, int]]], key: str, name: str) -> int:
    return sum(cell.get(key, {}).get(name, 0) for cell in ammr.values())


def test_solidarity_relocations_into_the_netherlands(sim: Simulation) -> None:
    cells: dict[str, Counter[str]] = defaultdict(Counter)
    for month in sim.truth["pact_solidarity"].values():
        for key, figures in month.items():
            cells[key].update(figures)
    assert cells and all(key.startswith("INTO_NETHERLANDS|") for key in cells)
    assert all(key.endswith("|2026") for key in cells)
    assert sum(c["transferred"] for c in cells.values()) <= sum(
        c["decided"] for c in cells.values()
    )
    decided = after_pact(sim, "SolidarityRelocationDecided")
    moved = after_pact(sim, "SolidarityRelocationTransferred")
    assert {f.org for f in decided} == {"IND"} and {f.org for f in moved} == {"KMAR"}


def test_eurodac_hits_carry_the_new_categories(sim: Simulation) -> None:
    hits: Counter[str] = Counter()
    for cell in sim.truth["pact_eurodac_hits"].values():
        for key, n in cell.items():
            hits[key.split("|")[0]] += n
    assert {"APPLICANT", "IRREGULAR_BORDER_CROSSING", "SEARCH_AND_RESCUE"} <= set(hits)
    assert {"TEMPORARY_PROTECTION", "IRREGULAR_STAY"} <= set(hits)
    assert sum(hits.values()) == sum(
        1
        for f in sim.effective
        if f.type == "EurodacHitReceived" and cal.ts_of(sim.params.start) <= f.occ
    )


def test_screening_figures_equal_the_screenings(sim: Simulation) -> None:
    screenings = sim.truth["pact_screenings"]
    started = sum(sum(c.get("started", {}).values()) for c in screenings.values())
    completed = sum(sum(c.get("completed", {}).values()) for c in screenings.values())
    assert started == len(after_pact(sim, "ScreeningStarted"))
    assert 0 < completed <= started
    assert total(screenings, "within_7_days") == completed  # the simulator takes 1-7 days
    assert 0 < total(screenings, "duration_seconds") <= completed * 7 * 86_400


def test_ages_on_the_day_and_no_unaccompanied_minor_of_18(sim: Simulation) -> None:
    people = {}
    turning_18 = 0
    for f in sim.effective:
        if f.person is None:
            continue
        people[f.subject] = f.person
        if f.type == "AsylumApplicationLodged":
            age = f.data["age_at_application"]
            assert age == f.person.age_on(f.occ) and age >= 0
            if f.data["unaccompanied_minor"]:
                assert age < 18
                calendar_age = cal.date_of(f.occ).year - f.person.birth_year
                turning_18 += calendar_age == 18
                band = age_band(age, f.person.birth_year, f.occ, True)
                assert band in ("0-13", "14-17"), band
                # Without the age the band still never says 18+ for an unaccompanied minor.
                assert age_band(None, f.person.birth_year, f.occ, True) != "18-34"
        elif f.type == "ArrivalReported":
            assert f.data["age_at_report"] == f.person.age_on(f.occ)
    assert turning_18 > 0, "no unaccompanied minor of 17 in the year he turns 18"
    for month in sim.truth["inflow_attributes"].values():
        for kinds in month.values():
            for bands in kinds.values():
                assert set(bands) <= {label for _, label in AGE_BANDS} | {"UNKNOWN"}


def test_the_new_lifecycle_states_occur(sim: Simulation) -> None:
    last = sim.truth["lifecycle"][max(sim.truth["lifecycle"])]
    seen = {
        state
        for month in sim.truth["lifecycle"].values()
        for state, n in month.items()
        if n and state in ("TRANSFER_DECIDED", "RETURN_BORDER")
    }
    assert seen == {"TRANSFER_DECIDED", "RETURN_BORDER"}
    assert last["RELOCATED"] == 0  # the Netherlands relocates no one out (docs/simulator.md)


def test_border_again_while_the_procedure_is_open_continues_it() -> None:
    # Found on the national year (seed 1): a case given BORDER twice at the same instant. The
    # fold keeps one procedure (only another track ends it); the truth counted a second start
    # and an ENDED, so the demo's August 2026 border figures differed by one.
    figures = PactFigures(cal.ts_of(date(2026, 6, 12)), cal.ts_of(date(2027, 1, 1)))
    clock = BorderClock(figures)
    at = cal.ts_of(date(2026, 8, 27))

    def track(value: str, ts: int) -> Fact:
        return Fact(
            "IND", "TrackAssigned", ts, None, "V1", "ZK1", f"t{ts}{value}", {"track": value}, None
        )

    for f in (track("BORDER", at), track("BORDER", at), track("BORDER", at + 3600)):
        clock.observe(f)
    assert figures.border == {"2026-08": {"started": 1}}
    clock.observe(track("GENERAL", at + 7200))
    assert figures.border == {"2026-08": {"started": 1, "ended": {"ENDED": 1}}}
