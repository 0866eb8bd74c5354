"""Rebuilding every projection from the log: the batch path that `ketenlog replay` (from Kafka
or from an archive) and `ketenlog verify` share. Reads a source partition group by partition
group (all topics share one partitioner, so partition p of every topic holds the same
persons), folds each group with processors.replay and bulk-loads it into a fresh schema.

Groups are independent, so worker processes take them in parallel (one per core by default);
each reads, folds and loads its own groups on its own connection. The schema is invisible to
readers until the swap, so a group committing before another is harmless; a failure drops it.
The tables are loaded bare and their keys and indexes built once at the end (faster than
maintaining them row by row; a duplicate key fails the replay).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import queue
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from infra.kafka_log import Part
from infra.person_keys import PersonKeyStore
from infra.read_ahead import read_ahead
from infra.signing_keys import verifier_from
from processors.kafka_batches import BackgroundSender
from processors.ports import TopicPartition
from processors.replay import Emit, fold_records
from processors.timeline import Outgoing
from projections import replay_store
from projections.db import connect
from schemas.access import KafkaAccess
from schemas.codec import default_codec
from schemas.records import Raw
from schemas.topics import DEADLETTER, TIMELINE


class Source(Protocol):
    """Where the records come from: the live Kafka log or an exported archive. Must pickle
    (worker processes get a copy) and open what it reads lazily."""

    def records(self, parts: Sequence[Part]) -> Iterator[Raw]:
        """Every record of each (topic, partition, start, stop) in turn: those with
        start <= offset < stop, in offset order."""
        ...


class IncompleteSourceError(RuntimeError):
    """The source ended before the offsets the replay was asked to reach."""


@dataclass
class Rebuilt:
    records: int = 0
    facts: int = 0
    persons: int = 0
    duplicates: int = 0
    deadletters: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    positions: dict[TopicPartition, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def add(self, other: Rebuilt) -> None:
        self.records += other.records
        self.facts += other.facts
        self.persons += other.persons
        self.duplicates += other.duplicates
        for reason, n in other.deadletters.items():
            self.deadletters[reason] = self.deadletters.get(reason, 0) + n
        self.positions.update(other.positions)


@dataclass(frozen=True)
class Sends:
    """For the timeline processor's catch-up (ketenlog.catching_up): send what the live path
    sends — timeline records and dead letters — for every record at or after `since` on its
    partition (the live worker sent those before), acknowledged before the group is loaded."""

    kafka: KafkaAccess
    since: tuple[tuple[TopicPartition, int], ...]


@dataclass(frozen=True)
class _Group:
    dsn: str
    schema: str
    consumer: str
    source: Source
    upto: tuple[tuple[TopicPartition, int], ...]
    partitions: int
    signing_keys: dict[str, Any]
    """The public-key registry the records' signatures are checked against."""
    person_keys: str | None = None
    """The person key store's file, to open sealed personal fields (None: they read None)."""
    sends: Sends | None = None


def rebuild(
    dsn: str,
    schema: str,
    source: Source,
    upto: dict[TopicPartition, int],
    *,
    consumer: str,
    tick: Callable[[int], None] | None = None,
    workers: int | None = None,
    phase: Callable[[str], None] | None = None,
    signing_keys: dict[str, Any] | None = None,
    person_keys: str | None = None,
    sends: Sends | None = None,
) -> Rebuilt:
    """Every record below `upto` folded into a fresh `schema` (whatever it held is dropped);
    positions are stored for `consumer`, so a live worker can continue where the replay ends.
    Raises IncompleteSourceError rather than build a partial replay. `phase` hears when the
    records are all loaded and the keys and indexes are being built. `sends`: also send the
    timeline and dead letters the live path would have (the processor's catch-up)."""
    start = time.perf_counter()
    # Every topic has the same partition count (schemas/topics.py); the gate checks each
    # record is on its key's partition, as the live path does.
    partitions = 1 + max((p for _, p in upto), default=0)
    with connect(dsn) as conn:
        replay_store.fresh_schema(conn, schema)
        keys = replay_store.take_keys_off(conn, schema)
    groups = [
        _Group(
            dsn,
            schema,
            consumer,
            source,
            tuple(sorted((tp, stop) for tp, stop in upto.items() if tp[1] == p and stop > 0)),
            partitions,
            signing_keys or {"keys": []},
            person_keys,
            sends,
        )
        for p in sorted({p for _, p in upto})
    ]
    groups = [g for g in groups if g.upto]
    n = max(1, min(workers or os.cpu_count() or 1, len(groups)))
    out = _sequential(groups, tick) if n == 1 else _parallel(groups, n, tick)
    if phase is not None:
        phase(f"records loaded; building {len(keys)} keys and indexes")
    with connect(dsn) as conn:
        replay_store.put_keys_back(conn, keys)
    out.seconds = time.perf_counter() - start
    return out


def _sequential(groups: list[_Group], tick: Callable[[int], None] | None) -> Rebuilt:
    out = Rebuilt()
    for group in groups:
        out.add(_fold_and_load(group, tick))
    return out


# Set in each worker process by the pool's initializer: where it reports records done.
_progress: Any = None


def _init_worker(progress: Any) -> None:
    global _progress  # noqa: PLW0603 - one per worker process, set once at its start
    _progress = progress


def _worker(group: _Group) -> Rebuilt:
    return _fold_and_load(group, _progress.put)


def _parallel(groups: list[_Group], n: int, tick: Callable[[int], None] | None) -> Rebuilt:
    # spawn, not fork: a forked child would share the parent's database socket.
    context = multiprocessing.get_context("spawn")
    progress = context.Queue()
    out = Rebuilt()
    with ProcessPoolExecutor(
        n, mp_context=context, initializer=_init_worker, initargs=(progress,)
    ) as pool:
        pending: set[Future[Rebuilt]] = {pool.submit(_worker, g) for g in groups}
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            _drain(progress, tick)
            for future in done:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise future.exception()  # type: ignore[misc]
                out.add(future.result())
        _drain(progress, tick)
    return out


def _drain(progress: Any, tick: Callable[[int], None] | None) -> None:
    while True:
        try:
            n = progress.get_nowait()
        except queue.Empty:
            return
        if tick is not None:
            tick(n)


def _fold_and_load(group: _Group, tick: Callable[[int], None] | None) -> Rebuilt:
    with _no_cycle_collection():
        return _fold_and_load_group(group, tick)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """A group holds a few hundred thousand facts alive until it is loaded, and folding
    allocates millions of objects: every full collection would walk all of them again to
    find the few cycles a fold leaves (about a fifth of the fold's time). Collect once, after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


def _fold_and_load_group(group: _Group, tick: Callable[[int], None] | None) -> Rebuilt:
    upto = dict(group.upto)
    records = read_ahead(group.source.records([(t, p, 0, stop) for (t, p), stop in group.upto]))
    keys = None if group.person_keys is None else PersonKeyStore(Path(group.person_keys))
    if keys is not None:
        keys.preload()
    with contextlib.ExitStack() as stack:
        emit = None if group.sends is None else _emitter(stack, group.sends, group.partitions)
        folded = fold_records(
            default_codec(),
            records,
            set(),
            partitions=group.partitions,
            signatures=verifier_from(group.signing_keys),
            keys=None if keys is None else keys.key,
            on_records=tick,
            emit=emit,
            emit_from=None if group.sends is None else dict(group.sends.since),
        )
    if keys is not None:
        keys.close()
    short = {tp: folded.positions.get(tp, 0) for tp in upto}
    short = {tp: at for tp, at in short.items() if at < upto[tp]}
    if short:
        where = ", ".join(f"{t}[{p}] at {at} of {upto[(t, p)]}" for (t, p), at in short.items())
        raise IncompleteSourceError(f"the source ended early: {where}")
    with connect(group.dsn) as conn:
        replay_store.load(
            conn,
            group.schema,
            facts=folded.facts,
            persons=folded.persons,
            positions=folded.positions,
            consumer=group.consumer,
        )
    return Rebuilt(
        records=folded.records,
        facts=len(folded.facts),
        persons=len(folded.persons),
        duplicates=folded.duplicates,
        deadletters=folded.deadletters,
        positions=folded.positions,
    )


def _emitter(stack: contextlib.ExitStack, sends: Sends, partitions: int) -> Emit:
    # Closed when the group is folded: every send acknowledged before the group is loaded.
    sender = stack.enter_context(BackgroundSender(sends.kafka, partitions))

    def emit(timeline: list[Outgoing], deadletters: list[Outgoing]) -> None:
        sender.send(TIMELINE, timeline)
        sender.send(DEADLETTER, deadletters)

    return emit
