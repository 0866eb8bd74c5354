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
from typing import Any

from processors.facts import Fact
from processors.ports import PersonRow, ProcessingStore, TopicPartition
from processors.timeline import Outgoing, Raw, gate, new_facts
from schemas.codec import Codec
from schemas.topics import DEADLETTER, TIMELINE

Send = Callable[[str, Outgoing], Awaitable[Any]]
Derive = Callable[[str, list[Fact]], PersonRow]
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
        derive: Derive,
        seek: Seek,
        earliest: Earliest,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.consumer = consumer
        self._codec = codec
        self._store = store
        self._send = send
        self._derive = derive
        self._seek = seek
        self._earliest = earliest
        self._clock = clock
        self.positions: dict[TopicPartition, int] = {}
        self._log_start: dict[TopicPartition, int] = {}
        self.counters = Counters()

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
        result = gate(self._codec, fresh, self._clock())
        async with self._store.transaction() as tx:
            seen = await tx.seen([fact.event_id for _, fact in result.accepted])
            new = new_facts(result.accepted, seen)
            sends = [self._send(TIMELINE, Outgoing(r.key, r.value, r.headers)) for r, _ in new]
            sends += [self._send(DEADLETTER, dead) for dead in result.deadletters]
            await asyncio.gather(*sends)
            persons = sorted({fact.person_key for _, fact in new})
            await tx.lock_persons(persons)
            await tx.add_facts([fact for _, fact in new])
            histories = await tx.histories(persons)
            await tx.put_persons([self._derive(key, histories[key]) for key in persons])
            await tx.advance(self.consumer, result.positions)
        for tp, offset in result.positions.items():
            self.positions[tp] = max(self.positions.get(tp, 0), offset)
        c = self.counters
        c.batches += 1
        c.records += len(fresh)
        c.accepted += len(new)
        c.duplicates += len(result.accepted) - len(new)
        c.deadletters += len(result.deadletters)
        c.persons += len(persons)
        for dead in result.deadletters:
            reason = dict(dead.headers).get("dl_reason", b"?").decode()
            c.by_reason[reason] = c.by_reason.get(reason, 0) + 1
