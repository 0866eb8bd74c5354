"""From a person's stored history to the row the store keeps: the lifecycle fold's state as
JSON, with its state changes (each with the event that caused it) and its anomalies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from processors.facts import Fact
from processors.lifecycle import PersonState, fold
from processors.ports import AnomalyRow, ChangeRow, PersonRow

Contributions = Callable[[PersonState, list[Fact]], Mapping[str, list[tuple[object, ...]]]]


def derive_person(
    person_key: str, facts: list[Fact], contributions: Contributions | None = None
) -> PersonRow:
    """`contributions` (projections.items.contributions in the worker) adds the person's rows
    for the projections."""
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
        contributions=contributions(state, facts) if contributions is not None else {},
    )
