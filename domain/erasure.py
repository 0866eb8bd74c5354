"""What an erasure (PersonErased, `ketenlog erase`) does to a person's history: every
personal field (schemas/sealing.py) of a fact the broker logged before the person's latest
erasure reads None — what the facts say once their sealed values no longer open. Applied by
the live fold and the replay alike, before the lifecycle fold, so live tables equal a replay
whichever copy of the key each saw, and the store keeps no clear personal value of them.
Depends on broker times only, so it does not depend on the order facts arrived in.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

from domain.facts import Fact
from schemas.registry import default_registry
from schemas.sealing import personal_fields

ERASED = "PersonErased"


@functools.cache
def personal_by_type() -> Mapping[str, tuple[str, ...]]:
    """Event type -> its personal fields (in its latest version)."""
    registry = default_registry()
    found = {t: personal_fields(registry.latest(t)) for t in registry.event_types()}
    return {t: fields for t, fields in found.items() if fields}


def erased_fields(facts: list[Fact]) -> dict[str, tuple[str, ...]]:
    """Event id -> the personal fields an erasure of the person took from it."""
    erasures = [f.logged_at for f in facts if f.event_type == ERASED]
    if not erasures:
        return {}
    # A fact without a broker time predates them: it is erased too.
    latest = max((t for t in erasures if t is not None), default=None)
    personal = personal_by_type()
    return {
        f.event_id: personal[f.event_type]
        for f in facts
        if f.event_type in personal
        and (latest is None or f.logged_at is None or f.logged_at < latest)
    }


def erase_personal(facts: list[Fact]) -> tuple[list[Fact], list[Fact]]:
    """The history with the erased personal fields set to None, and the facts that changed."""
    erased = erased_fields(facts)
    if not erased:
        return facts, []
    out, changed = [], []
    for fact in facts:
        fields = erased.get(fact.event_id, ())
        if any(fact.data.get(name) is not None for name in fields):
            data = {k: (None if k in fields else v) for k, v in fact.data.items()}
            changed.append(dataclasses.replace(fact, data=data))
            out.append(changed[-1])
        else:
            out.append(fact)
    return out, changed
