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


def erase_personal(facts: list[Fact]) -> tuple[list[Fact], list[Fact]]:
    """The history with the erased personal fields set to None, and the facts that changed."""
    erasures = [f.logged_at for f in facts if f.event_type == ERASED]
    if not erasures:
        return facts, []
    # A fact without a broker time predates them: it is erased too.
    latest = max((t for t in erasures if t is not None), default=None)
    personal = personal_by_type()
    out, changed = [], []
    for fact in facts:
        fields = personal.get(fact.event_type, ())
        before = latest is None or fact.logged_at is None or fact.logged_at < latest
        if before and any(fact.data.get(name) is not None for name in fields):
            data = {k: (None if k in fields else v) for k, v in fact.data.items()}
            changed.append(dataclasses.replace(fact, data=data))
            out.append(changed[-1])
        else:
            out.append(fact)
    return out, changed
