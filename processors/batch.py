"""The work of one batch, end to end: gate the records, drop duplicates, refold every touched
person and store facts, states and positions in one transaction, and send the timeline and the
dead letters (waiting for the broker) before it commits. No faust here: the app hands batches to
`handle`. A batch the store refuses, or the fold fails on, is split until the one record
responsible is found; that record becomes a dead letter and the rest go on.

Order matters for crash safety: the Kafka sends are acknowledged before the transaction
commits, so a crash can repeat a batch (the store's positions did not move) but never lose one.
A repeated batch sends a timeline record again with the same event id; the store keeps every
event once and the fold is a function of the stored history, so the state is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.derive import derive
from domain.erasure import ERASED, erase_personal
from domain.facts import Fact
from domain.lifecycle.effective import target_of
from processors.checks import Reason, Rejected
from processors.history_cache import Entry, HistoryCache, common_prefix, same_contributions
from processors.ports import PersonWrite, ProcessingStore, ProcessingTx, TopicPartition
from processors.timeline import Outgoing, deadletter, gate, new_facts, refuse_foreign
from schemas.codec import Codec
from schemas.records import Raw
from schemas.sealing import OpeningKeys
from schemas.signature import Verifier
from schemas.topics import DEADLETTER, TIMELINE

# Sends the records to the topic and returns once the broker acknowledged every one of them.
Send = Callable[[str, list[Outgoing]], Awaitable[None]]
Seek = Callable[[TopicPartition, int], Awaitable[None]]
Earliest = Callable[[list[TopicPartition]], Awaitable[dict[TopicPartition, int]]]
RecordFault = Callable[[datetime, str], Awaitable[None]]
# A partition sought back whose re-read has not come within this long is sought again.
RESEEK_AFTER_S = 5.0


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
    isolations: int = 0
    faults: int = 0
    """Times a batch failed for a fault of the store or the broker, and was tried again."""
    """Batches split because the store refused them or the fold failed on them."""


class RecordFaultError(Exception):
    """Some record of the batch cannot be stored or folded; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        signatures: Verifier | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_persons: int = 100_000,
        person_keys: OpeningKeys | None = None,
    ) -> None:
        self.consumer = consumer
        self._codec = codec
        self._store = store
        self._send = send
        self._seek = seek
        self._earliest = earliest
        self._partitions = partitions
        self._signatures = signatures
        self._clock = clock
        self.positions: dict[TopicPartition, int] = {}
        self._log_start: dict[TopicPartition, int] = {}
        # Partitions sought back to an offset whose re-read has not arrived yet, and when.
        self._sought: dict[TopicPartition, tuple[int, float]] = {}
        self.counters = Counters()
        self.last_error: tuple[datetime, str] | None = None
        self._unrecorded: list[tuple[datetime, str]] = []
        self.last_commit: datetime | None = None
        self._cache = HistoryCache(cache_persons)
        self._person_keys = person_keys

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
        for r in fresh:
            self._sought.pop((r.topic, r.partition), None)
        # The records already fetched behind a jump ahead show the same gap until the re-read
        # arrives: seeking again each time would throw the re-read away. Seek once, and again
        # only if the re-read is that late (a rebalance can undo a seek).
        now = time.monotonic()
        due = {
            tp: offset
            for tp, offset in gaps.items()
            if self._sought.get(tp, (None, 0.0))[0] != offset
            or now - self._sought[tp][1] > RESEEK_AFTER_S
        }
        if due:
            earliest = await self._earliest(list(due))
            for tp, offset in due.items():
                # Offsets below the log start no longer exist: continue from the log start.
                self._log_start[tp] = earliest.get(tp, 0)
                await self._seek(tp, max(offset, self._log_start[tp]))
                self._sought[tp] = (offset, now)
                self.counters.seeks += 1
        if fresh:
            await self._isolating(fresh)

    async def handle_surviving(
        self,
        records: list[Raw],
        say: Callable[[str], None],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_delay_s: float = 30.0,
        on_fault: RecordFault | None = None,
    ) -> None:
        """`handle`, riding out faults of the store or the broker: wait (doubling, up to
        `max_delay_s`), reconnect, reload the positions from the store (a commit may have gone
        through before the fault was seen) and try the same records again, until they are
        applied. Nothing is skipped and nothing needs a hand. `on_fault` keeps each fault
        where an operator's `ketenlog status` sees it (retried until it is kept: the store may
        be what failed)."""
        delay = 1.0
        while True:
            try:
                await self.handle(records)
            except Exception as exc:
                self.counters.faults += 1
                self.last_error = (self._clock(), f"{type(exc).__name__}: {exc}".strip())
                self._unrecorded.append(self.last_error)
                say(f"process: {self.last_error[1]}; trying again in {delay:.0f} s")
                await self._record_faults(on_fault)
                await sleep(delay)
                delay = min(delay * 2, max_delay_s)
                with contextlib.suppress(Exception):
                    await self._store.reconnect()
                    await self.load_positions()
                continue
            if self.counters.faults and delay > 1.0:
                say("process: recovered; carrying on where the store's positions end")
            await self._record_faults(on_fault)
            return

    async def _record_faults(self, on_fault: RecordFault | None) -> None:
        while on_fault is not None and self._unrecorded:
            try:
                await on_fault(*self._unrecorded[0])
            except Exception:
                return
            self._unrecorded.pop(0)

    async def _isolating(self, fresh: list[Raw]) -> None:
        """Apply the records; when the store refuses them or the fold fails on them, apply each
        half on its own, down to the one record responsible, which becomes a dead letter with
        the error as its reason. Nothing is sent before the store has taken the batch, so a
        refused batch sends nothing and its halves send each record once."""
        try:
            await self._apply(fresh)
        except RecordFaultError as fault:
            self.counters.isolations += 1
            if len(fresh) == 1:
                await self._refuse(fresh[0], fault.reason)
                return
            middle = len(fresh) // 2
            await self._isolating(fresh[:middle])
            await self._isolating(fresh[middle:])

    async def _apply(self, fresh: list[Raw]) -> None:
        result = gate(
            self._codec,
            fresh,
            self._clock(),
            partitions=self._partitions,
            signatures=self._signatures,
            keys=None if self._person_keys is None else self._person_keys.key,
        )
        try:
            async with self._store.transaction() as tx:
                # Every accepted record's person is locked, also one whose records all turn
                # out to be duplicates: one round trip for the locks, the duplicates and the
                # stored states' fact counts.
                seen, stored = await tx.start(
                    [fact.key for _, fact in result.accepted],
                    sorted({fact.person_key for _, fact in result.accepted}),
                )
                new = new_facts(result.accepted, seen)
                persons = sorted({fact.person_key for _, fact in new})
                histories = await self._histories(tx, persons, stored)
                judged = {fact.person_key for _, fact in new if target_of(fact) is not None}
                known = {key: {f.event_id: f.producer for f in histories[key][1]} for key in judged}
                # Refused ones are dead letters, but stored: the fold must see them to record
                # the anomaly, as it does for one whose target arrives after it.
                split = refuse_foreign(new, known, self._clock())
                await tx.add_facts([fact for _, fact in new])
                folded, purged = self._fold(histories, [fact for _, fact in new], persons)
                # An erasure: no clear personal value of the person stays in the store.
                await tx.replace_facts(purged)
                await tx.put_persons([write for write, _ in folded])
                await tx.advance(self.consumer, result.positions)
                deadletters = [*result.deadletters, *split.deadletters]
                # Acknowledged before the commit: a crash repeats the batch, never loses it.
                await asyncio.gather(
                    self._send(
                        TIMELINE, [Outgoing(r.key, r.value, r.headers) for r, _ in split.accepted]
                    ),
                    self._send(DEADLETTER, deadletters),
                )
        except RecordFaultError:
            raise
        except Exception as exc:
            reason = self._store.refusal(exc)
            if reason is None:
                raise
            raise RecordFaultError(reason) from exc
        self.last_commit = self._clock()
        # Only what committed may be remembered.
        for write, facts in folded:
            self._cache.put(write.row.person_key, facts, write.row)
        if self._person_keys is not None:
            for _, fact in new:
                if fact.event_type == ERASED:
                    self._person_keys.forget(fact.person_key)
        self._advanced(result.positions)
        c = self.counters
        c.batches += 1
        c.records += len(fresh)
        c.accepted += len(split.accepted)
        c.duplicates += len(result.accepted) - len(new)
        c.persons += len(persons)
        c.cache_hits, c.cache_misses = self._cache.hits, self._cache.misses
        self._count_deadletters(deadletters)

    async def _refuse(self, raw: Raw, reason: str) -> None:
        """The one record the store or the fold cannot take: a dead letter, and move on."""
        dead = deadletter(raw, Rejected(Reason.STORE_REFUSED, reason[:2000]), self._clock())
        positions = {(raw.topic, raw.partition): raw.offset + 1}
        async with self._store.transaction() as tx:
            await tx.advance(self.consumer, positions)
            await self._send(DEADLETTER, [dead])
        self._advanced(positions)
        self.counters.records += 1
        self._count_deadletters([dead])

    def _advanced(self, positions: dict[TopicPartition, int]) -> None:
        for tp, offset in positions.items():
            self.positions[tp] = max(self.positions.get(tp, 0), offset)

    def _count_deadletters(self, deadletters: list[Outgoing]) -> None:
        self.counters.deadletters += len(deadletters)
        for dead in deadletters:
            reason = dict(dead.headers).get("dl_reason", b"?").decode()
            self.counters.by_reason[reason] = self.counters.by_reason.get(reason, 0) + 1

    async def _histories(
        self, tx: ProcessingTx, persons: list[str], stored: dict[str, int]
    ) -> dict[str, tuple[Entry | None, list[Fact]]]:
        """Every touched person's stored history, from the cache when it still matches the
        store (`stored`: the fact counts of the stored states), else from the store. Runs
        under the persons' locks."""
        cached = {key: self._cache.valid(key, stored.get(key)) for key in persons}
        # No stored state means no earlier facts: state and facts are written together.
        reload = [key for key in persons if cached[key] is None and key in stored]
        loaded = await tx.histories(reload) if reload else {}
        out: dict[str, tuple[Entry | None, list[Fact]]] = {}
        for key in persons:
            entry = cached[key]
            out[key] = (entry, entry.facts if entry is not None else loaded.get(key, []))
        return out

    def _fold(
        self,
        histories: dict[str, tuple[Entry | None, list[Fact]]],
        new: list[Fact],
        persons: list[str],
    ) -> tuple[list[tuple[PersonWrite, list[Fact]]], list[Fact]]:
        """Fold every touched person again over their whole history (late events and
        corrections can change any part of it); also the stored facts an erasure changed."""
        arrived: dict[str, list[Fact]] = {key: [] for key in persons}
        for fact in new:
            arrived[fact.person_key].append(fact)
        writes = []
        purged: list[Fact] = []
        for key in persons:
            entry, before = histories[key]
            facts, changed = erase_personal(before + arrived[key])
            purged.extend(changed)
            try:
                row = derive(key, facts)
            except Exception as exc:
                # A history the fold cannot take is the data's fault, not the worker's.
                raise RecordFaultError(f"the lifecycle fold failed: {exc!r}") from exc
            keep_changes = keep_anomalies = 0
            same: frozenset[str] = frozenset()
            if entry is not None:
                keep_changes = common_prefix(entry.row.changes, row.changes)
                keep_anomalies = common_prefix(entry.row.anomalies, row.anomalies)
                # A valid entry's rows are what the store holds: a projection whose rows did
                # not move is not rewritten (most facts move only one or two of them).
                same = same_contributions(entry.row, row)
            writes.append((PersonWrite(row, len(facts), keep_changes, keep_anomalies, same), facts))
        return writes, purged
