"""The lifecycle fold of one person: effective events in valid-time order, folded into the
case lifecycles and the parallel ones (reception, nareis, temporary protection, guardianship).
Pure and cheap, so the stream processor refolds a person's whole history on every new fact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from domain.facts import Fact
from domain.lifecycle import case as case_mod
from domain.lifecycle.anomalies import Anomaly, AnomalyKind
from domain.lifecycle.case import (
    CASE_EVENTS,
    GONE,
    Application,
    Arrival,
    CaseBuilder,
    CaseState,
    Decision,
    Departure,
    HousingStep,
)
from domain.lifecycle.changes import Log, StateChange
from domain.lifecycle.effective import effective
from domain.lifecycle.guardianship import GuardianshipBuilder, GuardianshipState
from domain.lifecycle.nareis import NareisBuilder, NareisState, nareis_step
from domain.lifecycle.pact import PACT_TYPES, PactBuilder, PactState
from domain.lifecycle.protection import ProtectionBuilder, ProtectionState
from domain.lifecycle.reception import ReceptionBuilder, ReceptionState
from domain.lifecycle.serial import from_plain
from domain.routes import ROUTES, Collect, Handler, Route
from schemas.event_types import EventType

# A type the contract does not know cannot pass the gate; should one be stored, it is folded as
# a case event, as before the route table existed.
_UNROUTED = Route(Handler.CASE)


@dataclass(frozen=True, slots=True)
class Identity:
    """The person's base data from AVIM's registration (IdentityRegistered); None where the
    registration left a field out."""

    nationality: str | None
    birth_year: int | None
    sex: str | None


@dataclass(frozen=True, slots=True)
class PersonState:
    person_key: str
    cases: tuple[CaseState, ...]
    """In the order they were opened (valid time of their first event)."""
    reception: ReceptionState
    nareis: tuple[NareisState, ...]
    protection: ProtectionState
    guardianship: GuardianshipState
    anomalies: tuple[Anomaly, ...]
    changes: tuple[StateChange, ...]
    """Every state change of every lifecycle, in fold order."""
    event_ids: tuple[str, ...]
    """The effective events, in fold order."""
    arrivals: tuple[Arrival, ...]
    applications: tuple[Application, ...]
    decisions: tuple[Decision, ...]
    departures: tuple[Departure, ...]
    housing: tuple[HousingStep, ...]
    identity: Identity | None = None
    """From the latest effective IdentityRegistered (valid time); None before any. Last with
    a default: states stored before it existed still load."""
    pact: PactState = field(default_factory=PactState)
    """The EU Migration Pact's procedures (screening, Eurodac, AMMR, solidarity)."""

    def case(self, case_id: str) -> CaseState | None:
        return next((c for c in self.cases if c.case_id == case_id), None)

    def to_json(self) -> str:
        # orjson writes the frozen dataclasses as to_plain would (tested), ~5x faster: the
        # processors serialise every touched person on every batch.
        return orjson.dumps(self, option=orjson.OPT_NON_STR_KEYS).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> PersonState:
        state: PersonState = from_plain(cls, orjson.loads(text))
        return state


def fold(facts: Iterable[Fact]) -> PersonState:
    """A person's state from every fact delivered about them, in any order."""
    facts = list(facts)
    eff = effective(facts)
    return _fold(_person_key(facts), eff.events, eff.anomalies, None)


def state_at(facts: Iterable[Fact], t: datetime) -> PersonState:
    """The state as of valid time t: the effective events with occurred_at < t."""
    facts = list(facts)
    eff = effective(facts)
    # The border clock runs on the events' own time: it has passed a deadline before t when
    # some event of the person (before t or after it) is later than the deadline, as in the
    # whole fold, so state_at(t) agrees with the whole fold's history at t.
    latest = max((e.occurred_at for e in eff.events), default=t)
    return _fold(
        _person_key(facts),
        tuple(e for e in eff.events if e.occurred_at < t),
        tuple(a for a in eff.anomalies if a.occurred_at < t),
        min(t, latest),
    )


def _person_key(facts: list[Fact]) -> str:
    return min((f.person_key for f in facts), default="")


class _Fold:
    """The mutable state of one fold; `freeze` gives the PersonState."""

    def __init__(self) -> None:
        self.log = Log()
        self.cases: dict[str, CaseBuilder] = {}
        self.nareis: dict[str, NareisBuilder] = {}
        self.reception = ReceptionBuilder()
        self.protection = ProtectionBuilder()
        self.guardianship = GuardianshipBuilder()
        self.arrivals: list[Arrival] = []
        self.applications: list[Application] = []
        self.decisions: list[Decision] = []
        self.departures: list[Departure] = []
        self.housing: list[HousingStep] = []
        self.identity: Identity | None = None
        self.pact = PactBuilder()

    def step(self, fact: Fact) -> None:
        etype = fact.event_type
        if etype == EventType.IdentityRegistered:
            self.identity = _identity(fact)
        if etype in PACT_TYPES:
            self.pact.apply(fact)
        match ROUTES.get(etype, _UNROUTED).handler:
            case Handler.CASE:
                self.case_step(fact)
            case Handler.RECEPTION:
                self.reception.apply(fact, self.log)
            case Handler.PROTECTION:
                self.protection.apply(fact, self.log)
            case Handler.GUARDIANSHIP:
                self.guardianship.apply(fact, self.log)
            case Handler.PERSON | Handler.SUBJECT | Handler.CORRECTION | Handler.IGNORED:
                pass

    def case_step(self, fact: Fact) -> None:
        etype = fact.event_type
        case_id = fact.case_id
        if case_id is None and self.cases:
            # No case on the fact: it belongs to the case most recently opened before it.
            case_id = next(reversed(self.cases))
        case: CaseBuilder | None = None
        if case_id is not None:
            case = self.cases.get(case_id)
            if case is None:
                case = self.cases[case_id] = CaseBuilder(case_id, fact.occurred_at)
        elif etype in CASE_EVENTS:
            self.log.anomalies.append(
                Anomaly(
                    AnomalyKind.EVENT_WITHOUT_CASE, fact.event_id, fact.occurred_at, None, etype
                )
            )
        self.collect(fact, case)
        if case is None:
            return
        case.apply(fact, self.log)
        step = nareis_step(fact)
        if step is not None:
            nareis = self.nareis.get(case.case_id)
            if nareis is None:
                nareis = self.nareis[case.case_id] = NareisBuilder(case.case_id)
            nareis.apply(fact, step, self.log)

    def collect(self, fact: Fact, case: CaseBuilder | None) -> None:
        """The facts the projections count, whatever state the case is in."""
        case_id = None if case is None else case.case_id
        match ROUTES.get(fact.event_type, _UNROUTED).collect:
            case Collect.ARRIVAL:
                self.arrivals.append(case_mod.arrival(fact, case_id))
            case Collect.APPLICATION:
                self.applications.append(case_mod.application(fact, case_id))
            case Collect.DECISION:
                self.decisions.append(case_mod.decision(fact, case))
            case Collect.DEPARTURE:
                self.departures.append(case_mod.departure(fact, case))
            case Collect.HOUSING_STEP:
                self.housing.append(case_mod.housing_step(fact, case_id))

    def ghost_occupancy(self) -> None:
        """Reception still open while the person's latest case has departed."""
        if not self.reception.is_open or not self.cases:
            return
        latest = self.cases[next(reversed(self.cases))]
        gone = latest.gone_by
        if latest.status in GONE and gone is not None:
            self.log.anomalies.append(
                Anomaly(
                    AnomalyKind.RECEPTION_AFTER_DEPARTURE,
                    gone.event_id,
                    gone.occurred_at,
                    latest.case_id,
                    f"reception open after {gone.event_type}",
                )
            )


def _identity(fact: Fact) -> Identity:
    nationality, birth_year, sex = (fact.data.get(k) for k in ("nationality", "birth_year", "sex"))
    return Identity(
        None if nationality is None else str(nationality),
        None if birth_year is None else int(birth_year),
        None if sex is None else str(sex),
    )


def _fold(
    person_key: str,
    events: tuple[Fact, ...],
    anomalies: tuple[Anomaly, ...],
    horizon: datetime | None,
) -> PersonState:
    run = _Fold()
    for fact in events:
        run.step(fact)
    if horizon is not None:
        for case in run.cases.values():
            case.tick(horizon, run.log)
    run.ghost_occupancy()
    return _freeze(run, person_key, events, anomalies)


def states_through(person_key: str, events: Sequence[Fact]) -> Iterator[PersonState]:
    """The state before the first of `events` (effective events in fold order) and after each
    of them, in one pass: what `fold` of each prefix gives, except the checks made at the end of
    a whole history (a reception still open after departure); the distribution decision reads
    these states (domain.distribution)."""
    run = _Fold()
    yield _freeze(run, person_key, (), ())
    for i, fact in enumerate(events):
        run.step(fact)
        yield _freeze(run, person_key, tuple(events[: i + 1]), ())


def _freeze(
    run: _Fold, person_key: str, events: tuple[Fact, ...], anomalies: tuple[Anomaly, ...]
) -> PersonState:
    all_anomalies = sorted(
        (*anomalies, *run.log.anomalies),
        key=lambda a: (a.occurred_at, a.kind, a.event_id, a.detail),
    )
    return PersonState(
        person_key=person_key,
        cases=tuple(c.freeze() for c in run.cases.values()),
        reception=run.reception.freeze(),
        nareis=tuple(n.freeze() for n in run.nareis.values()),
        protection=run.protection.freeze(),
        guardianship=run.guardianship.freeze(),
        anomalies=tuple(all_anomalies),
        changes=tuple(run.log.changes),
        event_ids=tuple(e.event_id for e in events),
        arrivals=tuple(run.arrivals),
        applications=tuple(run.applications),
        decisions=tuple(run.decisions),
        departures=tuple(run.departures),
        housing=tuple(run.housing),
        identity=run.identity,
        pact=run.pact.freeze(),
    )
