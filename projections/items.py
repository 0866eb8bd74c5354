"""From a person's derived state to the rows that person contributes to each projection: one
row per counted application, decision, departure and stay. Pure (no I/O): the processor writes
them in the same transaction as the state and the consumer positions, replacing the person's
previous rows, so a late event or a correction moves the figures by exactly the difference —
the old contribution out, the new one in — and past periods are revised, not left wrong.

Definitions are those of processors.lifecycle.counts (docs/simulator.md, domain reference §5);
days are UTC; a change at moment m shows from the end of day date(m) on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from processors.facts import Fact
from processors.lifecycle.counts import COA_EXCLUDED_GROUPS, UNPLACED, person_attributes
from processors.lifecycle.effective import effective
from processors.lifecycle.person import PersonState
from processors.lifecycle.reception import ReceptionSpan

# Each tuple follows the column order of its table (projections/migrations/003_*.sql; 008
# added nationality, age band and sex to inflow_items).
InflowRow = tuple[str, str, date, str, bool, str, str, str]
DecisionRow = tuple[str, str, date, str, str, datetime | None, datetime]
DepartureRow = tuple[str, str, date, str, str | None]
StayRow = tuple[str, int, date, date | None, str]
CaseRow = tuple[str, str, date, date | None]
HousingRow = tuple[str, str, date, str, str, str]
TaskRow = tuple[str, str, str, int]


@dataclass(frozen=True, slots=True)
class Items:
    inflow: list[InflowRow]
    decisions: list[DecisionRow]
    departures: list[DepartureRow]
    coa_stays: list[StayRow]
    goo_stays: list[StayRow]
    cases: list[CaseRow]
    housing: list[HousingRow]
    tasks: list[TaskRow]

    def tables(self) -> dict[str, list[tuple[object, ...]]]:
        """Rows per key of TABLES, for the store."""
        return {
            "inflow": list(self.inflow),
            "decisions": list(self.decisions),
            "departures": list(self.departures),
            "coa_stays": list(self.coa_stays),
            "goo_stays": list(self.goo_stays),
            "cases": list(self.cases),
            "housing": list(self.housing),
            "tasks": list(self.tasks),
        }


def contributions(
    state: PersonState, facts: Sequence[Fact] = ()
) -> dict[str, list[tuple[object, ...]]]:
    return items_of(state, facts).tables()


TABLES = {
    "inflow": "inflow_items (person_key, event_id, day, kind, unaccompanied_minor, nationality,"
    " age_band, sex)",
    "decisions": "decision_items (person_key, event_id, day, track, outcome, lodged_at,"
    " decided_at)",
    "departures": "departure_items (person_key, event_id, day, kind, destination)",
    "coa_stays": "coa_stays (person_key, seq, from_day, to_day, location_type)",
    "goo_stays": "goo_stays (person_key, seq, from_day, to_day, location_type)",
    "cases": "case_items (person_key, case_id, lodged_day, decided_day)",
    "housing": "housing_items (person_key, event_id, day, municipality_code, task_period, step)",
    "tasks": "housing_tasks (person_key, municipality_code, task_period, task)",
}


def items_of(state: PersonState, facts: Sequence[Fact] = ()) -> Items:
    """`facts`: the history the state was folded from; only a housing task's subject (a
    municipality and task period, not a person) contributes from its facts directly."""
    key = state.person_key
    # The person's attributes as last registered; the age band on the day counted.
    inflow: list[InflowRow] = [
        (
            key,
            a.event_id,
            a.at.date(),
            a.application_type,
            a.unaccompanied_minor,
            *person_attributes(state, a.at.date()),
        )
        for a in state.applications
        if a.application_type in ("FIRST", "REPEAT")
    ]
    # CBS counts nareizigers on arrival.
    inflow += [
        (key, a.event_id, a.at.date(), "NAREIS", False, *person_attributes(state, a.at.date()))
        for a in state.arrivals
        if a.applicant_group == "MVV_HOLDER"
    ]
    lodged: dict[str, datetime] = {}
    for a in state.applications:
        if a.case_id is not None and (a.case_id not in lodged or a.at < lodged[a.case_id]):
            lodged[a.case_id] = a.at
    decisions: list[DecisionRow] = [
        (
            key,
            d.event_id,
            d.at.date(),
            d.track,
            ("A" if d.status == "A" else "B") if d.outcome == "GRANTED" else d.outcome,
            lodged.get(d.case_id) if d.case_id is not None else None,
            d.at,
        )
        for d in state.decisions
    ]
    departures: list[DepartureRow] = [
        (key, d.event_id, d.at.date(), d.kind, d.destination) for d in state.departures
    ]
    coa = [
        stay
        for span in state.reception.spans
        if span.group not in COA_EXCLUDED_GROUPS
        for stay in _coa_stays(span)
    ]
    goo = [
        (s.started_at.date(), s.ended_at.date() if s.ended_at else None, "GOO")
        for s in state.protection.spans
    ]
    # Pending at the IND: from the first application of a case to its first decision.
    decided: dict[str, date] = {}
    for d in state.decisions:
        if d.case_id is not None and (d.case_id not in decided or d.at.date() < decided[d.case_id]):
            decided[d.case_id] = d.at.date()
    cases: list[CaseRow] = [
        (key, case_id, at.date(), decided.get(case_id)) for case_id, at in sorted(lodged.items())
    ]
    housing: list[HousingRow] = [
        (key, h.event_id, h.at.date(), h.municipality_code, h.task_period, h.step)
        for h in state.housing
    ]
    tasks: list[TaskRow] = [
        (key, str(f.data["municipality_code"]), str(f.data["task_period"]), int(f.data["task"]))
        for f in effective(f for f in facts if f.event_type == "HousingTaskPublished").events
    ]
    return Items(
        inflow,
        decisions,
        departures,
        _numbered(key, coa),
        _numbered(key, [g for g in goo if g[1] is None or g[0] < g[1]]),
        cases,
        housing,
        tasks,
    )


def _numbered(key: str, stays: Iterable[tuple[date, date | None, str]]) -> list[StayRow]:
    return [(key, i, start, end, kind) for i, (start, end, kind) in enumerate(stays)]


def _coa_stays(span: ReceptionSpan) -> list[tuple[date, date | None, str]]:
    """The days [from, to) the person counts in COA reception, split where the location type
    (at the end of the day) changes. Open at the end of day D when the span started before
    the next midnight and ended at or after it: from date(start) to date(end), exclusive."""
    start = span.started_at.date()
    end = span.ended_at.date() if span.ended_at is not None else None
    if end is not None and end <= start:
        return []
    kind_on_start = UNPLACED
    changes: list[tuple[date, str]] = []
    for p in span.placements:
        day = p.at.date()
        if day <= start:
            kind_on_start = p.location_type
        elif end is None or day < end:
            if changes and changes[-1][0] == day:
                changes[-1] = (day, p.location_type)
            else:
                changes.append((day, p.location_type))
    stays: list[tuple[date, date | None, str]] = []
    current_from, current_kind = start, kind_on_start
    for day, kind in changes:
        if kind != current_kind:
            stays.append((current_from, day, current_kind))
            current_from, current_kind = day, kind
    stays.append((current_from, end, current_kind))
    return stays
