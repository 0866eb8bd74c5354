"""The work of one batch, end to end: gate the records, drop duplicates, send the timeline and
the dead letters (and wait for the broker), then refold every touched person and store facts,
states and positions in one transaction. No faust here: the app hands batches to `handle`.

Order matters for crash safety: the Kafka sends are acknowledged before the transaction
commits, so a crash can repeat a batch (the store's positions did not move) but never lose one.
A repeated batch sends a timeline record again with the same event id; the store keeps every
event once and the fold is a function of the stored history, so the state is the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.derive import derive
from domain.facts import Fact
from processors.history_cache import HistoryCache, common_prefix
from processors.ports import PersonWrite, ProcessingStore, ProcessingTx, TopicPartition
from processors.timeline import Outgoing, gate, new_facts
from schemas.codec import Codec
from schemas.records import Raw
from schemas.topics import DEADLETTER, TIMELINE

# Sends the records to the topic and returns once the broker acknowledged every one of them.
Send = Callable[[str, list[Outgoing]], Awaitable[None]]
Seek = Callable[[TopicPartition, int], Awaitable[None]]
Earliest = Callable[[list[TopicPartition]], Awaitable[dict[TopicPartition, int]]]


@dataclass
class Counters:
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    deadletters: int = 0
    persons: int = 0
    batches: int = 0
    skipped: int = 0
    seeks: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class BatchProcessor:
    """Everything a worker does with a batch; I/O comes in through `store` and `send`."""

    def __init__(
        self,
        consumer: str,
        *,
        codec: Codec,
        store: ProcessingStore,
        send: Send,
        seek: Seek,
        earliest: Earliest,
        partitions: int | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_persons: int = 100_000,
    ) -> None:
        self.consumer = consumer
        self._codec = codec
        self._store = store
        self._send = send
        self._seek = seek
        self._earliest = earliest
        self._partitions = partitions
        self._clock = clock
        self.positions: dict[TopicPartition, int] = {}
        self._log_start: dict[TopicPartition, int] = {}
        self.counters = Counters()
        self._cache = HistoryCache(cache_persons)

    async def load_positions(self) -> dict[TopicPartition, int]:
        self.positions = await self._store.positions(self.consumer)
        return self.positions

    def in_order(self, records: list[Raw]) -> tuple[list[Raw], dict[TopicPartition, int]]:
        """The records that continue each partition exactly where the stored work ends, and
        the partitions that jumped ahead of it (with the offset to go back to).

        Below the stored position: applied before (a redelivery after a crash or rebalance),
        skipped. Above it: Kafka's committed offset ran ahead of the store (a crash between
        the two commits, or a store that was reset), so the partition must be re-read from
        the stored position; the store, not Kafka, is the system of record."""
        cursor: dict[TopicPartition, int] = {}
        gaps: dict[TopicPartition, int] = {}
        fresh: list[Raw] = []
        for r in records:
            tp = (r.topic, r.partition)
            if tp in gaps:
                continue
            expected = cursor.get(tp)
            if expected is None:
                expected = max(self.positions.get(tp, 0), self._log_start.get(tp, 0))
            if r.offset < expected:
                self.counters.skipped += 1
            elif r.offset == expected:
                fresh.append(r)
                cursor[tp] = r.offset + 1
            else:
                gaps[tp] = expected
        return fresh, gaps

    async def handle(self, records: list[Raw]) -> None:
        fresh, gaps = self.in_order(records)
        if gaps:
            earliest = await self._earliest(list(gaps))
            for tp, offset in gaps.items():
                # Offsets below the log start no longer exist: continue from the log start.
                self._log_start[tp] = earliest.get(tp, 0)
                await self._seek(tp, max(offset, self._log_start[tp]))
                self.counters.seeks += 1
        if not fresh:
            return
        result = gate(self._codec, fresh, self._clock(), partitions=self._partitions)
        async with self._store.transaction() as tx:
            seen = await tx.seen([fact.key for _, fact in result.accepted])
            new = new_facts(result.accepted, seen)
            await asyncio.gather(
                self._send(TIMELINE, [Outgoing(r.key, r.value, r.headers) for r, _ in new]),
                self._send(DEADLETTER, result.deadletters),
            )
            persons = sorted({fact.person_key for _, fact in new})
            await tx.lock_persons(persons)
            await tx.add_facts([fact for _, fact in new])
            folded = await self._refold(tx, [fact for _, fact in new], persons)
            await tx.put_persons([write for write, _ in folded])
            await tx.advance(self.consumer, result.positions)
        # Only what committed may be remembered.
        for write, facts in folded:
            self._cache.put(write.row.person_key, facts, write.row)
        for tp, offset in result.positions.items():
            self.positions[tp] = max(self.positions.get(tp, 0), offset)
        c = self.counters
        c.batches += 1
        c.records += len(fresh)
        c.accepted += len(new)
        c.duplicates += len(result.accepted) - len(new)
        c.deadletters += len(result.deadletters)
        c.persons += len(persons)
        c.cache_hits, c.cache_misses = self._cache.hits, self._cache.misses
        for dead in result.deadletters:
            reason = dict(dead.headers).get("dl_reason", b"?").decode()
            c.by_reason[reason] = c.by_reason.get(reason, 0) + 1

    async def _refold(
        self, tx: ProcessingTx, new: list[Fact], persons: list[str]
    ) -> list[tuple[PersonWrite, list[Fact]]]:
        """Fold every touched person again over their whole history (late events and
        corrections can change any part of it); the history comes from the cache when it still
        matches the store, else from the store. Runs under the persons' locks."""
        arrived: dict[str, list[Fact]] = {key: [] for key in persons}
        for fact in new:
            arrived[fact.person_key].append(fact)
        stored = await tx.fact_counts(persons)
        cached = {key: self._cache.valid(key, stored.get(key)) for key in persons}
        # No stored state means no earlier facts: state and facts are written together.
        reload = [key for key in persons if cached[key] is None and key in stored]
        loaded = await tx.histories(reload) if reload else {}
        writes = []
        for key in persons:
            entry = cached[key]
            if entry is not None:
                facts = entry.facts + arrived[key]
            else:
                facts = loaded.get(key) or arrived[key]
            row = derive(key, facts)
            keep_changes = keep_anomalies = 0
            if entry is not None:
                keep_changes = common_prefix(entry.row.changes, row.changes)
                keep_anomalies = common_prefix(entry.row.anomalies, row.anomalies)
            writes.append((PersonWrite(row, len(facts), keep_changes, keep_anomalies), facts))
        return writes
