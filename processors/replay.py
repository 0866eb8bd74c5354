"""The batch path of a replay: a whole partition group of agency records in, every person's
derived row out — the same gate, de-duplication and fold as the live path (processors.batch),
without its per-batch round trips. Pure: `ketenlog replay`/`verify` read the records (from
Kafka or an archive) and bulk-load what this returns.

Why the result equals the live path's: records are taken per partition in offset order (what
the live path does), the first occurrence of an event id wins (re-sends go to the same
partition, so "first" is the same), and a person's state is a function of the set of their
facts, whatever order they arrived in (the lifecycle's permutation property).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.derive import PersonRow, derive
from domain.erasure import erase_personal
from domain.facts import Fact
from domain.lifecycle.effective import target_of
from processors.checks import Reason
from processors.ports import FactKey, TopicPartition
from processors.timeline import Foreign, Gate, Outgoing, gate, refuse_foreign
from schemas.codec import Codec
from schemas.records import Raw
from schemas.sealing import KeyLookup
from schemas.signature import Verifier

# Gate in slices so the dead-letter list and decoded records of one slice stay small.
GATE_SLICE = 5_000

# Hears a slice's timeline records and dead letters (the live path's sends), in offset order.
Emit = Callable[[list[Outgoing], list[Outgoing]], None]


@dataclass
class Folded:
    """One partition group, folded: the facts to store in arrival order, every touched
    person's row with the number of facts it was folded from, and where each partition ends."""

    facts: list[Fact] = field(default_factory=list)
    """Every fact to store: those the gate accepted, and those it dead-lettered as
    FOREIGN_CORRECTION (stored, as the live path stores them, so the fold sees them)."""
    refused: list[Fact] = field(default_factory=list)
    """The FOREIGN_CORRECTION dead letters among `facts`."""
    persons: list[tuple[PersonRow, int]] = field(default_factory=list)
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    records: int = 0
    duplicates: int = 0
    deadletters: dict[str, int] = field(default_factory=dict)


def fold_records(
    codec: Codec,
    records: Iterable[Raw],
    seen: set[FactKey],
    *,
    partitions: int | None,
    signatures: Verifier | None = None,
    keys: KeyLookup | None = None,
    now: datetime | None = None,
    on_records: Callable[[int], None] | None = None,
    emit: Emit | None = None,
    emit_from: Mapping[TopicPartition, int] | None = None,
) -> Folded:
    """Gate, de-duplicate against `seen` (updated) and fold every person of `records`.
    `on_records` is told how many records each slice held (progress). `emit` hears, slice by
    slice, what the live path would have sent to the timeline and the dead letters for the
    records at or after `emit_from` (the processor's catch-up: the live path sent the rest)."""
    out = Folded()
    by_person: dict[str, list[Fact]] = {}
    clock = now or datetime.now(UTC)
    for chunk in _slices(records, GATE_SLICE):
        result = gate(codec, chunk, clock, partitions=partitions, signatures=signatures, keys=keys)
        out.records += len(chunk)
        for tp, offset in result.positions.items():
            out.positions[tp] = max(out.positions.get(tp, 0), offset)
        for dead in result.deadletters:
            reason = dict(dead.headers).get("dl_reason", b"?").decode()
            out.deadletters[reason] = out.deadletters.get(reason, 0) + 1
        new = []
        for raw, fact in result.accepted:
            if fact.key in seen:
                out.duplicates += 1
                continue
            seen.add(fact.key)
            new.append((raw, fact))
        known = {
            key: {f.event_id: f.producer for f in by_person.get(key, [])}
            for key in {fact.person_key for _, fact in new if target_of(fact) is not None}
        }
        split = refuse_foreign(new, known, clock)
        if emit is not None:
            _emit(emit, emit_from or {}, result, split)
        out.facts.extend(fact for _, fact in new)
        if split.refused:
            out.refused.extend(fact for _, fact in split.refused)
            foreign = Reason.FOREIGN_CORRECTION.value
            out.deadletters[foreign] = out.deadletters.get(foreign, 0) + len(split.refused)
        for _, fact in new:
            by_person.setdefault(fact.person_key, []).append(fact)
        if on_records is not None:
            on_records(len(chunk))
    purged: dict[tuple[str, str], Fact] = {}
    for key, facts in by_person.items():
        by_person[key], changed = erase_personal(facts)
        purged.update((fact.key, fact) for fact in changed)
    if purged:
        out.facts = [purged.get(fact.key, fact) for fact in out.facts]
        out.refused = [purged.get(fact.key, fact) for fact in out.refused]
    out.persons = [(derive(key, facts), len(facts)) for key, facts in by_person.items()]
    return out


def _emit(emit: Emit, since: Mapping[TopicPartition, int], gated: Gate, split: Foreign) -> None:
    def due(raw: Raw) -> bool:
        return raw.offset >= since.get((raw.topic, raw.partition), 0)

    timeline = [Outgoing(r.key, r.value, r.headers) for r, _ in split.accepted if due(r)]
    dead = [d for d, r in zip(gated.deadletters, gated.rejected, strict=True) if due(r)]
    dead += [d for d, (r, _) in zip(split.deadletters, split.refused, strict=True) if due(r)]
    emit(timeline, dead)


def _slices(records: Iterable[Raw], size: int) -> Iterable[list[Raw]]:
    chunk: list[Raw] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
