"""The one way a person's history becomes their stored row — lifecycle state, changes,
anomalies and projection rows — shared by the live processor, replay, verify and
as-known-at queries, so they cannot drift apart."""

from __future__ import annotations

from processors.derive import derive_person
from processors.facts import Fact
from processors.ports import PersonRow
from projections.items import contributions


def derive(person_key: str, facts: list[Fact]) -> PersonRow:
    return derive_person(person_key, facts, contributions)
