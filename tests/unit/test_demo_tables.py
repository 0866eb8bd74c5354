"""The demo's recount of the ground truth from projection rows (ketenlog/demo_tables),
fed the rows items_of gives for a simulation: it must find the truth, and name a difference."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from domain.contributions import Items, items_of
from domain.lifecycle import fold
from ketenlog import demo_tables as t
from tests.unit.simulated import Folded

# As analyst.departures flags them (projections/views.sql); the integration tests check the view.
DEMONSTRABLE = ("INDEPENDENT", "FORCED", "DUBLIN_TRANSFER")


def test_the_recount_of_the_rows_equals_the_truth_and_names_a_difference(
    small_run: Folded,
) -> None:
    sim, persons, subjects = small_run.sim, small_run.persons, small_run.subjects
    by_subject: dict[str, list[Any]] = defaultdict(list)
    for f in subjects:
        by_subject[f.person_key].append(f)
    items = [items_of(p) for p in persons]
    located = [items_of(fold(fs), fs) for fs in by_subject.values()]
    truth = sim.truth
    first = date.fromisoformat(truth["period"]["from"])
    last = date.fromisoformat(truth["period"]["to"])
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    stays = [s[2:] for it in items for s in it.coa_stays]
    spans = [(r[2], r[3], r[5], r[4], r[6]) for it in located for r in it.capacity]
    moves = [(r[2], r[3]) for it in items for r in it.relocations]
    inflow = [(r[0], r[2], r[3], *r[5:]) for it in items for r in it.inflow]
    got = {
        "inflow_attributes": t._inflow_attributes(inflow, truth["inflow_attributes"]),
        "eurostat_applicants": t._eurostat(inflow, truth["eurostat_applicants"]),
        "demonstrable_departures": t._demonstrable(
            [(r[2], r[3] in DEMONSTRABLE) for it in items for r in it.departures],
            truth["demonstrable_departures"],
        ),
        "housing": t._housing(
            [(r[3], r[4], r[5], r[2]) for it in items for r in it.housing],
            [r for it in located for r in it.tasks],
            t._periods(truth["housing"]),
            last,
        ),
        "coa_residents": t._per_day(stays, days, lambda s: ((s[2], s[4]), 1), nested=True),
        "coa_capacity": t._per_day(spans, days, lambda s: (s[2], s[4])),
        "coa_locations": t._locations(
            stays, spans, [date.fromisoformat(d) for d in truth["coa_locations"]]
        ),
        "relocations": t._relocations(stays, moves, first, last),
        **_pact(items, first, last),
    }
    # A Pact figure is named while the simulator's truth lacks it, and compared once it has it.
    assert t.differences(got, truth) == [
        f"{figure}: not in the ground truth" for figure in t.PACT_FIGURES if figure not in truth
    ]
    assert sum(got["demonstrable_departures"].values()) > 0
    without_dublin = t._demonstrable(
        [(r[2], r[3] in ("INDEPENDENT", "FORCED")) for it in items for r in it.departures],
        truth["demonstrable_departures"],
    )
    assert t.differences({**got, "demonstrable_departures": without_dublin}, truth), (
        "leaving Dublin transfers out of demonstrable departures must differ from the truth"
    )
    day = sorted(truth["coa_capacity"])[100]
    got["coa_capacity"][day]["AZC"] += 1
    assert t.differences(got, {**got, **truth}) == [
        f"coa_capacity {day}: {got['coa_capacity'][day]} (truth {truth['coa_capacity'][day]})"
    ]


def _pact(items: list[Items], first: date, last: date) -> dict[str, Any]:
    """The Pact figures recounted from the rows items_of gives, as table_figures reads them."""
    return {
        "pact_screenings": t.pact_screenings(
            [
                (r.started_at, r.completed_at, r.location, r.referral)
                for it in items
                for r in it.screenings
            ],
            first,
            last,
        ),
        "pact_border_procedures": t.pact_border_procedures(
            [
                (r.started_at, r.ended_at, r.result, r.outcome)
                for it in items
                for r in it.border_procedures
            ],
            first,
            last,
        ),
        "pact_border_returns": t.pact_border_returns(
            [(r.day, r.kind, r.border_return) for it in items for r in it.departures],
            first,
            last,
        ),
        "pact_eurodac_hits": t.pact_eurodac_hits(
            [(r.day, r.category, r.member_state) for it in items for r in it.eurodac_hits],
            first,
            last,
        ),
        "pact_ammr": t.pact_ammr(
            [
                (
                    r.direction,
                    r.kind,
                    r.requested_day,
                    r.answered_day,
                    r.answer,
                    r.time_limit,
                    r.transferred_day,
                )
                for it in items
                for r in it.ammr_requests
            ],
            first,
            last,
        ),
        "pact_solidarity": t.pact_solidarity(
            [
                (r.direction, r.relocation_group, r.pledge_year, r.decided_day, r.transferred_day)
                for it in items
                for r in it.solidarity_relocations
            ],
            first,
            last,
        ),
    }
