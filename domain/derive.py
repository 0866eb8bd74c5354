"""The one way a person's history becomes their stored row — lifecycle state, changes,
anomalies and the rows they contribute to each projection — shared by the live processor,
replay, verify and as-known-at queries, so they cannot drift apart. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.contributions import contributions
from domain.facts import Fact
from domain.lifecycle import fold


@dataclass(frozen=True, slots=True)
class ChangeRow:
    event_id: str
    occurred_at: datetime
    lifecycle: str
    subject: str
    from_state: str | None
    to_state: str


@dataclass(frozen=True, slots=True)
class AnomalyRow:
    kind: str
    event_id: str | None
    occurred_at: datetime | None
    case_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class PersonRow:
    """A person's derived state as stored: the fold's JSON and its changes and anomalies."""

    person_key: str
    state_json: str
    events: int
    changes: list[ChangeRow]
    anomalies: list[AnomalyRow]
    # What the person contributes to the projections, per projection table (replaced whole).
    contributions: Mapping[str, list[tuple[object, ...]]] = field(default_factory=dict)


def derive(person_key: str, facts: list[Fact]) -> PersonRow:
    """The person's stored row, folded from their whole history `facts`."""
    state = fold(facts)
    return PersonRow(
        person_key=person_key,
        state_json=state.to_json(),
        events=len(state.event_ids),
        changes=[
            ChangeRow(
                c.event_id, c.occurred_at, c.lifecycle.value, c.subject, c.from_state, c.to_state
            )
            for c in state.changes
        ],
        anomalies=[
            AnomalyRow(a.kind.value, a.event_id, a.occurred_at, a.case_id, a.detail)
            for a in state.anomalies
        ],
        contributions=contributions(state, facts),
    )
