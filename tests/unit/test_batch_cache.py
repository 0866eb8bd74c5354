"""The batch processor's history cache, without Kafka or PostgreSQL: folding from the worker's
memory must store exactly what folding from the store would, and a cache that another worker
made stale (it folded the same person in between) must not be used.

The store here is an in-memory implementation of processors.ports.ProcessingStore, applying
`keep_changes` / `keep_anomalies` / `same_contributions` the way the PostgreSQL store does, so
a wrong prefix or a projection wrongly left alone shows.
"""

from __future__ import annotations

import asyncio

from processors.batch import BatchProcessor
from schemas.records import Raw
from tests.unit.memory_store import MemoryStore, history, processor

TOPIC = "keten.coa.events"


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
    assert cached.contributions == fresh.contributions and cached.contributions[key]
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
    assert shared.contributions == reference.contributions
    assert shared.counts == reference.counts
