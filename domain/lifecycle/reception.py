"""COA reception per person, parallel to the case lifecycle: ENTITLED (ReceptionStarted) ->
AT_LOCATION (PlacedAtLocation, Relocated) -> ENDED (ReceptionEnded). Drives occupancy whatever
the legal status; the spans it keeps are what the occupancy counts read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from domain.facts import Fact
from domain.lifecycle.anomalies import Anomaly, AnomalyKind
from domain.lifecycle.changes import Lifecycle, Log, StateChange
from domain.routes import Handler, handled_by
from schemas.event_types import EventType

RECEPTION_EVENTS = handled_by(Handler.RECEPTION)
SUBJECT = "reception"


class ReceptionStatus(StrEnum):
    ENTITLED = "ENTITLED"
    AT_LOCATION = "AT_LOCATION"
    ENDED = "ENDED"


@dataclass(frozen=True, slots=True)
class Placement:
    at: datetime
    event_id: str
    location_id: str
    location_type: str
    relocation: bool
    minor: bool
    """The event was about a minor (sensitivity MINOR): counts as a child's relocation."""


@dataclass(frozen=True, slots=True)
class ReceptionSpan:
    started_at: datetime
    start_event_id: str
    group: str
    case_id: str | None
    placements: tuple[Placement, ...] = ()
    ended_at: datetime | None = None
    end_reason: str | None = None
    end_event_id: str | None = None

    def open_at(self, t: datetime) -> bool:
        """Open after the events with occurred_at < t."""
        return self.started_at < t and (self.ended_at is None or self.ended_at >= t)

    def location_type_at(self, t: datetime) -> str | None:
        current: str | None = None
        for p in self.placements:
            if p.at >= t:
                break
            current = p.location_type
        return current


@dataclass(frozen=True, slots=True)
class ReceptionState:
    status: ReceptionStatus | None
    spans: tuple[ReceptionSpan, ...]

    @property
    def current(self) -> ReceptionSpan | None:
        return self.spans[-1] if self.spans else None

    @property
    def is_open(self) -> bool:
        return self.status in (ReceptionStatus.ENTITLED, ReceptionStatus.AT_LOCATION)

    def relocations_per_year(self, *, minors_only: bool = False) -> dict[int, int]:
        """Relocations by calendar year of occurred_at; `minors_only` counts a child's moves."""
        years = Counter(
            p.at.year
            for span in self.spans
            for p in span.placements
            if p.relocation and (p.minor or not minors_only)
        )
        return dict(sorted(years.items()))


class ReceptionBuilder:
    __slots__ = ("spans", "status")

    def __init__(self) -> None:
        self.status: ReceptionStatus | None = None
        self.spans: list[ReceptionSpan] = []

    @property
    def is_open(self) -> bool:
        return self.status in (ReceptionStatus.ENTITLED, ReceptionStatus.AT_LOCATION)

    def apply(self, fact: Fact, log: Log) -> None:
        data = fact.data
        match fact.event_type:
            case EventType.ReceptionStarted:
                group = str(data.get("reception_group"))
                if self.is_open:
                    # Already received: the earlier start stands (one reception at a time).
                    self._anomaly(log, fact, AnomalyKind.DUPLICATE_RECEPTION_START, group)
                    return
                self.spans.append(
                    ReceptionSpan(fact.occurred_at, fact.event_id, group, fact.case_id)
                )
                self._change(log, fact, ReceptionStatus.ENTITLED, group)
            case EventType.PlacedAtLocation | EventType.Relocated:
                self._place(fact, log)
            case EventType.ReceptionEnded:
                reason = str(data.get("reason"))
                if not self.is_open:
                    self._anomaly(log, fact, AnomalyKind.RECEPTION_END_WITHOUT_START, reason)
                    return
                self.spans[-1] = replace(
                    self.spans[-1],
                    ended_at=fact.occurred_at,
                    end_reason=reason,
                    end_event_id=fact.event_id,
                )
                self._change(log, fact, ReceptionStatus.ENDED, reason)

    def _place(self, fact: Fact, log: Log) -> None:
        data = fact.data
        relocation = fact.event_type == EventType.Relocated
        location_id = str(data.get("to_location_id" if relocation else "location_id"))
        location_type = str(data.get("to_location_type" if relocation else "location_type"))
        if not self.is_open:
            self._anomaly(log, fact, AnomalyKind.PLACEMENT_WITHOUT_RECEPTION, location_id)
            return
        span = self.spans[-1]
        here = span.placements[-1].location_id if span.placements else None
        came_from = data.get("from_location_id") if relocation else None
        if here != came_from:
            detail = f"{fact.event_type} from {came_from} while at {here}"
            self._anomaly(log, fact, AnomalyKind.LOCATION_MISMATCH, detail)
        placement = Placement(
            fact.occurred_at,
            fact.event_id,
            location_id,
            location_type,
            relocation,
            fact.sensitivity == "MINOR",
        )
        self.spans[-1] = replace(span, placements=(*span.placements, placement))
        self._change(log, fact, ReceptionStatus.AT_LOCATION, f"{location_id} ({location_type})")

    def _change(self, log: Log, fact: Fact, new: ReceptionStatus, detail: str) -> None:
        old = None if self.status is None else self.status.value
        log.changes.append(
            StateChange(
                fact.event_id, fact.occurred_at, Lifecycle.RECEPTION, SUBJECT, old, new, detail
            )
        )
        self.status = new

    def _anomaly(self, log: Log, fact: Fact, kind: AnomalyKind, detail: str) -> None:
        log.anomalies.append(Anomaly(kind, fact.event_id, fact.occurred_at, fact.case_id, detail))

    def freeze(self) -> ReceptionState:
        return ReceptionState(self.status, tuple(self.spans))
