"""An in-memory processors.ports.ProcessingStore for unit tests of the batch processor: it
applies `keep_changes` / `keep_anomalies` / `same_contributions` the way the PostgreSQL store
does, so a wrong prefix or a projection wrongly left alone shows, and counts reloads of
histories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.derive import AnomalyRow, ChangeRow
from domain.facts import Fact
from processors.batch import BatchProcessor
from processors.ports import PersonWrite, TopicPartition
from processors.timeline import Outgoing
from producers.prepare import Preparer
from producers.submission import Submission
from schemas.codec import default_codec
from schemas.records import Raw

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
T0 = NOW - timedelta(days=100)


class RefusedError(Exception):
    """What a test's store raises to refuse data (as PostgreSQL refuses a NUL)."""


class MemoryTx:
    def __init__(self, store: MemoryStore) -> None:
        self.s = store

    async def start(
        self, keys: list[tuple[str, str]], person_keys: list[str]
    ) -> tuple[set[tuple[str, str]], dict[str, int]]:
        seen = {k for k in keys if k in self.s.facts}
        return seen, {k: self.s.counts[k] for k in person_keys if k in self.s.counts}

    async def histories(self, person_keys: list[str]) -> dict[str, list[Fact]]:
        self.s.reloads += len(person_keys)
        return {k: [f for f in self.s.facts.values() if f.person_key == k] for k in person_keys}

    async def add_facts(self, facts: list[Fact]) -> None:
        if any(f.event_id in self.s.refused_events for f in facts):
            raise RefusedError("index row requires 8296 bytes, maximum size is 8191")
        for f in facts:
            self.s.facts.setdefault(f.key, f)

    async def replace_facts(self, facts: list[Fact]) -> None:
        for f in facts:
            self.s.facts[f.key] = f

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
            if w.row.contributions:
                held = self.s.contributions.setdefault(key, {})
                for name, rows in w.row.contributions.items():
                    if name not in w.same_contributions:
                        held[name] = list(rows)

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
        self.contributions: dict[str, dict[str, list[tuple[object, ...]]]] = {}
        self.offsets: dict[TopicPartition, int] = {}
        self.reloads = 0
        # Event ids whose facts this store refuses to hold (as PostgreSQL refuses a NUL).
        self.refused_events: set[str] = set()

    async def positions(self, consumer: str) -> dict[TopicPartition, int]:
        return dict(self.offsets)

    def transaction(self) -> AbstractAsyncContextManager[MemoryTx]:
        return self._tx()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[MemoryTx]:
        # All or nothing, as a database transaction: a failure puts everything back.
        saved = [dict(d) for d in self._tables()]
        try:
            yield MemoryTx(self)
        except BaseException:
            for table, copy in zip(self._tables(), saved, strict=True):
                table.clear()
                table.update(copy)
            raise

    def _tables(self) -> list[dict[Any, Any]]:
        return [
            self.facts,
            self.counts,
            self.states,
            self.changes,
            self.anomalies,
            self.contributions,
            self.offsets,
        ]

    def refusal(self, error: BaseException) -> str | None:
        return str(error) if isinstance(error, RefusedError) else None

    async def reconnect(self) -> None:
        return None

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


def sending(proc: BatchProcessor) -> dict[str, list[Outgoing]]:
    """What `proc` sends from now on, by topic (the timeline and the dead letter)."""
    sent: dict[str, list[Outgoing]] = {"keten.timeline": [], "keten.deadletter": []}

    async def send(topic: str, outs: list[Outgoing]) -> None:
        sent[topic].extend(outs)

    proc._send = send
    return sent


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
