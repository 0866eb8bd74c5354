"""The batch processor's history cache, without Kafka or PostgreSQL: folding from the worker's
memory must store exactly what folding from the store would, and a cache that another worker
made stale (it folded the same person in between) must not be used.

The store here is an in-memory implementation of processors.ports.ProcessingStore, applying
`keep_changes` / `keep_anomalies` the way the PostgreSQL store does, so a wrong prefix shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from processors.batch import BatchProcessor
from processors.derive import derive_person
from processors.facts import Fact
from processors.ports import AnomalyRow, ChangeRow, PersonWrite, TopicPartition
from processors.timeline import Outgoing, Raw
from producers.prepare import Preparer
from producers.submission import Submission
from schemas.codec import default_codec

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
T0 = NOW - timedelta(days=100)
TOPIC = "keten.coa.events"


class MemoryTx:
    def __init__(self, store: MemoryStore) -> None:
        self.s = store

    async def seen(self, event_ids: list[str]) -> set[str]:
        return {e for e in event_ids if e in self.s.facts}

    async def lock_persons(self, person_keys: list[str]) -> None:
        return None

    async def fact_counts(self, person_keys: list[str]) -> dict[str, int]:
        return {k: self.s.counts[k] for k in person_keys if k in self.s.counts}

    async def histories(self, person_keys: list[str]) -> dict[str, list[Fact]]:
        self.s.reloads += len(person_keys)
        return {k: [f for f in self.s.facts.values() if f.person_key == k] for k in person_keys}

    async def add_facts(self, facts: list[Fact]) -> None:
        for f in facts:
            self.s.facts.setdefault(f.event_id, f)

    async def put_persons(self, writes: list[PersonWrite]) -> None:
        for w in writes:
            key = w.row.person_key
            self.s.counts[key] = w.facts
            self.s.changes[key] = (
                self.s.changes.get(key, [])[: w.keep_changes] + w.row.changes[w.keep_changes :]
            )
            self.s.anomalies[key] = (
                self.s.anomalies.get(key, [])[: w.keep_anomalies]
                + w.row.anomalies[w.keep_anomalies :]
            )
            self.s.states[key] = w.row.state_json

    async def advance(self, consumer: str, positions: dict[TopicPartition, int]) -> None:
        for tp, offset in positions.items():
            self.s.offsets[tp] = max(self.s.offsets.get(tp, 0), offset)


class MemoryStore:
    def __init__(self) -> None:
        self.facts: dict[str, Fact] = {}
        self.counts: dict[str, int] = {}
        self.states: dict[str, str] = {}
        self.changes: dict[str, list[ChangeRow]] = {}
        self.anomalies: dict[str, list[AnomalyRow]] = {}
        self.offsets: dict[TopicPartition, int] = {}
        self.reloads = 0

    async def positions(self, consumer: str) -> dict[TopicPartition, int]:
        return dict(self.offsets)

    def transaction(self) -> AbstractAsyncContextManager[MemoryTx]:
        return self._tx()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[MemoryTx]:
        yield MemoryTx(self)

    async def close(self) -> None:
        return None


def processor(store: MemoryStore) -> BatchProcessor:
    async def send(topic: str, outs: list[Outgoing]) -> None:
        return None

    async def seek(tp: TopicPartition, offset: int) -> None:
        return None

    async def earliest(tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {}

    return BatchProcessor(
        "test",
        codec=default_codec(),
        store=store,
        send=send,
        derive=derive_person,
        seek=seek,
        earliest=earliest,
        clock=lambda: NOW,
    )


PREPARER = Preparer(b"c" * 32, "urn:x", clock=lambda: NOW)


def coa(offset: int, type_: str, days: int, data: dict[str, Any]) -> Raw:
    sub = Submission(
        type=type_,
        v_nummer="1234567890",
        occurred_at=T0 + timedelta(days=days),
        ref=f"r{offset}",
        data=data,
    )
    p = PREPARER.prepare("COA", sub)
    return Raw(TOPIC, 0, offset, p.key, p.value, p.headers, int(NOW.timestamp() * 1000))


def history() -> list[Raw]:
    move = {"from_location_id": "COL-1", "reason": "PROCEDURE_PHASE", "minors_in_household": 0}
    return [
        coa(0, "ReceptionStarted", 1, {"reception_group": "ASYLUM_SEEKER"}),
        coa(1, "PlacedAtLocation", 2, {"location_id": "COL-1", "location_type": "COL"}),
        coa(2, "Relocated", 20, {**move, "to_location_id": "AZC-1", "to_location_type": "AZC"}),
        # Late: valid time before facts already folded, so later changes move.
        coa(3, "Relocated", 10, {**move, "to_location_id": "POL-1", "to_location_type": "POL"}),
        coa(4, "ReceptionEnded", 40, {"reason": "DEPARTED"}),
        # Ends twice: an anomaly, after the first end.
        coa(5, "ReceptionEnded", 41, {"reason": "OTHER"}),
    ]


def run(batches: list[tuple[MemoryStore, BatchProcessor, list[Raw]]]) -> None:
    async def go() -> None:
        for _, proc, raws in batches:
            await proc.handle(raws)

    asyncio.run(go())


def test_folding_from_the_cache_stores_what_folding_from_the_store_stores() -> None:
    records = history()
    cached, fresh = MemoryStore(), MemoryStore()
    one_by_one = processor(cached)
    run([(cached, one_by_one, [r]) for r in records])
    run([(fresh, processor(fresh), records)])
    (key,) = fresh.states
    assert cached.reloads == 0, "every batch after the first should fold from memory"
    assert cached.states == fresh.states
    assert cached.changes == fresh.changes and cached.changes[key]
    assert cached.anomalies == fresh.anomalies
    assert cached.counts == fresh.counts == {key: len(records)}


def test_a_cache_made_stale_by_another_worker_is_not_used() -> None:
    records = history()
    shared = MemoryStore()
    first, second = processor(shared), processor(shared)
    # The first worker folds the person, the partition moves to the second worker, which folds
    # a new fact, and comes back: the first worker's memory lacks that fact.
    run([(shared, first, records[:2])])
    second.positions = dict(shared.offsets)
    run([(shared, second, records[2:3])])
    first.positions = dict(shared.offsets)
    run([(shared, first, records[3:])])
    reference = MemoryStore()
    run([(reference, processor(reference), records)])
    assert shared.reloads >= 2, "the second worker and the stale first worker reload"
    assert shared.states == reference.states
    assert shared.changes == reference.changes
    assert shared.counts == reference.counts
