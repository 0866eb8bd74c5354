"""The batch processor's history cache, without Kafka or PostgreSQL: folding from the worker's
memory must store exactly what folding from the store would, and a cache that another worker
made stale (it folded the same person in between) must not be used.

The store here is an in-memory implementation of processors.ports.ProcessingStore, applying
`keep_changes` / `keep_anomalies` the way the PostgreSQL store does, so a wrong prefix shows.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from processors.batch import BatchProcessor
from producers.prepare import Preparer
from producers.submission import Submission
from schemas.records import Raw
from tests.unit.memory_store import NOW, T0, MemoryStore, processor

TOPIC = "keten.coa.events"


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
