"""The route table: for every event type of the contract, which lifecycle of the fold handles
it, where it stands in the order of events that share an instant, which projections read it,
and whether it needs a case. The fold's dispatch and its event-type sets are derived from this
table; tests/unit/test_routes.py fails when the contract has a type the table does not name.

Adding an event type: a row here (docs/extending.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas.event_types import EventType as E


class Handler(StrEnum):
    CASE = "case"
    """Folded into a case: the fact's case id, else the case most recently opened."""
    RECEPTION = "reception"
    PROTECTION = "protection"
    GUARDIANSHIP = "guardianship"
    PERSON = "person"
    """About the person across cases; no lifecycle of its own."""
    SUBJECT = "subject"
    """About a location or a municipality's housing task, not a person: the projections read
    these facts directly."""
    CORRECTION = "correction"
    """Applied before the fold (domain/lifecycle/effective.py); never folded itself."""
    IGNORED = "ignored"
    """On the timeline and in the audit trail, but no lifecycle and no figure reads it."""


class Collect(StrEnum):
    """What the fold collects from an event, whatever state its case is in, for the figures."""

    ARRIVAL = "arrival"
    APPLICATION = "application"
    DECISION = "decision"
    DEPARTURE = "departure"
    HOUSING_STEP = "housing_step"


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    figures: frozenset[str] = frozenset()
    """The projections (keys of domain.contributions.ROWS) that read this type directly.
    Every state change of a case also moves the resident status in `coa_stays`."""
    collect: Collect | None = None
    needs_case: bool = False
    """Without a case to belong to, the event is an EVENT_WITHOUT_CASE anomaly."""
    ranked: bool = True
    """False: no place in the precedence order; such events tie last, by event id."""


def _r(
    handler: Handler,
    *figures: str,
    collect: Collect | None = None,
    needs_case: bool = False,
    ranked: bool = True,
) -> Route:
    return Route(handler, frozenset(figures), collect, needs_case, ranked)


H = Handler
CASE, RECEPTION, PROTECTION, GUARDIANSHIP, PERSON = (
    H.CASE,
    H.RECEPTION,
    H.PROTECTION,
    H.GUARDIANSHIP,
    H.PERSON,
)

# In precedence order: the order in which things happen in the chain when two events of a
# person share an instant. The simulator never puts two state-changing events of one case at
# the same instant, so this tie-break agrees with its ground truth (which ties by event id); it
# only orders a case event against a reception event (e.g. a departure before ReceptionEnded).
ROUTES: dict[str, Route] = {
    # Before the person reports here: another member state's request to the Netherlands, a
    # solidarity relocation into the Netherlands, a transfer received (AMMR).
    E.IncomingRequestReceived: _r(CASE, "ammr_requests"),
    E.IncomingRequestAnswered: _r(CASE, "ammr_requests"),
    E.SolidarityRelocationDecided: _r(CASE, "solidarity_relocations", needs_case=True),
    E.SolidarityRelocationTransferred: _r(CASE, "solidarity_relocations", needs_case=True),
    E.IncomingTransferReceived: _r(CASE, "ammr_requests"),
    E.FamilyReunificationRequested: _r(CASE, needs_case=True),
    E.FamilyReunificationDecided: _r(CASE, needs_case=True),
    E.EntryRefused: _r(CASE),
    E.ArrivalReported: _r(CASE, "inflow", collect=Collect.ARRIVAL, needs_case=True),
    E.ScreeningStarted: _r(CASE, "screenings", needs_case=True),
    E.EntryNotAuthorised: _r(CASE),
    E.ScreeningCompleted: _r(CASE, "screenings"),
    # Entry authorised when the border procedure's maximum passed moves the case on.
    E.EntryAuthorised: _r(CASE, "border_procedures", needs_case=True),
    E.BorderDetentionImposed: _r(CASE),
    E.BiometricsCaptured: _r(CASE),
    # Also the person's base data (nationality, birth year, sex) for the inflow dimensions and
    # for counting children in reception.
    E.IdentityRegistered: _r(CASE, "inflow", "coa_stays", "relocations"),
    E.EurodacHitReceived: _r(CASE, "eurodac_hits"),
    E.AsylumApplicationLodged: _r(
        CASE, "inflow", "cases", "decisions", collect=Collect.APPLICATION, needs_case=True
    ),
    # Legal aid (RVR): the lawyers in force on a case, for DECISION_WITHOUT_LEGAL_AID.
    E.LegalAidRequested: _r(CASE),
    E.LawyerAssigned: _r(CASE, needs_case=True),
    E.GuardianshipAssigned: _r(GUARDIANSHIP),
    E.AgeAssessed: _r(GUARDIANSHIP),
    E.ReceptionStarted: _r(RECEPTION, "coa_stays"),
    E.PlacedAtLocation: _r(RECEPTION, "coa_stays", "relocations"),
    E.Relocated: _r(RECEPTION, "coa_stays", "relocations"),
    E.IncidentRecorded: _r(PERSON),
    E.MeasureImposed: _r(PERSON),
    E.TrackAssigned: _r(CASE, "decisions", "border_procedures", needs_case=True),
    E.InterviewHeld: _r(CASE),
    E.DublinClaimSent: _r(CASE, "ammr_requests"),
    E.DublinClaimAccepted: _r(CASE, "ammr_requests", needs_case=True),
    E.TakeBackNotificationSent: _r(CASE, "ammr_requests"),
    E.TakeBackNotificationConfirmed: _r(CASE, "ammr_requests"),
    E.ResponsibilityShifted: _r(CASE, "ammr_requests", needs_case=True),
    E.TransferDecisionIssued: _r(CASE, "ammr_requests", needs_case=True),
    E.TransferTimeLimitExtended: _r(CASE, "ammr_requests"),
    E.IntendedRejectionIssued: _r(CASE),
    E.DecisionDeadlineExceeded: _r(CASE),
    E.BorderProcedureExtended: _r(CASE, "border_procedures"),
    E.DecisionIssued: _r(
        CASE,
        "decisions",
        "cases",
        "border_procedures",
        collect=Collect.DECISION,
        needs_case=True,
    ),
    E.ResidencePermitIssued: _r(CASE, needs_case=True),
    # At the decision's instant the lawyer was still in force.
    E.LegalAidAssignmentEnded: _r(CASE, needs_case=True),
    E.AppealLodged: _r(CASE, needs_case=True),
    E.JudgmentIssued: _r(CASE, needs_case=True),
    E.FurtherAppealLodged: _r(CASE, needs_case=True),
    E.FinalJudgmentIssued: _r(CASE, needs_case=True),
    E.LinkedToMunicipality: _r(CASE, "housing", collect=Collect.HOUSING_STEP, needs_case=True),
    E.HousingAllocated: _r(CASE, "housing", collect=Collect.HOUSING_STEP, needs_case=True),
    E.RegisteredInBRP: _r(PERSON),
    E.IntegrationStarted: _r(PERSON),
    E.EmploymentStarted: _r(PERSON),
    E.NaturalisationDecided: _r(CASE, needs_case=True),
    E.PermitWithdrawn: _r(CASE, needs_case=True),
    E.UndesirabilityDeclared: _r(CASE),
    E.IrregularStayDetected: _r(CASE),
    E.CaseTransferredToReturn: _r(CASE),
    E.ReturnCaseOpened: _r(CASE, needs_case=True),
    E.ReturnBorderProcedureStarted: _r(CASE, "departures", needs_case=True),
    E.DepartureInterviewHeld: _r(CASE),
    E.TravelDocumentObtained: _r(CASE),
    E.ReturnSupportGranted: _r(CASE),
    E.AssistedReturnRequested: _r(CASE),
    E.DetentionOrdered: _r(CASE, needs_case=True),
    E.DetentionExtended: _r(CASE),
    E.DetentionEnded: _r(CASE, needs_case=True),
    E.AssistedReturnDeparted: _r(CASE),
    E.DepartureObservedAtBorder: _r(CASE),
    E.DepartedIndependently: _r(CASE, "departures", collect=Collect.DEPARTURE, needs_case=True),
    E.ForcedReturnExecuted: _r(
        CASE, "departures", "ammr_requests", collect=Collect.DEPARTURE, needs_case=True
    ),
    E.DepartedWithoutSupervision: _r(
        CASE, "departures", collect=Collect.DEPARTURE, needs_case=True
    ),
    E.FosterPlacementMade: _r(GUARDIANSHIP),
    E.MinorReportedMissing: _r(GUARDIANSHIP),
    E.TurnedEighteen: _r(GUARDIANSHIP),
    # Ended because the person left: after the departure at the same instant.
    E.ReturnBorderProcedureEnded: _r(CASE, "departures", needs_case=True),
    E.BorderDetentionEnded: _r(CASE),
    E.ReceptionEnded: _r(RECEPTION, "coa_stays"),
    E.ReturnCaseClosed: _r(CASE),
    E.ReintegrationSupportGranted: _r(CASE),
    E.ShelterPlacementStarted: _r(PROTECTION, "goo_stays"),
    E.ShelterPlacementEnded: _r(PROTECTION, "goo_stays"),
    # Not about a person: the location's places, a municipality's housing task.
    E.LocationOpened: _r(H.SUBJECT, "capacity", ranked=False),
    E.LocationCapacityChanged: _r(H.SUBJECT, "capacity", ranked=False),
    E.LocationClosed: _r(H.SUBJECT, "capacity", ranked=False),
    E.HousingTaskPublished: _r(H.SUBJECT, "tasks", ranked=False),
    E.EventRetracted: _r(H.CORRECTION, ranked=False),
    # Erasure forgets the person's personal fields; it changes no state and no count.
    E.PersonErased: _r(PERSON, ranked=False),
    # The ministry's forecasts and policy changes are context for analysts reading the
    # timeline; no figure is derived from them.
    E.ForecastPublished: _r(H.IGNORED, ranked=False),
    E.PolicyChanged: _r(H.IGNORED, ranked=False),
}

PRECEDENCE: tuple[str, ...] = tuple(str(t) for t, r in ROUTES.items() if r.ranked)


def handled_by(handler: Handler) -> frozenset[str]:
    return frozenset(str(t) for t, r in ROUTES.items() if r.handler is handler)


def collecting(collect: Collect) -> frozenset[str]:
    return frozenset(str(t) for t, r in ROUTES.items() if r.collect is collect)


NEEDS_CASE = frozenset(str(t) for t, r in ROUTES.items() if r.needs_case)
# Types the fold passes by: not folded into any lifecycle (not even as a case's event).
NOT_FOLDED = handled_by(H.SUBJECT) | handled_by(H.CORRECTION) | handled_by(H.IGNORED)
