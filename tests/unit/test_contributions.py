"""Each person's projection rows (domain/contributions.py), summed the way the analyst views sum
them, reproduce the simulator's ground truth — and replacing one person's rows after a late
event moves only the periods that event touches."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.contributions import Items, items_of
from domain.lifecycle.counts import DECISION_OUTCOMES, DEPARTURE_KINDS, INFLOW_KINDS, TRACKS
from tests.unit.builders import T0, arrival, ev, lodged
from tests.unit.simulated import Folded


@pytest.fixture(scope="module")
def sim_items(small_run: Folded) -> tuple[dict[str, dict[str, object]], list[Items]]:
    return small_run.sim.truth, [items_of(p) for p in small_run.persons]


def month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def test_flows_sum_to_the_ground_truth(
    sim_items: tuple[dict[str, dict[str, object]], list[Items]],
) -> None:
    truth, items = sim_items
    inflow: Counter[tuple[str, str]] = Counter()
    decisions: Counter[tuple[str, str, str]] = Counter()
    departures: Counter[tuple[str, str]] = Counter()
    for it in items:
        inflow.update((month(r[2]), r[3]) for r in it.inflow)
        decisions.update((month(r[2]), r[3], r[4]) for r in it.decisions)
        departures.update((month(r[2]), r[3]) for r in it.departures)
    for m, want in truth["inflow"].items():
        assert {k: inflow[(m, k)] for k in INFLOW_KINDS} == want, m
    for m, want in truth["decisions"].items():
        got = {t: {o: decisions[(m, t, o)] for o in DECISION_OUTCOMES} for t in TRACKS}
        assert got == want, m
    for m, want in truth["departures"].items():
        assert {k: departures[(m, k)] for k in DEPARTURE_KINDS} == want, m


def test_stays_give_the_daily_occupancy_of_the_ground_truth(
    sim_items: tuple[dict[str, dict[str, object]], list[Items]],
) -> None:
    truth, items = sim_items
    coa = [s for it in items for s in it.coa_stays]
    goo = [s for it in items for s in it.goo_stays]
    for day_text, want in truth["coa_occupancy"].items():
        day = date.fromisoformat(day_text)
        got = Counter(s[4] for s in coa if s[2] <= day and (s[3] is None or day < s[3]))
        assert {**dict(sorted(got.items())), "total": sum(got.values())} == want, day
    for day_text, n in truth["goo_occupancy"].items():
        day = date.fromisoformat(day_text)
        assert sum(1 for s in goo if s[2] <= day and (s[3] is None or day < s[3])) == n, day


def test_a_stay_of_less_than_a_day_counts_on_no_day() -> None:
    from domain.contributions import _coa_stays  # noqa: PLC0415
    from domain.lifecycle.reception import Placement, ReceptionSpan  # noqa: PLC0415

    t = datetime(2026, 3, 1, 8, tzinfo=UTC)
    same_day = ReceptionSpan(t, "e1", "ASYLUM_SEEKER", "Z", (), t + timedelta(hours=5))
    assert _coa_stays(same_day, None, None) == []
    moved = ReceptionSpan(
        t,
        "e1",
        "ASYLUM_SEEKER",
        "Z",
        (
            Placement(t + timedelta(hours=1), "p1", "COL-1", "COL", False, False),
            Placement(t + timedelta(days=3), "p2", "AZC-1", "AZC", True, False),
            Placement(t + timedelta(days=3, hours=2), "p3", "AZC-2", "AZC", True, False),
        ),
        t + timedelta(days=9),
    )
    d = t.date()
    # No case: resident status OTHER; no birth year known: not counted as a child.
    assert _coa_stays(moved, None, None) == [
        (d, d + timedelta(days=3), "COL", "COL-1", "OTHER", False),
        (d + timedelta(days=3), d + timedelta(days=9), "AZC", "AZC-2", "OTHER", False),
    ]
    # Born in 2008: a child to the end of 2025, an adult from 1 January 2026 on.
    new_year = ReceptionSpan(t.replace(month=12, year=2025), "e1", "ASYLUM_SEEKER", "Z")
    assert _coa_stays(new_year, None, 2008) == [
        (date(2025, 12, 1), date(2026, 1, 1), "UNPLACED", "UNPLACED", "OTHER", True),
        (date(2026, 1, 1), None, "UNPLACED", "UNPLACED", "OTHER", False),
    ]


def test_a_case_is_pending_from_its_first_application_to_its_first_decision() -> None:
    from domain.lifecycle import fold  # noqa: PLC0415

    facts = [
        arrival(0),
        ev("AsylumApplicationLodged", 2, application_type="FIRST", unaccompanied_minor=False),
        ev(
            "AsylumApplicationLodged",
            40,
            "ZK2",
            application_type="REPEAT",
            unaccompanied_minor=False,
        ),
        ev("DecisionIssued", 30, outcome="REJECTED", status=None, ground=None),
    ]
    cases = items_of(fold(facts)).cases
    day = T0.date()
    assert [(c[1], c[2], c[3]) for c in cases] == [
        ("ZK1", day + timedelta(days=2), day + timedelta(days=30)),
        ("ZK2", day + timedelta(days=40), None),
    ]


def test_housing_rows_and_tasks_give_the_ground_truth(small_run: Folded) -> None:
    from collections import defaultdict  # noqa: PLC0415

    from domain.lifecycle import fold  # noqa: PLC0415
    from domain.lifecycle.counts import task_periods  # noqa: PLC0415

    sim, persons, subjects = small_run.sim, small_run.persons, small_run.subjects
    by_subject: dict[str, list[Any]] = defaultdict(list)
    for f in subjects:
        by_subject[f.person_key].append(f)
    start = date.fromisoformat(sim.truth["period"]["from"])
    end = date.fromisoformat(sim.truth["period"]["to"])
    periods = set(task_periods(start, end))
    got: dict[str, dict[str, dict[str, int]]] = {}

    def row(m: str, p: str) -> dict[str, int]:
        return got.setdefault(m, {}).setdefault(p, {"task": 0, "linked": 0, "housed": 0})

    for facts in by_subject.values():
        for _, m, p, task in items_of(fold(facts), facts).tasks:
            if p in periods:
                row(m, p)["task"] = task
    for person in persons:
        for _, _, day, m, p, step in items_of(person).housing:
            if p in periods and day <= end:
                row(m, p)["linked" if step == "LINKED" else "housed"] += 1
    assert got == sim.truth["housing"]


def test_inflow_by_nationality_age_band_and_sex_equals_the_ground_truth(
    sim_items: tuple[dict[str, dict[str, object]], list[Items]],
) -> None:
    truth, items = sim_items
    got: dict[str, dict[str, Any]] = {m: {} for m in truth["inflow_attributes"]}
    for it in items:
        for _, _, day, kind, _, nationality, band, sex in it.inflow:
            if month(day) in got:
                cell = got[month(day)].setdefault(kind, {}).setdefault(nationality, {})
                cell.setdefault(band, {}).setdefault(sex, 0)
                cell[band][sex] += 1
    assert got == truth["inflow_attributes"]
    # Applicants are registered before they apply; a nareiziger arriving in the period's last
    # days is registered only after it: counted, as UNKNOWN.
    assert {r[3] for it in items for r in it.inflow if r[5] == "UNKNOWN"} <= {"NAREIS"}


def eurostat_persons(items: list[Items], cut: Any) -> dict[str, dict[str, int]]:
    """Persons with a FIRST or REPEAT application per period (`cut` of a day), FIRST_TIME when
    their first application ever falls in it: the definition of analyst.inflow_eurostat."""
    out: dict[str, dict[str, int]] = {}
    for it in items:
        days = [r[2] for r in it.inflow if r[3] in ("FIRST", "REPEAT")]
        if not days:
            continue
        first = cut(min(days))
        for period in {cut(d) for d in days}:
            row = out.setdefault(period, {"FIRST_TIME": 0, "SUBSEQUENT": 0})
            row["FIRST_TIME" if period == first else "SUBSEQUENT"] += 1
    return out


def test_eurostat_person_based_applicants_equal_the_ground_truth(
    sim_items: tuple[dict[str, dict[str, object]], list[Items]],
) -> None:
    truth, items = sim_items
    want: Any = truth["eurostat_applicants"]
    per_month = eurostat_persons(items, month)
    per_year = eurostat_persons(items, lambda d: str(d.year))
    zero = {"FIRST_TIME": 0, "SUBSEQUENT": 0}
    assert {m: per_month.get(m, zero) for m in want["month"]} == want["month"]
    assert {y: per_year.get(y, zero) for y in want["year"]} == want["year"]
    # Persons, not applications: a year is at most its months summed (fewer when someone
    # applied in two of them).
    months_2026 = [v for m, v in want["month"].items() if m.startswith("2026")]
    assert 0 < sum(want["year"]["2026"].values()) <= sum(sum(v.values()) for v in months_2026)


def test_age_band_from_the_birth_year_on_the_day_counted() -> None:
    from domain.lifecycle.counts import age_band  # noqa: PLC0415

    on = date(2026, 3, 1)
    assert [age_band(2026 - age, on) for age in (0, 13, 14, 17, 18, 34, 35, 64, 65, 90)] == [
        "0-13",
        "0-13",
        "14-17",
        "14-17",
        "18-34",
        "18-34",
        "35-64",
        "35-64",
        "65+",
        "65+",
    ]
    assert age_band(None, on) == "UNKNOWN"
    assert age_band(2027, on) == "UNKNOWN"


def test_inflow_rows_carry_the_latest_effective_registration() -> None:
    from domain.lifecycle import fold  # noqa: PLC0415

    registered = ev(
        "IdentityRegistered",
        1,
        event_id="ir1",
        nationality="SYR",
        birth_year=2009,
        sex="F",
        documents_presented=False,
    )
    assert [r[5:] for r in items_of(fold([arrival(), lodged(2)])).inflow] == [
        ("UNKNOWN", "UNKNOWN", "UNKNOWN")
    ]
    assert [r[5:] for r in items_of(fold([arrival(), registered, lodged(2)])).inflow] == [
        ("SYR", "14-17", "F")
    ]
    corrected = ev(
        "IdentityRegistered",
        1,
        event_id="ir2",
        corrects="ir1",
        nationality="ERI",
        birth_year=2000,
        sex="F",
        documents_presented=True,
    )
    later = ev(
        "IdentityRegistered",
        50,
        event_id="ir3",
        nationality="ERI",
        birth_year=2000,
        sex="X",
        documents_presented=True,
    )
    state = fold([corrected, lodged(2), registered, arrival()])
    assert [r[5:] for r in items_of(state).inflow] == [("ERI", "18-34", "F")]
    # A later registration counts for the earlier application too: the latest is what is known.
    state = fold([arrival(), registered, corrected, lodged(2), later])
    assert [r[5:] for r in items_of(state).inflow] == [("ERI", "18-34", "X")]
    assert state_round_trips(state)


def state_round_trips(state: Any) -> bool:
    from domain.lifecycle import PersonState  # noqa: PLC0415

    return bool(PersonState.from_json(state.to_json()) == state)


@pytest.fixture(scope="module")
def sim_all_items(small_run: Folded) -> tuple[dict[str, Any], list[Items], list[Items]]:
    """The truth, every person's items, and every non-person subject's items (from its facts)."""
    from collections import defaultdict  # noqa: PLC0415

    from domain.lifecycle import fold  # noqa: PLC0415

    sim, persons, subjects = small_run.sim, small_run.persons, small_run.subjects
    by_subject: dict[str, list[Any]] = defaultdict(list)
    for f in subjects:
        by_subject[f.person_key].append(f)
    return (
        sim.truth,
        [items_of(p) for p in persons],
        [items_of(fold(facts), facts) for facts in by_subject.values()],
    )


def on(day: date, rows: list[Any]) -> list[Any]:
    """The stay or capacity rows ([from_day, to_day) in columns 2 and 3) counted on `day`."""
    return [r for r in rows if r[2] <= day and (r[3] is None or day < r[3])]


def test_residents_by_location_type_and_status_equal_the_ground_truth(
    sim_all_items: tuple[dict[str, Any], list[Items], list[Items]],
) -> None:
    truth, items, _ = sim_all_items
    stays = [s for it in items for s in it.coa_stays]
    statuses: Counter[str] = Counter()
    for day_text, want in truth["coa_residents"].items():
        got: dict[str, dict[str, int]] = {}
        for _, _, _, _, kind, _, status, _ in on(date.fromisoformat(day_text), stays):
            got.setdefault(kind, {}).setdefault(status, 0)
            got[kind][status] += 1
            statuses[status] += 1
        assert got == want, day_text
    # Every status occurs, most residents are in procedure: the split is not trivial.
    assert set(statuses) == {"IN_PROCEDURE", "STATUS_HOLDER", "REJECTED", "OTHER"} or set(
        statuses
    ) == {"IN_PROCEDURE", "STATUS_HOLDER", "REJECTED"}
    assert statuses.most_common(1)[0][0] == "IN_PROCEDURE"


def test_capacity_and_occupancy_per_location_equal_the_ground_truth(
    sim_all_items: tuple[dict[str, Any], list[Items], list[Items]],
) -> None:
    truth, items, subjects = sim_all_items
    capacity = [r for it in subjects for r in it.capacity]
    assert capacity and all(r[0] == f"location:{r[4]}" for r in capacity)
    for day_text, want in truth["coa_capacity"].items():
        got: Counter[str] = Counter()
        for r in on(date.fromisoformat(day_text), capacity):
            got[r[5]] += r[6]
        assert dict(got) == want, day_text
    stays = [s for it in items for s in it.coa_stays]
    for day_text, want in truth["coa_locations"].items():
        day = date.fromisoformat(day_text)
        persons = Counter(s[5] for s in on(day, stays))
        places = Counter({r[4]: r[6] for r in on(day, capacity)})
        per_location = {
            loc: {"persons": persons[loc], "places": places[loc]}
            for loc in sorted(set(persons) | set(places))
        }
        assert per_location == want, day_text
    # Emergency locations close within months: some spans have ended.
    assert any(r[3] is not None for r in capacity)


def test_capacity_spans_follow_the_effective_versions_at_the_end_of_each_day() -> None:
    from dataclasses import replace  # noqa: PLC0415

    from domain.lifecycle import fold  # noqa: PLC0415

    where = "location:NOOD-1"
    opened = ev(
        "LocationOpened",
        0,
        None,
        event_id="o",
        location_id="NOOD-1",
        location_type="NOODOPVANG",
        municipality_code="GM0363",
        target_groups=["ASYLUM_SEEKERS"],
        capacity=300,
    )
    grown = ev(
        "LocationCapacityChanged", 10, None, event_id="g", location_id="NOOD-1", capacity=400
    )
    fixed = ev(
        "LocationCapacityChanged",
        10,
        None,
        event_id="g2",
        corrects="g",
        location_id="NOOD-1",
        capacity=450,
    )
    # Two changes on one day: the last one counts for that day (here: no change at all).
    shrunk = ev("LocationCapacityChanged", 20, None, event_id="s", location_id="NOOD-1", capacity=1)
    back = ev(
        "LocationCapacityChanged", 20.1, None, event_id="b", location_id="NOOD-1", capacity=450
    )
    wrong = ev("LocationCapacityChanged", 25, None, event_id="w", location_id="NOOD-1", capacity=9)
    retracted = ev("EventRetracted", 26, None, event_id="r", retracts="w", reason="DUPLICATE")
    closed = ev("LocationClosed", 40, None, event_id="c", location_id="NOOD-1")
    facts = [
        replace(f, person_key=where)
        for f in (closed, retracted, wrong, back, shrunk, fixed, grown, opened)
    ]
    d = T0.date()
    assert items_of(fold(facts), facts).capacity == [
        (where, 0, d, d + timedelta(days=10), "NOOD-1", "NOODOPVANG", 300),
        (where, 1, d + timedelta(days=10), d + timedelta(days=40), "NOOD-1", "NOODOPVANG", 450),
    ]
    assert items_of(fold(facts[1:]), facts[1:]).capacity[-1][3] is None


def test_relocations_and_resident_days_per_year_equal_the_ground_truth(
    sim_all_items: tuple[dict[str, Any], list[Items], list[Items]],
) -> None:
    truth, items, _ = sim_all_items
    first = date.fromisoformat(truth["period"]["from"])
    last = date.fromisoformat(truth["period"]["to"])
    got: dict[str, dict[str, int]] = {}

    def year(day: date) -> dict[str, int]:
        return got.setdefault(
            str(day.year),
            {
                "relocations": 0,
                "resident_days": 0,
                "child_relocations": 0,
                "child_resident_days": 0,
            },
        )

    for it in items:
        for _, _, day, minor, _ in it.relocations:
            if first <= day <= last:
                year(day)["relocations"] += 1
                year(day)["child_relocations"] += minor
        for _, _, start, end, _, _, _, minor in it.coa_stays:
            day = max(start, first)
            while day <= last and (end is None or day < end):
                year(day)["resident_days"] += 1
                year(day)["child_resident_days"] += minor
                day += timedelta(days=1)
    assert got == truth["relocations"]
    assert all(0 < v["child_relocations"] < v["relocations"] for v in got.values())
