"""From a person's derived state to the rows that person contributes to each projection: one
row per counted application, decision, departure and stay. Pure (no I/O): the processor writes
them in the same transaction as the state and the consumer positions, replacing the person's
previous rows, so a late event or a correction moves the figures by exactly the difference —
the old contribution out, the new one in — and past periods are revised, not left wrong.

Definitions are those of domain.lifecycle.counts (docs/simulator.md, domain reference §5);
days are UTC; a change at moment m shows from the end of day date(m) on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from domain.facts import Fact
from domain.lifecycle.case import CaseState
from domain.lifecycle.counts import (
    COA_EXCLUDED_GROUPS,
    UNPLACED,
    end_of,
    is_minor,
    person_attributes,
    resident_status,
)
from domain.lifecycle.effective import RETRACTION, effective
from domain.lifecycle.person import PersonState
from domain.lifecycle.reception import ReceptionSpan
from schemas.event_types import EventType

# One named row per projection table; the stores derive their column lists from the field
# names (projections/tables.py), and a test compares them with the migrated tables.


class InflowRow(NamedTuple):
    person_key: str
    event_id: str
    day: date
    kind: str
    unaccompanied_minor: bool
    nationality: str
    age_band: str
    sex: str


class DecisionRow(NamedTuple):
    person_key: str
    event_id: str
    day: date
    track: str
    outcome: str
    lodged_at: datetime | None
    decided_at: datetime


class DepartureRow(NamedTuple):
    person_key: str
    event_id: str
    day: date
    kind: str
    destination: str | None
    border_return: bool
    """Departed from the return border procedure (Regulation 2024/1349)."""


class StayRow(NamedTuple):
    person_key: str
    seq: int
    from_day: date
    to_day: date | None
    location_type: str
    location_id: str
    resident_status: str
    minor: bool


class GooRow(NamedTuple):
    person_key: str
    seq: int
    from_day: date
    to_day: date | None
    location_type: str


class CaseRow(NamedTuple):
    person_key: str
    case_id: str
    lodged_day: date
    decided_day: date | None


class HousingRow(NamedTuple):
    person_key: str
    event_id: str
    day: date
    municipality_code: str
    task_period: str
    step: str


class TaskRow(NamedTuple):
    person_key: str
    municipality_code: str
    task_period: str
    task: int


class CapacityRow(NamedTuple):
    person_key: str
    seq: int
    from_day: date
    to_day: date | None
    location_id: str
    location_type: str
    places: int


class RelocationRow(NamedTuple):
    person_key: str
    event_id: str
    day: date
    minor: bool
    location_type: str


class ScreeningRow(NamedTuple):
    """One screening (Screening Regulation 2024/1356), from ScreeningStarted to its completion."""

    person_key: str
    event_id: str
    started_at: datetime
    completed_at: datetime | None
    location: str
    referral: str | None


class BorderProcedureRow(NamedTuple):
    """One asylum border procedure (APR 2024/1348 art. 43-54): from TrackAssigned BORDER, its
    deadline (registration + 12 weeks + extensions, art. 51(2)) and how it ended: DECIDED (the
    decision's outcome), MAXIMUM_REACHED (moved to the regular procedure), ENDED otherwise
    (another track, departure); NULL while open."""

    person_key: str
    event_id: str
    case_id: str
    started_at: datetime
    deadline: datetime
    ended_at: datetime | None
    result: str | None
    outcome: str | None


class EurodacHitRow(NamedTuple):
    person_key: str
    event_id: str
    day: date
    category: str
    member_state: str


class AmmrRow(NamedTuple):
    """One AMMR (Dublin) request: OUT from the Netherlands or IN from another member state; a
    TAKE_CHARGE request or a TAKE_BACK notification; its answer (ACCEPTED, which counts a
    confirmed notification, or REFUSED), the transfer's time limit (art. 46) and the day of the
    transfer."""

    person_key: str
    event_id: str
    direction: str
    kind: str
    member_state: str
    requested_day: date
    answered_day: date | None
    answer: str | None
    time_limit: date | None
    transferred_day: date | None


class SolidarityRow(NamedTuple):
    """One solidarity relocation (AMMR art. 67-68), into or out of the Netherlands."""

    person_key: str
    event_id: str
    direction: str
    member_state: str
    relocation_group: str
    pledge_year: int
    decided_day: date
    transferred_day: date | None


# Each contribution by name (the keys of Items.tables()) and the shape of its rows.
ROWS: dict[str, type[tuple[object, ...]]] = {
    "inflow": InflowRow,
    "decisions": DecisionRow,
    "departures": DepartureRow,
    "coa_stays": StayRow,
    "goo_stays": GooRow,
    "cases": CaseRow,
    "housing": HousingRow,
    "tasks": TaskRow,
    "capacity": CapacityRow,
    "relocations": RelocationRow,
    "screenings": ScreeningRow,
    "border_procedures": BorderProcedureRow,
    "eurodac_hits": EurodacHitRow,
    "ammr_requests": AmmrRow,
    "solidarity_relocations": SolidarityRow,
}

LOCATION_EVENTS = frozenset(
    {EventType.LocationOpened, EventType.LocationCapacityChanged, EventType.LocationClosed}
)


@dataclass(frozen=True, slots=True)
class Items:
    inflow: list[InflowRow]
    decisions: list[DecisionRow]
    departures: list[DepartureRow]
    coa_stays: list[StayRow]
    goo_stays: list[GooRow]
    cases: list[CaseRow]
    housing: list[HousingRow]
    tasks: list[TaskRow]
    capacity: list[CapacityRow]
    relocations: list[RelocationRow]
    screenings: list[ScreeningRow]
    border_procedures: list[BorderProcedureRow]
    eurodac_hits: list[EurodacHitRow]
    ammr_requests: list[AmmrRow]
    solidarity_relocations: list[SolidarityRow]

    def tables(self) -> dict[str, list[tuple[object, ...]]]:
        """Rows per key of ROWS, for the store."""
        return {name: list(getattr(self, name)) for name in ROWS}


def columns(name: str) -> tuple[str, ...]:
    """The field names of a contribution's rows, in order (a named tuple's annotations)."""
    return tuple(ROWS[name].__annotations__)


def contributions(
    state: PersonState, facts: Sequence[Fact] = ()
) -> dict[str, list[tuple[object, ...]]]:
    return items_of(state, facts).tables()


def items_of(state: PersonState, facts: Sequence[Fact] = ()) -> Items:
    """`facts`: the history the state was folded from; only the subjects that are not persons
    (a housing task's municipality and period, a reception location) contribute from their
    facts directly."""
    key = state.person_key
    # The person's attributes as last registered; the age band on the day counted.
    inflow: list[InflowRow] = [
        InflowRow(
            key,
            a.event_id,
            a.at.date(),
            a.application_type,
            a.unaccompanied_minor,
            *person_attributes(
                state, a.at.date(), age=a.age, unaccompanied_minor=a.unaccompanied_minor
            ),
        )
        for a in state.applications
        if a.application_type in ("FIRST", "REPEAT")
    ]
    # CBS counts nareizigers on arrival.
    inflow += [
        InflowRow(
            key,
            a.event_id,
            a.at.date(),
            "NAREIS",
            False,
            *person_attributes(state, a.at.date(), age=a.age),
        )
        for a in state.arrivals
        if a.applicant_group == "MVV_HOLDER"
    ]
    lodged: dict[str, datetime] = {}
    for a in state.applications:
        if a.case_id is not None and (a.case_id not in lodged or a.at < lodged[a.case_id]):
            lodged[a.case_id] = a.at
    decisions: list[DecisionRow] = [
        DecisionRow(
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
        DepartureRow(key, d.event_id, d.at.date(), d.kind, d.destination, d.border_return)
        for d in state.departures
    ]
    birth_year = state.identity.birth_year if state.identity is not None else None
    counted = [s for s in state.reception.spans if s.group not in COA_EXCLUDED_GROUPS]
    coa = [
        stay
        for span in counted
        for stay in _coa_stays(span, state.case(span.case_id) if span.case_id else None, birth_year)
    ]
    relocations: list[RelocationRow] = [
        RelocationRow(
            key, p.event_id, p.at.date(), is_minor(birth_year, p.at.date()), p.location_type
        )
        for span in counted
        for p in span.placements
        if p.relocation
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
        CaseRow(key, case_id, at.date(), decided.get(case_id))
        for case_id, at in sorted(lodged.items())
    ]
    housing: list[HousingRow] = [
        HousingRow(key, h.event_id, h.at.date(), h.municipality_code, h.task_period, h.step)
        for h in state.housing
    ]
    tasks: list[TaskRow] = [
        TaskRow(
            key, str(f.data["municipality_code"]), str(f.data["task_period"]), int(f.data["task"])
        )
        for f in _subject_events(facts, frozenset({EventType.HousingTaskPublished}))
    ]
    return Items(
        inflow,
        decisions,
        departures,
        [StayRow(key, i, *stay) for i, stay in enumerate(coa)],
        [GooRow(key, i, *g) for i, g in enumerate(x for x in goo if x[1] is None or x[0] < x[1])],
        cases,
        housing,
        tasks,
        _capacity(key, _subject_events(facts, LOCATION_EVENTS)),
        relocations,
        *_pact_rows(state),
    )


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.date()


def _pact_rows(
    state: PersonState,
) -> tuple[
    list[ScreeningRow],
    list[BorderProcedureRow],
    list[EurodacHitRow],
    list[AmmrRow],
    list[SolidarityRow],
]:
    key, pact = state.person_key, state.pact
    return (
        [
            ScreeningRow(key, s.event_id, s.started_at, s.completed_at, s.location, s.referral)
            for s in pact.screenings
        ],
        [
            BorderProcedureRow(
                key,
                b.event_id,
                c.case_id,
                b.started_at,
                b.deadline,
                b.ended_at,
                b.result,
                b.outcome,
            )
            for c in state.cases
            for b in c.border_procedures
        ],
        [
            EurodacHitRow(key, h.event_id, h.at.date(), h.category, h.member_state)
            for h in pact.eurodac_hits
        ],
        [
            AmmrRow(
                key,
                r.event_id,
                r.direction,
                r.kind,
                r.member_state,
                r.requested_at.date(),
                _day(r.answered_at),
                r.answer,
                _day(r.time_limit),
                _day(r.transferred_at),
            )
            for r in pact.requests
        ],
        [
            SolidarityRow(
                key,
                r.event_id,
                r.direction,
                r.member_state,
                r.relocation_group,
                r.pledge_year,
                r.decided_at.date(),
                _day(r.transferred_at),
            )
            for r in pact.relocations
        ],
    )


def _subject_events(facts: Sequence[Fact], types: frozenset[str]) -> tuple[Fact, ...]:
    """The effective facts of these types (retractions applied) in valid-time order; a
    person's history holds none, and is not run through `effective` a second time."""
    if not any(f.event_type in types for f in facts):
        return ()
    mine = (f for f in facts if f.event_type in types or f.event_type == RETRACTION)
    return tuple(f for f in effective(mine).events if f.event_type in types)


def _capacity(key: str, events: Iterable[Fact]) -> list[CapacityRow]:
    """The location's places per span of days [from, to) with one capacity, as at the end of
    each day (the last version of the day counts; closed on the day of LocationClosed). A
    change to a location that is not open is ignored; opening an open one restates it."""
    rows: list[CapacityRow] = []
    current: tuple[str, str, int] | None = None
    since = date.min
    by_day: dict[date, list[Fact]] = {}
    for f in events:
        by_day.setdefault(f.occurred_at.date(), []).append(f)
    for day, facts in by_day.items():
        state = current
        for f in facts:
            data = f.data
            if f.event_type == EventType.LocationOpened:
                state = (
                    str(data["location_id"]),
                    str(data["location_type"]),
                    int(data["capacity"]),
                )
            elif f.event_type == EventType.LocationCapacityChanged and state is not None:
                state = (state[0], state[1], int(data["capacity"]))
            elif f.event_type == EventType.LocationClosed:
                state = None
        if state == current:
            continue
        if current is not None:
            rows.append(CapacityRow(key, len(rows), since, day, *current))
        current, since = state, day
    if current is not None:
        rows.append(CapacityRow(key, len(rows), since, None, *current))
    return rows


def _coa_stays(
    span: ReceptionSpan, case: CaseState | None, birth_year: int | None
) -> list[tuple[date, date | None, str, str, str, bool]]:
    """The days [from, to) the person counts in COA reception, split where what is counted
    about them at the end of the day changes: location type and id, resident status (of the
    span's case), child or not. Open at the end of day D when the span started before the next
    midnight and ended at or after it: from date(start) to date(end), exclusive."""
    start = span.started_at.date()
    end = span.ended_at.date() if span.ended_at is not None else None
    if end is not None and end <= start:
        return []

    def counted_as(day: date) -> tuple[str, str, str, bool]:
        place = (UNPLACED, UNPLACED)
        for p in span.placements:
            if p.at.date() > day:
                break
            place = (p.location_type, p.location_id)
        status = resident_status(case.status_at(end_of(day)) if case is not None else None)
        return (*place, status, is_minor(birth_year, day))

    days = {p.at.date() for p in span.placements}
    if case is not None:
        days |= {c.occurred_at.date() for c in case.history}
    if birth_year is not None:
        # Age counts by calendar year: a child becomes one (or an adult) on 1 January.
        days |= {date(y, 1, 1) for y in (birth_year, birth_year + 18) if 1 <= y <= 9999}
    stays: list[tuple[date, date | None, str, str, str, bool]] = []
    current_from, current = start, counted_as(start)
    for day in sorted(d for d in days if start < d and (end is None or d < end)):
        now = counted_as(day)
        if now != current:
            stays.append((current_from, day, *current))
            current_from, current = day, now
    stays.append((current_from, end, *current))
    return stays
