"""An in-memory processors.ports.ProcessingStore for unit tests of the batch processor: it
applies `keep_changes` / `keep_anomalies` the way the PostgreSQL store does, so a wrong prefix
shows, and counts reloads of histories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta

from domain.derive import AnomalyRow, ChangeRow
from domain.facts import Fact
from processors.batch import BatchProcessor
from processors.ports import PersonWrite, TopicPartition
from processors.timeline import Outgoing
from schemas.codec import default_codec

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
T0 = NOW - timedelta(days=100)


class MemoryTx:
    def __init__(self, store: MemoryStore) -> None:
        self.s = store

    async def seen(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        return {k for k in keys if k in self.s.facts}

    async def lock_persons(self, person_keys: list[str]) -> None:
        return None

    async def fact_counts(self, person_keys: list[str]) -> dict[str, int]:
        return {k: self.s.counts[k] for k in person_keys if k in self.s.counts}

    async def histories(self, person_keys: list[str]) -> dict[str, list[Fact]]:
        self.s.reloads += len(person_keys)
        return {k: [f for f in self.s.facts.values() if f.person_key == k] for k in person_keys}

    async def add_facts(self, facts: list[Fact]) -> None:
        for f in facts:
            self.s.facts.setdefault(f.key, f)

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
        self.facts: dict[tuple[str, str], Fact] = {}
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


def processor(store: MemoryStore, partitions: int | None = None) -> BatchProcessor:
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
        seek=seek,
        earliest=earliest,
        partitions=partitions,
        clock=lambda: NOW,
    )
