"""The case lifecycle (per case id), as docs/simulator.md defines it for the ground truth: the
new state depends on the event alone, so a misfit never blocks the fold; the fold records it as
an anomaly against the transitions of reference/events.md. Also collects the case facts that
the projections count (arrivals, applications, decisions, departures, housing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from domain.facts import Fact
from domain.lifecycle.anomalies import Anomaly, AnomalyKind
from domain.lifecycle.changes import Lifecycle, Log, StateChange
from domain.routes import NEEDS_CASE, Collect, collecting
from schemas.event_types import EventType


class CaseStatus(StrEnum):
    REPORTED = "REPORTED"
    IN_SCREENING = "IN_SCREENING"
    REGISTERED = "REGISTERED"
    DUBLIN = "DUBLIN"
    TRANSFER_DECIDED = "TRANSFER_DECIDED"
    """AMMR art. 42: the transfer to the member state responsible is decided."""
    BORDER = "BORDER"
    ACCELERATED = "ACCELERATED"
    IN_GENERAL = "IN_GENERAL"
    IN_EXTENDED = "IN_EXTENDED"
    GRANTED_A = "GRANTED_A"
    GRANTED_B = "GRANTED_B"
    REJECTED = "REJECTED"
    IN_APPEAL = "IN_APPEAL"
    RETURN_PHASE = "RETURN_PHASE"
    RETURN_BORDER = "RETURN_BORDER"
    """In the return border procedure (Regulation 2024/1349)."""
    DETAINED = "DETAINED"
    DEPARTED_INDEPENDENT = "DEPARTED_INDEPENDENT"
    DEPARTED_FORCED = "DEPARTED_FORCED"
    DEPARTED_DUBLIN = "DEPARTED_DUBLIN"
    RELOCATED = "RELOCATED"
    """Left for another member state under solidarity relocation (AMMR art. 67-68)."""
    UNSUPERVISED = "UNSUPERVISED"
    AWAITING_HOUSING = "AWAITING_HOUSING"
    HOUSED = "HOUSED"
    NATURALISED = "NATURALISED"


class CaseKind(StrEnum):
    ASYLUM = "ASYLUM"
    NAREIS = "NAREIS"
    UNKNOWN = "UNKNOWN"


S = CaseStatus
TRACK_STATUS = {
    "DUBLIN": S.DUBLIN,
    "BORDER": S.BORDER,
    "SAFE_COUNTRY": S.ACCELERATED,
    "GENERAL": S.IN_GENERAL,
    "EXTENDED": S.IN_EXTENDED,
}
IN_PROCEDURE = frozenset({S.DUBLIN, S.BORDER, S.ACCELERATED, S.IN_GENERAL, S.IN_EXTENDED})
# Track 4, the general procedure (AA) and its extension (VA): RVR assigns every applicant there
# a lawyer before the procedure starts, so a decision there without one is an anomaly.
TRACK_4 = frozenset({"GENERAL", "EXTENDED"})
GRANTED_PATH = frozenset({S.GRANTED_A, S.GRANTED_B, S.AWAITING_HOUSING, S.HOUSED, S.NATURALISED})
DEPARTED = frozenset({S.DEPARTED_INDEPENDENT, S.DEPARTED_FORCED, S.DEPARTED_DUBLIN, S.RELOCATED})
GONE = DEPARTED | {S.UNSUPERVISED}
DEPARTURE_TYPES = collecting(Collect.DEPARTURE)
HOUSING_TYPES = collecting(Collect.HOUSING_STEP)
# The asylum border procedure's maximum: 12 weeks from registration (APR 2024/1348 art. 51(2)).
BORDER_MAXIMUM = timedelta(weeks=12)


def next_status(event_type: str, data: Mapping[str, Any]) -> CaseStatus | None:
    """The state after an event (the ground-truth table); None: the event changes nothing."""
    match event_type:
        case EventType.ArrivalReported:
            return S.REPORTED
        case EventType.ScreeningStarted:
            return S.IN_SCREENING
        case EventType.AsylumApplicationLodged:
            return S.REGISTERED
        case EventType.TrackAssigned:
            return TRACK_STATUS.get(str(data.get("track")))
        case EventType.DecisionIssued:
            if data.get("outcome") == "GRANTED":
                return S.GRANTED_A if data.get("status") == "A" else S.GRANTED_B
            return S.REJECTED
        case EventType.AppealLodged | EventType.FurtherAppealLodged:
            return S.IN_APPEAL
        case EventType.JudgmentIssued:
            return S.IN_EXTENDED if data.get("outcome") == "UPHELD" else None
        case EventType.FinalJudgmentIssued:
            return S.IN_EXTENDED if data.get("outcome") == "UPHELD" else S.RETURN_PHASE
        case EventType.ReturnCaseOpened | EventType.DetentionEnded | EventType.PermitWithdrawn:
            return S.RETURN_PHASE
        case EventType.DetentionOrdered:
            return S.DETAINED
        case EventType.DepartedIndependently:
            return S.DEPARTED_INDEPENDENT
        case EventType.ForcedReturnExecuted:
            return S.DEPARTED_DUBLIN if data.get("destination") == "DUBLIN" else S.DEPARTED_FORCED
        case EventType.DepartedWithoutSupervision:
            return S.UNSUPERVISED
        case EventType.LinkedToMunicipality:
            return S.AWAITING_HOUSING
        case EventType.HousingAllocated:
            return S.HOUSED
        case EventType.NaturalisationDecided:
            return S.NATURALISED if data.get("outcome") == "GRANTED" else None
        case EventType.TransferDecisionIssued:
            return S.TRANSFER_DECIDED
        case EventType.ResponsibilityShifted:
            return S.IN_GENERAL
        case EventType.ReturnBorderProcedureStarted:
            return S.RETURN_BORDER
        case EventType.ReturnBorderProcedureEnded:
            return None if data.get("outcome") == "DEPARTED" else S.RETURN_PHASE
        case EventType.SolidarityRelocationTransferred:
            return S.RELOCATED if data.get("direction") == "OUT_OF_NETHERLANDS" else None
    return None


_RETURNABLE = frozenset({S.REJECTED, S.IN_APPEAL, S.RETURN_PHASE, S.RETURN_BORDER, S.DETAINED})
# The states an event is expected in (reference/events.md, with the simulator's deviations);
# anything else is an UNEXPECTED_TRANSITION. None = the case has no state yet.
EXPECTED_FROM: dict[str, frozenset[CaseStatus | None]] = {
    EventType.ArrivalReported: frozenset({None}),
    EventType.ScreeningStarted: frozenset({S.REPORTED}),
    EventType.AsylumApplicationLodged: frozenset({S.REPORTED, S.IN_SCREENING}),
    EventType.TrackAssigned: frozenset({S.REGISTERED}) | IN_PROCEDURE,
    EventType.DecisionIssued: IN_PROCEDURE,
    EventType.AppealLodged: frozenset({S.REJECTED, S.TRANSFER_DECIDED}),
    EventType.FurtherAppealLodged: frozenset({S.IN_APPEAL}),
    EventType.JudgmentIssued: frozenset({S.IN_APPEAL}),
    EventType.FinalJudgmentIssued: frozenset({S.IN_APPEAL}),
    EventType.ReturnCaseOpened: _RETURNABLE,
    EventType.DetentionOrdered: _RETURNABLE,
    EventType.DetentionEnded: frozenset({S.DETAINED}),
    EventType.PermitWithdrawn: GRANTED_PATH - {S.NATURALISED},
    EventType.DepartedIndependently: _RETURNABLE,
    EventType.ForcedReturnExecuted: _RETURNABLE | {S.DUBLIN, S.TRANSFER_DECIDED},
    # Absconding can happen at any stage of the procedure.
    EventType.DepartedWithoutSupervision: frozenset(
        {None, S.REPORTED, S.IN_SCREENING, S.REGISTERED, S.TRANSFER_DECIDED}
        | IN_PROCEDURE
        | _RETURNABLE
    ),
    EventType.LinkedToMunicipality: frozenset({S.GRANTED_A, S.GRANTED_B}),
    EventType.HousingAllocated: frozenset({S.GRANTED_A, S.GRANTED_B, S.AWAITING_HOUSING}),
    EventType.NaturalisationDecided: frozenset({S.HOUSED}),
    EventType.TransferDecisionIssued: frozenset({S.DUBLIN}),
    EventType.ResponsibilityShifted: frozenset(
        {S.DUBLIN, S.TRANSFER_DECIDED, S.IN_APPEAL, S.RETURN_PHASE, S.UNSUPERVISED}
    ),
    EventType.ReturnBorderProcedureStarted: frozenset({S.REJECTED, S.IN_APPEAL, S.RETURN_PHASE}),
    EventType.ReturnBorderProcedureEnded: frozenset({S.RETURN_BORDER}),
    EventType.SolidarityRelocationTransferred: frozenset(
        {S.REPORTED, S.IN_SCREENING, S.REGISTERED, S.GRANTED_A, S.GRANTED_B} | IN_PROCEDURE
    ),
}

# Events the case lifecycle or the case counts need; without a case they are an anomaly.
CASE_EVENTS = NEEDS_CASE


@dataclass(frozen=True, slots=True)
class Arrival:
    at: datetime
    event_id: str
    case_id: str | None
    applicant_group: str
    age: int | None = None
    """ArrivalReported v2's age_at_report."""


@dataclass(frozen=True, slots=True)
class Application:
    at: datetime
    event_id: str
    case_id: str | None
    application_type: str
    unaccompanied_minor: bool
    age: int | None = None
    """AsylumApplicationLodged v2's age_at_application."""


@dataclass(frozen=True, slots=True)
class Decision:
    at: datetime
    event_id: str
    case_id: str | None
    outcome: str
    status: str | None
    track: str
    """The track of the case's last TrackAssigned before the decision; NONE without one."""


@dataclass(frozen=True, slots=True)
class Departure:
    at: datetime
    event_id: str
    case_id: str | None
    kind: str
    """INDEPENDENT, FORCED, DUBLIN_TRANSFER or UNSUPERVISED."""
    destination: str | None
    border_return: bool = False
    """From the return border procedure: the case was in RETURN_BORDER when it departed."""


@dataclass(frozen=True, slots=True)
class HousingStep:
    at: datetime
    event_id: str
    case_id: str | None
    step: str
    """LINKED or HOUSED."""
    municipality_code: str
    task_period: str


@dataclass(frozen=True, slots=True)
class BorderProcedure:
    """One asylum border procedure of a case (APR 2024/1348 art. 43-54): from TrackAssigned
    BORDER to its end; `deadline` is registration + 12 weeks + the extensions."""

    event_id: str
    started_at: datetime
    deadline: datetime
    ended_at: datetime | None = None
    result: str | None = None
    """DECIDED, MAXIMUM_REACHED or ENDED (another track, a departure); None while open."""
    outcome: str | None = None
    """The decision's outcome (A, B, REJECTED, ...) when DECIDED."""


@dataclass(frozen=True, slots=True)
class CaseState:
    case_id: str
    kind: CaseKind
    status: CaseStatus | None
    opened_at: datetime
    track: str | None
    history: tuple[StateChange, ...]
    event_ids: tuple[str, ...]
    border_procedures: tuple[BorderProcedure, ...] = ()

    def status_at(self, t: datetime) -> CaseStatus | None:
        """The state after the case's events with occurred_at < t."""
        status: CaseStatus | None = None
        for change in self.history:
            if change.occurred_at >= t:
                break
            status = CaseStatus(change.to_state)
        return status


class CaseBuilder:
    """One case during the fold (mutable; frozen by `freeze`)."""

    __slots__ = (
        "application_lodged",
        "border",
        "case_id",
        "event_ids",
        "first_lodged_at",
        "gone_by",
        "history",
        "kind",
        "lawyers",
        "opened_at",
        "status",
        "track",
    )

    def __init__(self, case_id: str, opened_at: datetime) -> None:
        self.case_id = case_id
        self.opened_at = opened_at
        self.kind = CaseKind.UNKNOWN
        self.status: CaseStatus | None = None
        self.track: str | None = None
        self.application_lodged = False
        self.first_lodged_at: datetime | None = None
        self.border: list[BorderProcedure] = []
        self.lawyers: set[str] = set()
        """The RVR assignments in force on the case (LawyerAssigned not yet ended)."""
        self.gone_by: Fact | None = None
        """The event that moved the case into a departed state (for ghost occupancy)."""
        self.history: list[StateChange] = []
        self.event_ids: list[str] = []

    def apply(self, fact: Fact, log: Log) -> None:
        self.event_ids.append(fact.event_id)
        data = fact.data
        etype = fact.event_type
        self.tick(fact.occurred_at, log)
        self._classify(etype, data)
        if etype == EventType.AsylumApplicationLodged:
            self.application_lodged = True
            if self.first_lodged_at is None:
                self.first_lodged_at = fact.occurred_at
        self._legal_aid(fact, log)
        self._border_procedure(fact, log)
        new = next_status(etype, data)
        if new is None:
            return
        anomaly = self._misfit(etype)
        if anomaly is not None:
            kind, detail = anomaly
            log.anomalies.append(
                Anomaly(kind, fact.event_id, fact.occurred_at, self.case_id, detail)
            )
        if etype == EventType.ArrivalReported and self.status is not None:
            # Reporting opens a case (docs/simulator.md, the ground truth's table); a report
            # for a case already under way is a misfit (above) and leaves its state as it is.
            return
        self._change(fact.event_id, fact.occurred_at, new, log)
        if etype == EventType.TrackAssigned:
            self.track = str(data.get("track"))
        self.gone_by = fact if new in GONE else None

    def _change(self, event_id: str, at: datetime, new: CaseStatus, log: Log) -> None:
        change = StateChange(
            event_id,
            at,
            Lifecycle.CASE,
            self.case_id,
            None if self.status is None else self.status.value,
            new.value,
        )
        self.history.append(change)
        log.changes.append(change)
        self.status = new

    def _open_border(self) -> BorderProcedure | None:
        bp = self.border[-1] if self.border else None
        return bp if bp is not None and bp.result is None else None

    def _end_border(self, **end: Any) -> None:
        self.border[-1] = replace(self.border[-1], **end)

    def tick(self, now: datetime, log: Log) -> None:
        """The border procedure's clock: a case still in it when its maximum has passed moves
        to the regular procedure at the deadline (APR art. 51(2)). It runs on the events'
        own time: the fold ticks before each event, so the first event after the deadline
        (a late decision, KMar authorising entry) shows that the maximum passed; until one
        arrives the case stays in the border procedure, and the figures count it as open past
        its maximum (docs/lifecycle.md)."""
        bp = self._open_border()
        if bp is None or now <= bp.deadline:
            return
        self._end_border(ended_at=bp.deadline, result="MAXIMUM_REACHED")
        if self.status is S.BORDER:
            self._change(bp.event_id, bp.deadline, S.IN_GENERAL, log)
        log.anomalies.append(
            Anomaly(
                AnomalyKind.BORDER_PROCEDURE_EXCEEDED,
                bp.event_id,
                bp.deadline,
                self.case_id,
                "no decision within the border procedure's maximum",
            )
        )

    def _border_procedure(self, fact: Fact, log: Log) -> None:
        etype, data, at = fact.event_type, fact.data, fact.occurred_at
        bp = self._open_border()
        if etype == EventType.TrackAssigned:
            if data.get("track") == "BORDER":
                if bp is None:
                    start = self.first_lodged_at or at
                    self.border.append(BorderProcedure(fact.event_id, at, start + BORDER_MAXIMUM))
            elif bp is not None:
                self._end_border(ended_at=at, result="ENDED")
        elif bp is None:
            return
        elif etype == EventType.BorderProcedureExtended:
            weeks = int(data.get("extension_weeks") or 0)
            self._end_border(deadline=bp.deadline + timedelta(weeks=weeks))
        elif etype == EventType.DecisionIssued:
            self._end_border(ended_at=at, result="DECIDED", outcome=decided_outcome(data))
        elif etype in DEPARTURE_TYPES:
            self._end_border(ended_at=at, result="ENDED")
        elif (
            etype == EventType.EntryAuthorised
            and data.get("ground") == "BORDER_PROCEDURE_MAXIMUM_REACHED"
        ):
            self._end_border(ended_at=at, result="MAXIMUM_REACHED")
            if self.status is S.BORDER:
                self._change(fact.event_id, at, S.IN_GENERAL, log)
            log.anomalies.append(
                Anomaly(
                    AnomalyKind.BORDER_PROCEDURE_EXCEEDED,
                    fact.event_id,
                    at,
                    self.case_id,
                    "entry authorised: the border procedure's maximum was reached",
                )
            )

    def _legal_aid(self, fact: Fact, log: Log) -> None:
        etype = fact.event_type
        if etype == EventType.LawyerAssigned:
            self.lawyers.add(str(fact.data.get("assignment_id")))
        elif etype == EventType.LegalAidAssignmentEnded:
            self.lawyers.discard(str(fact.data.get("assignment_id")))
        elif etype == EventType.DecisionIssued and self.track in TRACK_4 and not self.lawyers:
            log.anomalies.append(
                Anomaly(
                    AnomalyKind.DECISION_WITHOUT_LEGAL_AID,
                    fact.event_id,
                    fact.occurred_at,
                    self.case_id,
                    f"no lawyer assigned to the case in track {self.track}",
                )
            )

    def _classify(self, etype: str, data: Mapping[str, Any]) -> None:
        if self.kind is not CaseKind.UNKNOWN:
            return
        if etype == EventType.ArrivalReported:
            nareis = data.get("applicant_group") == "MVV_HOLDER"
            self.kind = CaseKind.NAREIS if nareis else CaseKind.ASYLUM
        elif etype == EventType.AsylumApplicationLodged:
            nareis = data.get("application_type") == "NAREIS"
            self.kind = CaseKind.NAREIS if nareis else CaseKind.ASYLUM
        elif etype.startswith("FamilyReunification"):
            self.kind = CaseKind.NAREIS

    def _misfit(self, etype: str) -> tuple[AnomalyKind, str] | None:
        status = self.status
        if etype == EventType.DecisionIssued and not self.application_lodged:
            return AnomalyKind.DECISION_WITHOUT_APPLICATION, "no AsylumApplicationLodged before"
        if etype in DEPARTURE_TYPES and status in GRANTED_PATH:
            return AnomalyKind.DEPARTURE_AFTER_GRANT, f"{etype} in {status}"
        if etype in HOUSING_TYPES and status not in GRANTED_PATH:
            return AnomalyKind.HOUSING_WITHOUT_GRANT, f"{etype} in {status}"
        if status in DEPARTED:
            return AnomalyKind.EVENT_AFTER_DEPARTURE, f"{etype} in {status}"
        if status not in EXPECTED_FROM[etype]:
            return AnomalyKind.UNEXPECTED_TRANSITION, f"{etype} in {status}"
        return None

    def freeze(self) -> CaseState:
        return CaseState(
            self.case_id,
            self.kind,
            self.status,
            self.opened_at,
            self.track,
            tuple(self.history),
            tuple(self.event_ids),
            tuple(self.border),
        )


def arrival(fact: Fact, case_id: str | None) -> Arrival:
    age = fact.data.get("age_at_report")
    return Arrival(
        fact.occurred_at,
        fact.event_id,
        case_id,
        str(fact.data.get("applicant_group")),
        age if isinstance(age, int) else None,
    )


def application(fact: Fact, case_id: str | None) -> Application:
    return Application(
        fact.occurred_at,
        fact.event_id,
        case_id,
        str(fact.data.get("application_type")),
        bool(fact.data.get("unaccompanied_minor")),
        age if isinstance(age := fact.data.get("age_at_application"), int) else None,
    )


def decision(fact: Fact, case: CaseBuilder | None) -> Decision:
    status = fact.data.get("status")
    return Decision(
        fact.occurred_at,
        fact.event_id,
        None if case is None else case.case_id,
        str(fact.data.get("outcome")),
        None if status is None else str(status),
        "NONE" if case is None or case.track is None else case.track,
    )


def decided_outcome(data: Mapping[str, Any]) -> str:
    """A decision as the figures count it: A or B for a grant, else the outcome."""
    if data.get("outcome") == "GRANTED":
        return "A" if data.get("status") == "A" else "B"
    return str(data.get("outcome"))


def departure(fact: Fact, case: CaseBuilder | None) -> Departure:
    data = fact.data
    match fact.event_type:
        case EventType.DepartedIndependently:
            kind, dest = "INDEPENDENT", data.get("destination_country")
        case EventType.ForcedReturnExecuted:
            kind = "DUBLIN_TRANSFER" if data.get("destination") == "DUBLIN" else "FORCED"
            dest = data.get("country")
        case _:
            kind, dest = "UNSUPERVISED", None
    return Departure(
        fact.occurred_at,
        fact.event_id,
        None if case is None else case.case_id,
        kind,
        None if dest is None else str(dest),
        case is not None and case.status is S.RETURN_BORDER,
    )


def housing_step(fact: Fact, case_id: str | None) -> HousingStep:
    return HousingStep(
        fact.occurred_at,
        fact.event_id,
        case_id,
        "LINKED" if fact.event_type == EventType.LinkedToMunicipality else "HOUSED",
        str(fact.data.get("municipality_code")),
        str(fact.data.get("task_period")),
    )
