"""One person's timeline for auditors: every event from every organisation in valid-time order,
as recorded and as corrected (what replaced or removed it), with the lifecycle states passed
through and the anomalies. Pure: `ketenlog timeline` and the API's audit resource load the
person's facts and render what this returns.
"""

from __future__ import annotations

from typing import Any

from domain.derive import derive
from domain.erasure import erased_fields
from domain.facts import Fact
from domain.lifecycle.effective import RETRACTION, foreign_target, target_of, valid_time_key


def person_timeline(person_key: str, facts: list[Fact]) -> dict[str, Any]:
    """JSON-able: `events` (each with its status), `states` (the changes the fold made, each
    naming the event that caused it) and `anomalies`."""
    row = derive(person_key, facts)
    producer_of = {f.event_id: f.producer for f in facts}
    # Refused as the fold refuses them: a correction or retraction of another organisation's
    # event replaces and removes nothing (domain.lifecycle.effective).
    refused = {f.event_id: owner for f in facts if (owner := foreign_target(f, producer_of))}
    valid = [f for f in facts if f.event_id not in refused]
    retracted_by = {f.retracts: f.event_id for f in valid if f.retracts is not None}
    corrected_by = {
        f.corrects: f.event_id
        for f in valid
        if f.corrects is not None and f.event_id not in retracted_by
    }
    effective = {c.event_id for c in row.changes}
    erased = erased_fields(facts)
    events = []
    for fact in sorted(facts, key=valid_time_key):
        events.append(
            {
                "event_id": fact.event_id,
                "type": fact.event_type,
                "producer": fact.producer,
                "case_id": fact.case_id,
                "occurred_at": fact.occurred_at.isoformat(),
                "recorded_at": fact.recorded_at.isoformat(),
                "status": _status(fact, retracted_by, corrected_by, refused),
                "changed_state": fact.event_id in effective,
                "source": {"topic": fact.topic, "partition": fact.partition, "offset": fact.offset},
                "data": dict(fact.data),
                # Personal fields a `ketenlog erase` destroyed: null in `data`, unreadable.
                "erased": list(erased.get(fact.event_id, ())),
            }
        )
    return {
        "person_key": person_key,
        "events": events,
        "states": [
            {
                "event_id": c.event_id,
                "occurred_at": c.occurred_at.isoformat(),
                "lifecycle": c.lifecycle,
                "subject": c.subject,
                "from": c.from_state,
                "to": c.to_state,
            }
            for c in row.changes
        ],
        "anomalies": [
            {
                "kind": a.kind,
                "event_id": a.event_id,
                "occurred_at": a.occurred_at.isoformat() if a.occurred_at else None,
                "case_id": a.case_id,
                "detail": a.detail,
            }
            for a in row.anomalies
        ],
    }


def _status(
    fact: Fact,
    retracted_by: dict[str, str],
    corrected_by: dict[str, str],
    refused: dict[str, str],
) -> str:
    if fact.event_id in refused:
        verb = "retracts" if fact.retracts is not None else "corrects"
        return f"refused: {verb} {target_of(fact)}, an event of {refused[fact.event_id]}"
    if fact.event_type == RETRACTION or fact.retracts is not None:
        return f"retracts {fact.retracts}"
    if fact.event_id in retracted_by:
        return f"retracted by {retracted_by[fact.event_id]}"
    if fact.event_id in corrected_by:
        return f"corrected by {corrected_by[fact.event_id]}"
    if fact.corrects is not None:
        return f"corrects {fact.corrects}"
    return "as recorded"
