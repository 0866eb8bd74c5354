"""Guardianship of an unaccompanied minor (Nidos) per person: UNDER_GUARDIANSHIP
(GuardianshipAssigned) -> MISSING (MinorReportedMissing) -> ENDED (TurnedEighteen, or an age
assessment that finds an adult).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.facts import Fact
from domain.lifecycle.anomalies import Anomaly, AnomalyKind
from domain.lifecycle.changes import Lifecycle, Log, StateChange
from domain.routes import Handler, handled_by
from schemas.event_types import EventType

GUARDIANSHIP_EVENTS = handled_by(Handler.GUARDIANSHIP)
SUBJECT = "guardianship"


class GuardianshipStatus(StrEnum):
    UNDER_GUARDIANSHIP = "UNDER_GUARDIANSHIP"
    MISSING = "MISSING"
    ENDED = "ENDED"


@dataclass(frozen=True, slots=True)
class GuardianshipState:
    status: GuardianshipStatus | None
    assigned_at: datetime | None
    ended_at: datetime | None
    foster_family: bool


GS = GuardianshipStatus


class GuardianshipBuilder:
    __slots__ = ("assigned_at", "ended_at", "foster", "status")

    def __init__(self) -> None:
        self.status: GuardianshipStatus | None = None
        self.assigned_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.foster = False

    def apply(self, fact: Fact, log: Log) -> None:
        match fact.event_type:
            case EventType.GuardianshipAssigned:
                if self.assigned_at is None:
                    self.assigned_at = fact.occurred_at
                self._change(log, fact, GS.UNDER_GUARDIANSHIP)
            case EventType.MinorReportedMissing:
                self._change(log, fact, GS.MISSING)
            case EventType.FosterPlacementMade:
                self.foster = True
            case EventType.TurnedEighteen | EventType.AgeAssessed:
                if fact.event_type == EventType.AgeAssessed and fact.data.get("outcome") != "ADULT":
                    return
                if self.status not in (GS.UNDER_GUARDIANSHIP, GS.MISSING):
                    log.anomalies.append(
                        Anomaly(
                            AnomalyKind.GUARDIANSHIP_END_WITHOUT_START,
                            fact.event_id,
                            fact.occurred_at,
                            fact.case_id,
                            f"{fact.event_type} in {self.status}",
                        )
                    )
                    return
                self.ended_at = fact.occurred_at
                self._change(log, fact, GS.ENDED)

    def _change(self, log: Log, fact: Fact, new: GuardianshipStatus) -> None:
        old = None if self.status is None else self.status.value
        log.changes.append(
            StateChange(fact.event_id, fact.occurred_at, Lifecycle.GUARDIANSHIP, SUBJECT, old, new)
        )
        self.status = new

    def freeze(self) -> GuardianshipState:
        return GuardianshipState(self.status, self.assigned_at, self.ended_at, self.foster)
