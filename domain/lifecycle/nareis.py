"""Nareis (family reunification) per case, parallel to the case lifecycle: REQUESTED ->
MVV_GRANTED / MVV_REFUSED -> ARRIVED -> GRANTED_DERIVED. CBS counts nareizigers on arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.facts import Fact
from domain.lifecycle.anomalies import Anomaly, AnomalyKind
from domain.lifecycle.changes import Lifecycle, Log, StateChange
from schemas.event_types import EventType


class NareisStatus(StrEnum):
    REQUESTED = "REQUESTED"
    MVV_GRANTED = "MVV_GRANTED"
    MVV_REFUSED = "MVV_REFUSED"
    ARRIVED = "ARRIVED"
    GRANTED_DERIVED = "GRANTED_DERIVED"


N = NareisStatus
_EXPECTED: dict[NareisStatus, frozenset[NareisStatus | None]] = {
    N.REQUESTED: frozenset({None}),
    N.MVV_GRANTED: frozenset({N.REQUESTED}),
    N.MVV_REFUSED: frozenset({N.REQUESTED}),
    N.ARRIVED: frozenset({N.MVV_GRANTED}),
    N.GRANTED_DERIVED: frozenset({N.ARRIVED}),
}


def nareis_step(fact: Fact) -> NareisStatus | None:
    """The nareis state an event leads to; None when it is no nareis step."""
    data = fact.data
    match fact.event_type:
        case EventType.FamilyReunificationRequested:
            return N.REQUESTED
        case EventType.FamilyReunificationDecided:
            return N.MVV_GRANTED if data.get("outcome") == "GRANTED" else N.MVV_REFUSED
        case EventType.ArrivalReported if data.get("applicant_group") == "MVV_HOLDER":
            return N.ARRIVED
        case EventType.ResidencePermitIssued if data.get("permit_kind") == "DERIVED":
            return N.GRANTED_DERIVED
    return None


@dataclass(frozen=True, slots=True)
class NareisState:
    case_id: str
    status: NareisStatus
    sponsor_person_key: str | None


class NareisBuilder:
    __slots__ = ("case_id", "sponsor", "status")

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        self.status: NareisStatus | None = None
        self.sponsor: str | None = None

    def apply(self, fact: Fact, new: NareisStatus, log: Log) -> None:
        if self.status not in _EXPECTED[new]:
            log.anomalies.append(
                Anomaly(
                    AnomalyKind.NAREIS_OUT_OF_ORDER,
                    fact.event_id,
                    fact.occurred_at,
                    self.case_id,
                    f"{fact.event_type} in {self.status}",
                )
            )
        sponsor = fact.data.get("sponsor_person_key")
        if sponsor is not None:
            self.sponsor = str(sponsor)
        old = None if self.status is None else self.status.value
        log.changes.append(
            StateChange(fact.event_id, fact.occurred_at, Lifecycle.NAREIS, self.case_id, old, new)
        )
        self.status = new

    def freeze(self) -> NareisState:
        assert self.status is not None  # built only by a nareis step
        return NareisState(self.case_id, self.status, self.sponsor)
