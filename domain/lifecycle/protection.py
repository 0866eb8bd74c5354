"""Temporary protection (displaced Ukrainians) per person: municipal shelter (GOO) placements,
IN_GOO (ShelterPlacementStarted) -> ENDED (ShelterPlacementEnded); outside COA and without a
case.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from domain.facts import Fact
from domain.lifecycle.anomalies import Anomaly, AnomalyKind
from domain.lifecycle.changes import Lifecycle, Log, StateChange
from domain.routes import Handler, handled_by
from schemas.event_types import EventType

PROTECTION_EVENTS = handled_by(Handler.PROTECTION)
SUBJECT = "protection"


class ProtectionStatus(StrEnum):
    IN_GOO = "IN_GOO"
    ENDED = "ENDED"


@dataclass(frozen=True, slots=True)
class ShelterSpan:
    started_at: datetime
    start_event_id: str
    municipality_code: str
    ended_at: datetime | None = None
    end_reason: str | None = None
    end_event_id: str | None = None

    def open_at(self, t: datetime) -> bool:
        return self.started_at < t and (self.ended_at is None or self.ended_at >= t)


@dataclass(frozen=True, slots=True)
class ProtectionState:
    status: ProtectionStatus | None
    spans: tuple[ShelterSpan, ...]


class ProtectionBuilder:
    __slots__ = ("spans", "status")

    def __init__(self) -> None:
        self.status: ProtectionStatus | None = None
        self.spans: list[ShelterSpan] = []

    def apply(self, fact: Fact, log: Log) -> None:
        municipality = str(fact.data.get("municipality_code"))
        in_goo = self.status is ProtectionStatus.IN_GOO
        if fact.event_type == EventType.ShelterPlacementStarted:
            if in_goo:
                kind = AnomalyKind.DUPLICATE_SHELTER_START
                log.anomalies.append(Anomaly(kind, fact.event_id, fact.occurred_at, None, ""))
                return
            self.spans.append(ShelterSpan(fact.occurred_at, fact.event_id, municipality))
            self._change(log, fact, ProtectionStatus.IN_GOO, municipality)
            return
        reason = str(fact.data.get("reason"))
        if not in_goo:
            kind = AnomalyKind.SHELTER_END_WITHOUT_START
            log.anomalies.append(Anomaly(kind, fact.event_id, fact.occurred_at, None, reason))
            return
        self.spans[-1] = replace(
            self.spans[-1], ended_at=fact.occurred_at, end_reason=reason, end_event_id=fact.event_id
        )
        self._change(log, fact, ProtectionStatus.ENDED, reason)

    def _change(self, log: Log, fact: Fact, new: ProtectionStatus, detail: str) -> None:
        old = None if self.status is None else self.status.value
        log.changes.append(
            StateChange(
                fact.event_id, fact.occurred_at, Lifecycle.PROTECTION, SUBJECT, old, new, detail
            )
        )
        self.status = new

    def freeze(self) -> ProtectionState:
        return ProtectionState(self.status, tuple(self.spans))
