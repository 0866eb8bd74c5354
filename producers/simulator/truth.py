"""Ground truth: the figures the processors and projections must reproduce, computed from the
simulator's own effective facts (corrections applied, retractions removed, each fact once),
by the definitions in docs/simulator.md. Also the case-lifecycle fold those figures rest on.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from producers.identity import event_id
from producers.simulator import calendar as cal
from producers.simulator.calendar import DAY
from producers.simulator.facts import Fact
from producers.simulator.pact_truth import (
    DEPARTURE_TYPES,
    PERSON_TYPES,
    BorderClock,
    PactFigures,
)

STATES = (
    "REPORTED",
    "IN_SCREENING",
    "REGISTERED",
    "DUBLIN",
    "BORDER",
    "ACCELERATED",
    "IN_GENERAL",
    "IN_EXTENDED",
    "TRANSFER_DECIDED",
    "GRANTED_A",
    "GRANTED_B",
    "REJECTED",
    "IN_APPEAL",
    "RETURN_PHASE",
    "RETURN_BORDER",
    "DETAINED",
    "DEPARTED_INDEPENDENT",
    "DEPARTED_FORCED",
    "DEPARTED_DUBLIN",
    "UNSUPERVISED",
    "RELOCATED",
    "AWAITING_HOUSING",
    "HOUSED",
    "NATURALISED",
)
OUTCOMES = ("A", "B", "REJECTED", "INADMISSIBLE", "MANIFESTLY_UNFOUNDED")
TRACKS = ("DUBLIN", "SAFE_COUNTRY", "GENERAL", "EXTENDED", "BORDER", "NONE")
DEPARTURES = ("INDEPENDENT", "FORCED", "DUBLIN_TRANSFER", "UNSUPERVISED")
# DT&V's demonstrable departure: independent + forced, a Dublin transfer counted as forced.
DEMONSTRABLE = ("INDEPENDENT", "FORCED", "DUBLIN_TRANSFER")
INFLOW = ("FIRST", "REPEAT", "NAREIS")
LOCATION_TYPES = (
    "COL",
    "POL",
    "AZC",
    "KWV",
    "VBL",
    "GOL",
    "EBTL",
    "HTL",
    "NOODOPVANG",
    "CRISISNOODOPVANG",
    "UNPLACED",
)
NOT_IN_COA_FIGURE = ("NAREIZIGER", "REPEAT_APPLICANT")
UNPLACED = "UNPLACED"
LOCATION_EVENTS = ("LocationOpened", "LocationCapacityChanged", "LocationClosed")
# A resident's status from the state of their reception's case (docs/simulator.md).
RESIDENT_STATUS = {
    # Every state up to a decision (STATES lists them first), and an appeal.
    **dict.fromkeys((*STATES[: STATES.index("GRANTED_A")], "IN_APPEAL"), "IN_PROCEDURE"),
    **dict.fromkeys(
        ("GRANTED_A", "GRANTED_B", "AWAITING_HOUSING", "HOUSED", "NATURALISED"), "STATUS_HOLDER"
    ),
    **dict.fromkeys(("REJECTED", "RETURN_PHASE", "RETURN_BORDER", "DETAINED"), "REJECTED"),
}
UNKNOWN = "UNKNOWN"
RELOCATION_FIGURES = ("relocations", "resident_days", "child_relocations", "child_resident_days")
# Eurostat's age classes (lowest age, label), as the projections use them.
AGE_BANDS = ((65, "65+"), (35, "35-64"), (18, "18-34"), (14, "14-17"), (0, "0-13"))
# Track 4, the general procedure (AA) and its extension (VA): a decision there needs a lawyer.
TRACK_4 = ("GENERAL", "EXTENDED")
# The lifecycle's anomalies the ground truth carries (docs/simulator.md).
ANOMALIES = ("DECISION_WITHOUT_LEGAL_AID", "BORDER_PROCEDURE_EXCEEDED")
_TRACK_STATE = {
    "DUBLIN": "DUBLIN",
    "BORDER": "BORDER",
    "SAFE_COUNTRY": "ACCELERATED",
    "GENERAL": "IN_GENERAL",
    "EXTENDED": "IN_EXTENDED",
}


def next_state(state: str | None, type_: str, data: dict[str, Any]) -> str | None:
    """The case-lifecycle state after one effective event (None: the event changes nothing).
    The state depends on the event alone, so a late or misfit event never blocks the fold."""
    if type_ == "ArrivalReported":
        return "REPORTED" if state is None else None
    if type_ == "ScreeningStarted":
        return "IN_SCREENING"
    if type_ == "AsylumApplicationLodged":
        return "REGISTERED"
    if type_ == "TrackAssigned":
        return _TRACK_STATE[data["track"]]
    if type_ == "DecisionIssued":
        if data["outcome"] == "GRANTED":
            return "GRANTED_A" if data.get("status") == "A" else "GRANTED_B"
        return "REJECTED"
    if type_ in ("AppealLodged", "FurtherAppealLodged"):
        return "IN_APPEAL"
    if type_ in ("JudgmentIssued", "FinalJudgmentIssued"):
        if data["outcome"] == "UPHELD":
            return "IN_EXTENDED"
        return "RETURN_PHASE" if type_ == "FinalJudgmentIssued" else None
    if type_ in ("ReturnCaseOpened", "DetentionEnded", "PermitWithdrawn"):
        return "RETURN_PHASE"
    if type_ == "DetentionOrdered":
        return "DETAINED"
    if type_ == "DepartedIndependently":
        return "DEPARTED_INDEPENDENT"
    if type_ == "ForcedReturnExecuted":
        return "DEPARTED_DUBLIN" if data["destination"] == "DUBLIN" else "DEPARTED_FORCED"
    if type_ == "DepartedWithoutSupervision":
        return "UNSUPERVISED"
    if type_ == "LinkedToMunicipality":
        return "AWAITING_HOUSING"
    if type_ == "HousingAllocated":
        return "HOUSED"
    if type_ == "NaturalisationDecided" and data["outcome"] == "GRANTED":
        return "NATURALISED"
    return _pact_state(state, type_, data)


def _pact_state(state: str | None, type_: str, data: dict[str, Any]) -> str | None:
    """The Pact's transitions (from 12 June 2026). The border clock is not here: it moves a
    case at its deadline, before an event (ground_truth's case fold)."""
    if type_ == "TransferDecisionIssued":
        return "TRANSFER_DECIDED"
    if type_ == "ResponsibilityShifted":
        return "IN_GENERAL"
    if type_ == "ReturnBorderProcedureStarted":
        return "RETURN_BORDER"
    if type_ == "ReturnBorderProcedureEnded":
        return None if data["outcome"] == "DEPARTED" else "RETURN_PHASE"
    if type_ == "SolidarityRelocationTransferred":
        return "RELOCATED" if data["direction"] == "OUT_OF_NETHERLANDS" else None
    if (
        type_ == "EntryAuthorised"
        and data["ground"] == "BORDER_PROCEDURE_MAXIMUM_REACHED"
        and state == "BORDER"
    ):
        return "IN_GENERAL"
    return None


def _sorted_by_valid_time(facts: list[Fact]) -> list[Fact]:
    """Valid-time order; equal occurred_at is broken by event id (what processors see)."""
    facts.sort(key=lambda f: f.occ)
    for i in range(1, len(facts)):
        if facts[i].occ == facts[i - 1].occ:
            return sorted(facts, key=lambda f: (f.occ, event_id(f.org, f.ref)))
    return facts


def ground_truth(effective: Iterable[Fact], start: date, end: date) -> dict[str, Any]:
    """The ground-truth document (layout in docs/simulator.md)."""
    s = cal.ts_of(start)
    e = cal.ts_of(end + timedelta(days=1))
    months = [
        cal.month_key(cal.ts_of(m)) for m in cal.months_between(start, end + timedelta(days=1))
    ]
    month_ends = [
        cal.ts_of(cal.add_months(m, 1)) for m in cal.months_between(start, end + timedelta(days=1))
    ]
    ndays = (e - s) // DAY
    inflow = {m: dict.fromkeys(INFLOW, 0) for m in months}
    decisions = {m: {t: dict.fromkeys(OUTCOMES, 0) for t in TRACKS} for m in months}
    departures = {m: dict.fromkeys(DEPARTURES, 0) for m in months}
    anomalies = {m: dict.fromkeys(ANOMALIES, 0) for m in months}
    by_case: dict[str, list[Fact]] = defaultdict(list)
    identity: dict[str, Fact] = {}
    counted: list[Counted] = []
    applications: dict[str, list[int]] = defaultdict(list)
    by_person: dict[str, list[Fact]] = defaultdict(list)
    goo: dict[str, list[Fact]] = defaultdict(list)
    tasks: dict[tuple[str, str], int] = {}
    linked: dict[tuple[str, str], int] = defaultdict(int)
    housed: dict[tuple[str, str], int] = defaultdict(int)
    periods = [p for p, _ in cal.task_periods(start, end + timedelta(days=1))]
    locations: dict[str, list[Fact]] = defaultdict(list)
    pact = PactFigures(s, e)
    pact_persons: dict[str, list[Fact]] = defaultdict(list)
    for f in effective:
        t = f.type
        if t in LOCATION_EVENTS:
            locations[f.subject].append(f)
        if t in PERSON_TYPES:
            pact_persons[f.subject].append(f)
        elif t == "EurodacHitReceived":
            pact.eurodac_hit(f)
        if f.case_id is not None:
            by_case[f.case_id].append(f)
        if f.org == "COA" and f.person is not None:
            by_person[f.subject].append(f)
        if t == "IdentityRegistered":
            latest = identity.get(f.subject)
            if latest is None or (latest.occ, event_id(latest.org, latest.ref)) < (
                f.occ,
                event_id(f.org, f.ref),
            ):
                identity[f.subject] = f
        elif t == "AsylumApplicationLodged" and f.data["application_type"] != "NAREIS":
            applications[f.subject].append(f.occ)
        if t in ("ShelterPlacementStarted", "ShelterPlacementEnded"):
            goo[f.subject].append(f)
        elif t == "HousingTaskPublished":
            tasks[(f.data["municipality_code"], f.data["task_period"])] = f.data["task"]
        elif t == "LinkedToMunicipality":
            linked[(f.data["municipality_code"], f.data["task_period"])] += 1
        elif t == "HousingAllocated":
            housed[(f.data["municipality_code"], f.data["task_period"])] += 1
        if not s <= f.occ < e:
            continue
        if t == "AsylumApplicationLodged" and f.data["application_type"] != "NAREIS":
            inflow[cal.month_key(f.occ)][f.data["application_type"]] += 1
            counted.append(
                (
                    f.occ,
                    f.data["application_type"],
                    f.subject,
                    f.data.get("age_at_application"),
                    f.data["unaccompanied_minor"],
                )
            )
        elif t == "ArrivalReported" and f.data["applicant_group"] == "MVV_HOLDER":
            inflow[cal.month_key(f.occ)]["NAREIS"] += 1
            counted.append((f.occ, "NAREIS", f.subject, f.data.get("age_at_report"), False))
        elif t == "DepartedIndependently":
            departures[cal.month_key(f.occ)]["INDEPENDENT"] += 1
        elif t == "ForcedReturnExecuted":
            kind = "DUBLIN_TRANSFER" if f.data["destination"] == "DUBLIN" else "FORCED"
            departures[cal.month_key(f.occ)][kind] += 1
        elif t == "DepartedWithoutSupervision":
            departures[cal.month_key(f.occ)]["UNSUPERVISED"] += 1

    lifecycle = {m: dict.fromkeys(STATES, 0) for m in months}
    case_states: dict[str, list[tuple[int, str]]] = {}
    for case_id, case_facts in by_case.items():
        changes = case_states[case_id] = []
        ordered = _sorted_by_valid_time(case_facts)
        opened = any(
            f.type == "ArrivalReported" and f.data["applicant_group"] != "MVV_HOLDER"
            for f in ordered
        )
        track = "NONE"
        lawyers: set[str] = set()
        state: str | None = None
        clock = BorderClock(pact)
        k = 0
        for f in ordered:
            deadline = clock.passed(state, f.occ)
            if deadline is not None:
                # The border procedure's maximum passed: the case moved at the deadline.
                while k < len(month_ends) and deadline >= month_ends[k]:
                    if opened:
                        lifecycle[months[k]]["BORDER"] += 1
                    k += 1
                state = "IN_GENERAL"
                changes.append((deadline, state))
                clock.clock(deadline)
                if s <= deadline < e:
                    anomalies[cal.month_key(deadline)]["BORDER_PROCEDURE_EXCEEDED"] += 1
            while k < len(month_ends) and f.occ >= month_ends[k]:
                if opened and state is not None:
                    lifecycle[months[k]][state] += 1
                k += 1
            clock.observe(f)
            if state == "RETURN_BORDER" and f.type in DEPARTURE_TYPES:
                pact.border_return(f)
            if (
                state == "BORDER"
                and f.type == "EntryAuthorised"
                and f.data["ground"] == "BORDER_PROCEDURE_MAXIMUM_REACHED"
                and s <= f.occ < e
            ):
                anomalies[cal.month_key(f.occ)]["BORDER_PROCEDURE_EXCEEDED"] += 1
            if f.type == "TrackAssigned":
                track = f.data["track"]
            elif f.type == "LawyerAssigned":
                lawyers.add(f.data["assignment_id"])
            elif f.type == "LegalAidAssignmentEnded":
                lawyers.discard(f.data["assignment_id"])
            elif f.type == "DecisionIssued" and s <= f.occ < e:
                outcome = f.data["outcome"]
                key = (f.data.get("status") or "B") if outcome == "GRANTED" else outcome
                decisions[cal.month_key(f.occ)][track][key] += 1
                if track in TRACK_4 and not lawyers:
                    anomalies[cal.month_key(f.occ)]["DECISION_WITHOUT_LEGAL_AID"] += 1
            new = next_state(state, f.type, f.data)
            if new is not None:
                state = new
                changes.append((f.occ, new))
        while k < len(month_ends):
            if opened and state is not None:
                lifecycle[months[k]][state] += 1
            k += 1

    for person_facts in pact_persons.values():
        pact.person(_sorted_by_valid_time(person_facts))

    occupancy = {k: [0] * (ndays + 1) for k in LOCATION_TYPES}
    residents: dict[tuple[str, str], list[int]] = {}
    by_location: dict[str, list[int]] = {}
    child_days = [0] * (ndays + 1)
    moves: list[tuple[int, bool]] = []
    for subject, person_facts in by_person.items():
        stays, relocated = _stays(_sorted_by_valid_time(person_facts))
        birth_year = identity[subject].data["birth_year"] if subject in identity else None
        moves += [(occ, _minor(birth_year, occ)) for occ in relocated if s <= occ < e]
        for a, b, kind, location, reception_case in stays:
            _add_days(occupancy[kind], a, b, s, ndays)
            _add_days(by_location.setdefault(location, [0] * (ndays + 1)), a, b, s, ndays)
            if birth_year is not None:
                # A child in the calendar years in which the age reached is under 18.
                _add_days(
                    child_days,
                    max(a, cal.ts_of(date(birth_year, 1, 1))),
                    _earliest(b, cal.ts_of(date(birth_year + 18, 1, 1))),
                    s,
                    ndays,
                )
            for x, y, status in _by_status(a, b, case_states.get(reception_case or "", [])):
                cell = residents.setdefault((kind, status), [0] * (ndays + 1))
                _add_days(cell, x, y, s, ndays)
    places: dict[str, list[int]] = {}
    places_at: dict[str, list[int]] = {}
    for location_facts in locations.values():
        for a, b, location, kind, n in _capacity_spans(_sorted_by_valid_time(location_facts)):
            _add_days(places.setdefault(kind, [0] * (ndays + 1)), a, b, s, ndays, n=n)
            _add_days(places_at.setdefault(location, [0] * (ndays + 1)), a, b, s, ndays, n=n)
    goo_days = [0] * (ndays + 1)
    for person_facts in goo.values():
        opened_at: int | None = None
        for f in _sorted_by_valid_time(person_facts):
            if f.type == "ShelterPlacementStarted":
                opened_at = f.occ if opened_at is None else opened_at
            elif opened_at is not None:
                _add_days(goo_days, opened_at, f.occ, s, ndays)
                opened_at = None
        if opened_at is not None:
            _add_days(goo_days, opened_at, None, s, ndays)
    days = [cal.iso_date(s + i * DAY) for i in range(ndays)]
    levels = {k: list(itertools.accumulate(v))[:ndays] for k, v in occupancy.items()}
    coa: dict[str, dict[str, int]] = {}
    for i, day in enumerate(days):
        row = {k: levels[k][i] for k in LOCATION_TYPES if levels[k][i]}
        row["total"] = sum(row.values())
        coa[day] = row
    goo_levels = list(itertools.accumulate(goo_days))[:ndays]
    resident_levels = {k: list(itertools.accumulate(v))[:ndays] for k, v in residents.items()}
    coa_residents: dict[str, dict[str, dict[str, int]]] = {}
    for i, day in enumerate(days):
        cells: dict[str, dict[str, int]] = {}
        for (kind, status), level in sorted(resident_levels.items()):
            if level[i]:
                cells.setdefault(kind, {})[status] = level[i]
        coa_residents[day] = cells
    place_levels = {k: list(itertools.accumulate(v))[:ndays] for k, v in places.items()}
    capacity = {
        day: {k: v[i] for k, v in sorted(place_levels.items()) if v[i]}
        for i, day in enumerate(days)
    }
    at_month_end = [i for i, day in enumerate(days) if i + 1 == ndays or days[i + 1][8:] == "01"]
    persons_at = {k: list(itertools.accumulate(v))[:ndays] for k, v in by_location.items()}
    places_now = {k: list(itertools.accumulate(v))[:ndays] for k, v in places_at.items()}
    coa_locations: dict[str, dict[str, dict[str, int]]] = {}
    for i in at_month_end:
        cells = {}
        for location in sorted(set(persons_at) | set(places_now)):
            n = persons_at.get(location, [0] * ndays)[i]
            room = places_now.get(location, [0] * ndays)[i]
            if n or room:
                cells[location] = {"persons": n, "places": room}
        coa_locations[days[i]] = cells
    child_levels = list(itertools.accumulate(child_days))[:ndays]
    relocations: dict[str, dict[str, int]] = {}
    for i, day in enumerate(days):
        year = relocations.setdefault(day[:4], dict.fromkeys(RELOCATION_FIGURES, 0))
        year["resident_days"] += coa[day]["total"]
        year["child_resident_days"] += child_levels[i]
    for occ, minor in moves:
        year = relocations[cal.iso_date(occ)[:4]]
        year["relocations"] += 1
        year["child_relocations"] += minor
    housing: dict[str, dict[str, dict[str, int]]] = {}
    for muni, period in sorted(set(tasks) | set(linked) | set(housed)):
        if period in periods:
            housing.setdefault(muni, {})[period] = {
                "task": tasks.get((muni, period), 0),
                "linked": linked.get((muni, period), 0),
                "housed": housed.get((muni, period), 0),
            }
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "time_zone": "UTC",
        "inflow": inflow,
        "inflow_attributes": _inflow_attributes(counted, identity, months),
        "eurostat_applicants": _eurostat(applications, months, start, end),
        "decisions": decisions,
        "departures": departures,
        "demonstrable_departures": {
            m: sum(kinds[k] for k in DEMONSTRABLE) for m, kinds in departures.items()
        },
        "coa_occupancy": coa,
        "goo_occupancy": dict(zip(days, goo_levels, strict=True)),
        "coa_residents": coa_residents,
        "coa_capacity": capacity,
        "coa_locations": coa_locations,
        "relocations": relocations,
        "housing": housing,
        "lifecycle": lifecycle,
        "anomalies": anomalies,
        **pact.document(),
    }


def age_band(age: int | None, birth_year: int | None, occ: int, unaccompanied: bool) -> str:
    """Eurostat's age class: of the age on the event when it carries one, else of its calendar
    year minus the birth year; an unaccompanied minor is under 18 (so never 18+)."""
    if age is None:
        if birth_year is None:
            return UNKNOWN
        age = cal.date_of(occ).year - birth_year
        if unaccompanied and age >= 18:
            return "14-17"
    return next((label for low, label in AGE_BANDS if age >= low), UNKNOWN)


def _attributes(
    registration: Fact | None, occ: int, age: int | None, unaccompanied: bool
) -> tuple[str, str, str]:
    """Nationality, age band at `occ` (age_band) and sex; without a registration the band
    still comes from an age on the event."""
    if registration is None:
        return UNKNOWN, age_band(age, None, occ, unaccompanied), UNKNOWN
    data = registration.data
    band = age_band(age, data["birth_year"], occ, unaccompanied)
    return data["nationality"], band, data["sex"]


Counted = tuple[int, str, str, int | None, bool]
"""(instant, inflow kind, subject, age on the event if carried, unaccompanied minor)."""


def _inflow_attributes(
    counted: list[Counted], identity: dict[str, Fact], months: list[str]
) -> dict[str, dict[str, dict[str, dict[str, dict[str, int]]]]]:
    """month -> kind -> nationality -> age band -> sex -> n, for the inflow counted above."""
    out: dict[str, dict[str, dict[str, dict[str, dict[str, int]]]]] = {m: {} for m in months}
    for occ, kind, subject, age, unaccompanied in counted:
        nationality, band, sex = _attributes(identity.get(subject), occ, age, unaccompanied)
        cell = out[cal.month_key(occ)].setdefault(kind, {}).setdefault(nationality, {})
        cell.setdefault(band, {}).setdefault(sex, 0)
        cell[band][sex] += 1
    return out


def _eurostat(
    applications: dict[str, list[int]], months: list[str], start: date, end: date
) -> dict[str, dict[str, dict[str, int]]]:
    """Persons with a FIRST or REPEAT application, once per month of the period and once per
    calendar year it touches (the whole year as the log holds it, warm-up included);
    FIRST_TIME when the person's first application falls in that month or year."""
    years = [str(y) for y in range(start.year, end.year + 1)]
    out: dict[str, dict[str, dict[str, int]]] = {
        "month": {m: {"FIRST_TIME": 0, "SUBSEQUENT": 0} for m in months},
        "year": {y: {"FIRST_TIME": 0, "SUBSEQUENT": 0} for y in years},
    }
    for times in applications.values():
        first = min(times)
        for kind, period_of in (
            ("month", cal.month_key),
            ("year", lambda ts: cal.month_key(ts)[:4]),
        ):
            for period in {period_of(ts) for ts in times}:
                if period in out[kind]:
                    first_time = period_of(first) == period
                    out[kind][period]["FIRST_TIME" if first_time else "SUBSEQUENT"] += 1
    return out


Stay = tuple[int, int | None, str, str, str | None]


def _stays(facts: list[Fact]) -> tuple[list[Stay], list[int]]:
    """(from, until, location type, location id, the reception's case) while in COA reception
    counted in the COA figure; and the times of the relocations in those stays."""
    out: list[Stay] = []
    moved: list[int] = []
    in_figure = False
    since = 0
    kind = location = UNPLACED
    case_id: str | None = None
    inside = False
    for f in facts:
        t = f.type
        if t == "ReceptionStarted":
            if inside and in_figure:
                out.append((since, f.occ, kind, location, case_id))
            inside = True
            in_figure = f.data["reception_group"] not in NOT_IN_COA_FIGURE
            since, kind, location, case_id = f.occ, UNPLACED, UNPLACED, f.case_id
        elif not inside:
            continue
        elif t in ("PlacedAtLocation", "Relocated"):
            if in_figure:
                out.append((since, f.occ, kind, location, case_id))
                if t == "Relocated":
                    moved.append(f.occ)
            since = f.occ
            kind = f.data.get("location_type") or f.data["to_location_type"]
            location = f.data.get("location_id") or f.data["to_location_id"]
        elif t == "ReceptionEnded":
            if in_figure:
                out.append((since, f.occ, kind, location, case_id))
            inside = False
    if inside and in_figure:
        out.append((since, None, kind, location, case_id))
    return out, moved


def _by_status(
    a: int, b: int | None, changes: list[tuple[int, str]]
) -> list[tuple[int, int | None, str]]:
    """A stay [a, b) cut where its case's state moves to another resident status."""
    status = "OTHER"
    for occ, state in changes:
        if occ >= a:
            break
        status = RESIDENT_STATUS.get(state, "OTHER")
    out: list[tuple[int, int | None, str]] = []
    since = a
    for occ, state in changes:
        if occ < a or (b is not None and occ >= b):
            continue
        new = RESIDENT_STATUS.get(state, "OTHER")
        if new != status:
            out.append((since, occ, status))
            since, status = occ, new
    out.append((since, b, status))
    return out


def _capacity_spans(facts: list[Fact]) -> list[tuple[int, int | None, str, str, int]]:
    """(from, until, location id, type, places) while the location is open: opened with its
    capacity, changed while open, closed; an opening of an open location restates it."""
    out: list[tuple[int, int | None, str, str, int]] = []
    current: tuple[str, str, int] | None = None
    since = 0
    for f in facts:
        if f.type == "LocationOpened":
            new = (f.data["location_id"], f.data["location_type"], f.data["capacity"])
        elif f.type == "LocationCapacityChanged" and current is not None:
            new = (current[0], current[1], f.data["capacity"])
        elif f.type == "LocationClosed":
            new = None
        else:
            continue
        if current is not None:
            out.append((since, f.occ, *current))
        current, since = new, f.occ
    if current is not None:
        out.append((since, None, *current))
    return out


def _minor(birth_year: int | None, occ: int) -> bool:
    """Under 18 by the age reached in the calendar year of `occ` (as the age bands)."""
    return birth_year is not None and 0 <= cal.date_of(occ).year - birth_year < 18


def _earliest(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)


def _add_days(diff: list[int], a: int, b: int | None, s: int, ndays: int, *, n: int = 1) -> None:
    """Count a stay [a, b) (n persons, or places) on every day D with a < end of D <= b (end =
    next midnight UTC): the state on day D is the state after every event before D ended."""
    first = max(0, (a - s) // DAY)
    last = ndays - 1 if b is None else min(ndays - 1, (b - s) // DAY - 1)
    if first <= last:
        diff[first] += n
        diff[last + 1] -= n
