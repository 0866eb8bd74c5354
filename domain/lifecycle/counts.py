"""The statistical definitions of docs/simulator.md ("Ground truth") over folded persons: what
the projections publish and what the end-to-end test compares with the simulator's truth.
Months and days are UTC; "at the end of day D" means after the events with occurred_at before
the next midnight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from domain.facts import Fact
from domain.lifecycle.case import GRANTED_PATH, IN_PROCEDURE, CaseStatus
from domain.lifecycle.effective import effective
from domain.lifecycle.person import PersonState
from schemas.event_types import EventType

# COA occupancy excludes nareizigers and repeat applicants (domain reference §5).
COA_EXCLUDED_GROUPS = frozenset({"NAREIZIGER", "REPEAT_APPLICANT"})
UNPLACED = "UNPLACED"
INFLOW_KINDS = ("FIRST", "REPEAT", "NAREIS")
DECISION_OUTCOMES = ("A", "B", "REJECTED", "INADMISSIBLE", "MANIFESTLY_UNFOUNDED")
DEPARTURE_KINDS = ("INDEPENDENT", "FORCED", "DUBLIN_TRANSFER", "UNSUPERVISED")
TRACKS = ("DUBLIN", "SAFE_COUNTRY", "GENERAL", "EXTENDED", "BORDER", "NONE")
# A person attribute the registration did not give: counted under this value, never dropped.
UNKNOWN = "UNKNOWN"
# Eurostat's age classes for asylum applicants (migr_asyappctzm), as CBS also publishes them:
# (lowest age, label); each band runs up to the next one's lowest age.
AGE_BANDS = ((0, "0-13"), (14, "14-17"), (18, "18-34"), (35, "35-64"), (65, "65+"))


# A COA resident's status, from the state of the case their reception was started for
# (docs/projections.md): in procedure from the report at Ter Apel (COA receives asylum seekers
# from then; the application is signed at I&R days later) until the decision, and again while
# an appeal is pending; a status holder from a grant on; rejected from a negative decision
# (rejected, inadmissible, manifestly unfounded) with no appeal pending, through the return
# phase. Everything else (no case, a case that departed while reception stayed open) is OTHER.
IN_PROCEDURE_STATUS, STATUS_HOLDER, REJECTED, OTHER = (
    "IN_PROCEDURE",
    "STATUS_HOLDER",
    "REJECTED",
    "OTHER",
)
RESIDENT_STATUSES = (IN_PROCEDURE_STATUS, STATUS_HOLDER, REJECTED, OTHER)
_S = CaseStatus
_RESIDENT_STATUS = {
    **dict.fromkeys(
        (
            _S.REPORTED,
            _S.IN_SCREENING,
            _S.REGISTERED,
            _S.IN_APPEAL,
            _S.TRANSFER_DECIDED,
            *IN_PROCEDURE,
        ),
        IN_PROCEDURE_STATUS,
    ),
    **dict.fromkeys(GRANTED_PATH, STATUS_HOLDER),
    **dict.fromkeys((_S.REJECTED, _S.RETURN_PHASE, _S.RETURN_BORDER, _S.DETAINED), REJECTED),
}


def resident_status(case_status: CaseStatus | str | None) -> str:
    """The resident status of a person whose reception's case is in `case_status`."""
    if case_status is None:
        return OTHER
    return _RESIDENT_STATUS.get(CaseStatus(case_status), OTHER)


def is_minor(birth_year: int | None, on: date) -> bool:
    """Under 18 on `on` by the age reached in that calendar year (as the age bands): the one
    rule for a child's relocations and a child's days in reception alike."""
    return age_band(birth_year, on) in ("0-13", "14-17")


def age_band(birth_year: int | None, on: date) -> str:
    """The age band on day `on` from the birth year alone: the age reached in that calendar
    year (year of `on` minus birth year). Figures defined by the age on an event's day use
    `band_of_age` with the age the event carries, when it does."""
    if birth_year is None or on.year < birth_year:
        return UNKNOWN
    return band_of_age(on.year - birth_year)


def band_of_age(age: int) -> str:
    return next(label for low, label in reversed(AGE_BANDS) if age >= low)


MINOR_BANDS = frozenset({"0-13", "14-17"})


def person_attributes(
    person: PersonState,
    on: date,
    *,
    age: int | None = None,
    unaccompanied_minor: bool = False,
) -> tuple[str, str, str]:
    """Nationality, age band and sex, from the latest effective registration. The band is
    that of `age` (the age on the event's day, AsylumApplicationLodged v2 / ArrivalReported
    v2) when given, else of the calendar year of `on`. An unaccompanied minor is under 18 by
    definition (Eurostat), so the calendar-year fallback never puts one in an adult band."""
    identity = person.identity
    nationality = identity.nationality if identity is not None else None
    sex = identity.sex if identity is not None else None
    if age is not None:
        band = band_of_age(age)
    else:
        band = age_band(identity.birth_year if identity is not None else None, on)
    if unaccompanied_minor and band not in MINOR_BANDS and band != UNKNOWN:
        band = "14-17"
    return nationality or UNKNOWN, band, sex or UNKNOWN


def end_of(day: date) -> datetime:
    """The first instant after `day` (midnight UTC, exclusive)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def case_state_counts(persons: Iterable[PersonState], at: datetime) -> dict[str, int]:
    """Asylum cases (an ArrivalReported other than MVV_HOLDER before `at`) per state, folded
    over their events before `at`; every state is listed, zeros included."""
    counts = dict.fromkeys((s.value for s in CaseStatus), 0)
    for person in persons:
        asylum = {
            a.case_id
            for a in person.arrivals
            if a.at < at and a.applicant_group != "MVV_HOLDER" and a.case_id is not None
        }
        for case in person.cases:
            if case.case_id in asylum:
                status = case.status_at(at)
                if status is not None:
                    counts[status.value] += 1
    return counts


def coa_occupancy(persons: Iterable[PersonState], day: date) -> dict[str, int]:
    """Persons in COA reception at the end of `day` by location type (UNPLACED before the first
    placement), plus `total`; types without persons are left out."""
    t = end_of(day)
    counts: Counter[str] = Counter()
    for person in persons:
        for span in person.reception.spans:
            if span.group not in COA_EXCLUDED_GROUPS and span.open_at(t):
                counts[span.location_type_at(t) or UNPLACED] += 1
    out = dict(sorted(counts.items()))
    out["total"] = sum(counts.values())
    return out


def goo_occupancy(persons: Iterable[PersonState], day: date) -> int:
    """Persons in municipal shelter (GOO) at the end of `day`."""
    t = end_of(day)
    return sum(1 for person in persons if any(s.open_at(t) for s in person.protection.spans))


def inflow(persons: Iterable[PersonState], month: str) -> dict[str, int]:
    """FIRST / REPEAT applications lodged in `month` (YYYY-MM); NAREIS = MVV holders arriving
    in it (CBS counts nareizigers on arrival)."""
    counts = dict.fromkeys(INFLOW_KINDS, 0)
    for person in persons:
        for app in person.applications:
            if app.application_type in ("FIRST", "REPEAT") and month_of(app.at) == month:
                counts[app.application_type] += 1
        for arrival in person.arrivals:
            if arrival.applicant_group == "MVV_HOLDER" and month_of(arrival.at) == month:
                counts["NAREIS"] += 1
    return counts


def decisions(persons: Iterable[PersonState], month: str) -> dict[str, dict[str, int]]:
    """Decisions in `month` by track (of the case's last TrackAssigned before it, NONE) and
    outcome (GRANTED split into A / B; B when no status); every track and outcome is listed."""
    out = {track: dict.fromkeys(DECISION_OUTCOMES, 0) for track in TRACKS}
    for person in persons:
        for d in person.decisions:
            if month_of(d.at) != month:
                continue
            outcome = ("A" if d.status == "A" else "B") if d.outcome == "GRANTED" else d.outcome
            row = out.setdefault(d.track, dict.fromkeys(DECISION_OUTCOMES, 0))
            row[outcome] = row.get(outcome, 0) + 1
    return out


def departures(persons: Iterable[PersonState], month: str) -> dict[str, int]:
    counts = dict.fromkeys(DEPARTURE_KINDS, 0)
    for person in persons:
        for d in person.departures:
            if month_of(d.at) == month:
                counts[d.kind] += 1
    return counts


def anomalies(persons: Iterable[PersonState], month: str, kinds: Iterable[str]) -> dict[str, int]:
    """Anomalies of the given kinds that occurred in `month` (the ground truth carries some
    kinds, not every one: noise also makes anomalies the simulator does not count)."""
    counts = dict.fromkeys(kinds, 0)
    for person in persons:
        for a in person.anomalies:
            if a.kind in counts and month_of(a.occurred_at) == month:
                counts[a.kind] += 1
    return counts


def housing_tasks(facts: Iterable[Fact]) -> dict[tuple[str, str], int]:
    """(municipality, task period) -> task, from the effective HousingTaskPublished facts."""
    tasks: dict[tuple[str, str], int] = {}
    for f in effective(f for f in facts if f.event_type == EventType.HousingTaskPublished).events:
        tasks[(str(f.data["municipality_code"]), str(f.data["task_period"]))] = int(f.data["task"])
    return tasks


def task_periods(start: date, end: date) -> list[str]:
    """The half-year task periods (e.g. 2026-I) overlapping start..end (inclusive days)."""
    out = []
    year, half = start.year, 1 if start.month <= 6 else 2
    while (year, half) <= (end.year, 1 if end.month <= 6 else 2):
        out.append(f"{year}-{'I' if half == 1 else 'II'}")
        year, half = (year, 2) if half == 1 else (year + 1, 1)
    return out


def housing(
    persons: Iterable[PersonState],
    tasks: Mapping[tuple[str, str], int],
    start: date,
    end: date,
) -> dict[str, dict[str, dict[str, int]]]:
    """Per municipality and task period overlapping start..end: the task, and the links and
    housings with that municipality and period whose valid time is before the end of `end`."""
    periods = set(task_periods(start, end))
    cut = end_of(end)
    out: dict[str, dict[str, dict[str, int]]] = {}

    def row(municipality: str, period: str) -> dict[str, int]:
        by_period = out.setdefault(municipality, {})
        return by_period.setdefault(period, {"task": 0, "linked": 0, "housed": 0})

    for (municipality, period), task in tasks.items():
        if period in periods:
            row(municipality, period)["task"] = task
    for person in persons:
        for step in person.housing:
            if step.task_period in periods and step.at < cut:
                key = "linked" if step.step == "LINKED" else "housed"
                row(step.municipality_code, step.task_period)[key] += 1
    return {m: dict(sorted(p.items())) for m, p in sorted(out.items())}
