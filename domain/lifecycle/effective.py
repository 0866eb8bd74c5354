"""Step one of the lifecycle fold: a person's effective events, in valid-time order, from every
fact the timeline has delivered for that person (re-sends, corrections, retractions and late
facts included). The result does not depend on the delivery order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.facts import Fact
from domain.lifecycle.anomalies import Anomaly, AnomalyKind
from domain.routes import PRECEDENCE
from schemas.event_types import EventType

RETRACTION: str = EventType.EventRetracted

_RANK = {name: i for i, name in enumerate(PRECEDENCE)}


def precedence(event_type: str) -> int:
    return _RANK.get(event_type, len(PRECEDENCE))


def valid_time_key(fact: Fact) -> tuple[datetime, int, str]:
    """The fold order: valid time, then the chain order of the type, then the event id."""
    return (fact.occurred_at, _RANK.get(fact.event_type, len(PRECEDENCE)), fact.event_id)


@dataclass(frozen=True, slots=True)
class Effective:
    events: tuple[Fact, ...]
    """The effective lifecycle events in fold order."""
    anomalies: tuple[Anomaly, ...]


def _canonical(fact: Fact) -> tuple[str, str, int, int]:
    # Copies of one event id: prefer one by content, then by log position, never by arrival.
    content = Fact.to_json(fact_without_position(fact))
    return (content, fact.topic, fact.partition, fact.offset)


def fact_without_position(fact: Fact) -> Fact:
    return Fact(
        fact.event_id,
        fact.event_type,
        fact.producer,
        fact.person_key,
        fact.case_id,
        fact.occurred_at,
        fact.recorded_at,
        fact.corrects,
        fact.retracts,
        fact.sensitivity,
        fact.data,
    )


def target_of(fact: Fact) -> str | None:
    """The event a correction or retraction names (None for a plain event)."""
    return fact.retracts if fact.retracts is not None else fact.corrects


def foreign_target(fact: Fact, producer_of: Mapping[str, str]) -> str | None:
    """The producer of the event `fact` corrects or retracts when that is another organisation
    (an organisation may correct or retract only its own events), else None. `producer_of`:
    event id -> producer of the person's events known so far; a target not among them cannot
    be judged yet (None)."""
    target = target_of(fact)
    if target is None:
        return None
    owner = producer_of.get(target)
    return owner if owner is not None and owner != fact.producer else None


def effective(facts: Iterable[Fact]) -> Effective:
    """Each event once; a correction replaces its target (chains of corrections included);
    a retraction removes its target and is itself no lifecycle event. A correction or
    retraction whose target has not arrived yet is kept, and an anomaly says so. One whose
    target another organisation published is refused: it neither replaces nor removes
    anything and is no lifecycle event itself (FOREIGN_CORRECTION), whichever arrived first."""
    by_id: dict[str, list[Fact]] = {}
    for fact in facts:
        by_id.setdefault(fact.event_id, []).append(fact)
    anomalies: list[Anomaly] = []
    unique: dict[str, Fact] = {}
    for event_id, copies in by_id.items():
        chosen = min(copies, key=_canonical) if len(copies) > 1 else copies[0]
        unique[event_id] = chosen
        if len(copies) > 1 and len({_canonical(c)[0] for c in copies}) > 1:
            anomalies.append(
                Anomaly(
                    AnomalyKind.CONFLICTING_DUPLICATE,
                    event_id,
                    chosen.occurred_at,
                    chosen.case_id,
                    f"{len(copies)} copies with different content; kept one by content order",
                )
            )
    producer_of = {event_id: fact.producer for event_id, fact in unique.items()}
    for fact in list(unique.values()):
        owner = foreign_target(fact, producer_of)
        if owner is not None:
            del unique[fact.event_id]
            verb = "retracts" if fact.retracts is not None else "corrects"
            anomalies.append(
                Anomaly(
                    AnomalyKind.FOREIGN_CORRECTION,
                    fact.event_id,
                    fact.occurred_at,
                    fact.case_id,
                    f"{fact.producer} {verb} {target_of(fact)}, an event of {owner}: refused",
                )
            )
    retracted: set[str] = set()
    for fact in unique.values():
        if fact.retracts is not None:
            retracted.add(fact.retracts)
            if fact.retracts not in producer_of:
                anomalies.append(
                    Anomaly(
                        AnomalyKind.RETRACTION_OF_UNKNOWN_EVENT,
                        fact.event_id,
                        fact.occurred_at,
                        fact.case_id,
                        f"retracts {fact.retracts}, not seen yet",
                    )
                )
    active = [
        f
        for f in unique.values()
        if f.event_id not in retracted and f.retracts is None and f.event_type != RETRACTION
    ]
    replaced: set[str] = set()
    for fact in active:
        if fact.corrects is not None:
            replaced.add(fact.corrects)
            if fact.corrects not in producer_of:
                anomalies.append(
                    Anomaly(
                        AnomalyKind.CORRECTION_OF_UNKNOWN_EVENT,
                        fact.event_id,
                        fact.occurred_at,
                        fact.case_id,
                        f"corrects {fact.corrects}, not seen yet; applied as it stands",
                    )
                )
    events = sorted((f for f in active if f.event_id not in replaced), key=valid_time_key)
    anomalies.sort(key=lambda a: (a.occurred_at, a.kind, a.event_id))
    return Effective(tuple(events), tuple(anomalies))
