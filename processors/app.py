"""The faust worker of the timeline processor — the only module that imports faust.

It consumes every `keten.<org>.events` topic (co-partitioned by person key, so one worker holds
partition p of all of them and thus whole persons), hands batches to `BatchProcessor`, seeks
each assigned partition to the position stored with the state (not to Kafka's committed
offset), and reports progress and lag. Faust tables and faust's exactly-once mode are not used:
the PostgreSQL store, written in one transaction with the positions, is the system of record.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TP

from processors import checks
from processors.batch import BatchProcessor, Earliest, RecordFault, Seek, Send
from processors.kafka_batches import send_batches
from processors.log_noise import quiet_expected_noise
from processors.timeline import Outgoing
from schemas.access import KafkaAccess
from schemas.records import Raw
from schemas.topics import event_topics

log = logging.getLogger("ketenlog.process")


@dataclass(frozen=True)
class WorkerConfig:
    group: str
    kafka: KafkaAccess
    partitions: int
    # The most records in a batch, and in one take of faust's stream: large takes while more
    # of the log is waiting (a backlog) are gathered into one batch (see `timeline`).
    batch_size: int = 10_000
    take_size: int = 2000
    # How long a take waits for records after the batch before it (faust fills, then the
    # agent folds): what a record waits on top of the fold when the processor keeps up.
    batch_within_s: float = 0.01
    until_idle: bool = False
    report_every_s: float = 2.0
    # Where each input partition ended when the worker started (set for --until-idle).
    targets: tuple[tuple[tuple[str, int], int], ...] = ()
    # faust's own working folder (it keeps nothing we rely on); under the project's state.
    datadir: str = ".ketenlog/faust/{conf.name}"


def _credentials(kafka: KafkaAccess) -> faust.SASLCredentials | None:
    """faust's form of the client settings (SASL over TLS, or none for plaintext)."""
    if not kafka.sasl_mechanism:
        return None
    return faust.SASLCredentials(
        username=kafka.username,
        password=kafka.password,
        ssl_context=kafka.ssl_context(),
        mechanism=kafka.sasl_mechanism,
    )


def build_app(
    config: WorkerConfig,
    make_processor: Callable[[Send, Seek, Earliest], Awaitable[BatchProcessor]],
    say: Callable[[str], None],
    on_fault: RecordFault | None = None,
) -> faust.App:
    app = faust.App(
        config.group,
        broker=[f"kafka://{server}" for server in config.kafka.servers],
        broker_credentials=_credentials(config.kafka),
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        datadir=config.datadir,
        web_enabled=False,
        topic_partitions=config.partitions,
        topic_allow_declare=False,
        topic_disable_leader=True,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        # Batches of up to 512 KiB: the timeline is sent per partition and batch.
        producer_max_batch_size=512 * 1024,
        stream_buffer_maxsize=config.batch_size * 2,
    )

    def partition_of(key: bytes | None) -> int:
        # The partitioner of every ketenlog topic (Java's and kafka-python's murmur2), so a
        # person's timeline lands on the partition number of their agency records. Keyless
        # records (only undecodable dead letters) go to partition 0.
        return 0 if key is None else checks.partition_of(key, config.partitions)

    sources = app.topic(*event_topics(), key_type=bytes, value_type=bytes)
    state: dict[str, Any] = {
        "processor": None,
        "resumed": set(),
        "targets": dict(config.targets) if config.until_idle else None,
    }
    lock = asyncio.Lock()

    async def send(topic: str, outs: list[Outgoing]) -> None:
        # faust exposes no batch API: this reaches for its aiokafka producer (same connection,
        # same settings).
        producer = app.producer._ensure_producer()  # type: ignore[attr-defined]
        await send_batches(producer, topic, outs, partition_of)

    async def seek(tp: tuple[str, int], offset: int) -> None:
        # seek_wait runs on the consumer's own thread (a plain seek from here races its fetcher).
        await app.consumer.seek_wait({TP(tp[0], tp[1]): offset})

    async def earliest(tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        found = await app.consumer.earliest_offsets(*(TP(t, p) for t, p in tps))
        return {(tp.topic, tp.partition): offset for tp, offset in found.items()}

    async def ensure() -> BatchProcessor:
        # Whichever comes first (the agent, the rebalance callback, the timer) builds it.
        async with lock:
            if state["processor"] is None:
                processor = await make_processor(send, seek, earliest)
                await processor.load_positions()
                state["processor"] = processor
        result: BatchProcessor = state["processor"]
        return result

    @app.timer(interval=0.5)
    async def resume_at_stored() -> None:
        # After each rebalance, once faust has sought to Kafka's committed offsets, move every
        # assigned partition to where the store's work ends: the store is the system of
        # record. (In the rebalance callback itself the seek would be undone by faust.)
        assignment = set(app.consumer.assignment())
        if (
            not assignment
            or assignment == state["resumed"]
            or app.rebalancing
            or not app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
        ):
            return
        processor = await ensure()
        try:
            positions = await processor.load_positions()
        except Exception:
            # The store is down (restarted under the worker): an exception here would crash
            # the app; the next tick tries again, and the agent rides the fault out itself.
            return
        await app.consumer.seek_wait(
            {tp: positions.get((tp.topic, tp.partition), 0) for tp in assignment}
        )
        state["resumed"] = assignment
        say(f"process: {len(assignment)} partitions assigned, resuming at the stored positions")

    def backlog(events: Any) -> int:
        """How many records the log holds behind these in their partitions (as of the
        consumer's last fetch)."""
        last: dict[TP, int] = {}
        for e in events:
            last[e.message.tp] = max(last.get(e.message.tp, -1), e.message.offset)
        behind = 0
        for tp, offset in last.items():
            try:
                end = app.consumer.highwater(tp)
            except AssertionError:
                continue  # aiokafka asserts the partition is assigned: a rebalance took it
            if end is not None:
                behind += max(0, end - offset - 1)
        return behind

    @app.agent(sources)
    async def timeline(stream: Any) -> None:
        processor = await ensure()
        take = min(config.batch_size, config.take_size)
        pending: list[Raw] = []
        async for events in stream.take_events(take, within=config.batch_within_s):
            pending.extend(
                Raw(
                    e.message.topic,
                    e.message.partition,
                    e.message.offset,
                    e.message.key,
                    e.message.value,
                    list(e.message.headers or []),
                    # faust gives seconds as a float: round back to the broker's milliseconds.
                    round(e.message.timestamp * 1000),
                )
                for e in events
            )
            if keep_gathering(
                len(events),
                len(pending),
                take=take,
                batch_size=config.batch_size,
                waiting=functools.partial(backlog, events),
            ):
                continue
            batch, pending = pending, []
            await processor.handle_surviving(batch, say, on_fault=on_fault)

    @app.timer(interval=config.report_every_s)
    async def report() -> None:
        processor: BatchProcessor | None = state["processor"]
        if processor is None:
            return
        c = processor.counters
        line = (
            f"process: {c.records:,} records · {c.accepted:,} to the timeline · "
            f"{c.duplicates:,} duplicates · {c.deadletters:,} dead letters · "
            f"{c.persons:,} person folds ({_share(c.cache_hits, c.cache_misses)} from memory)"
        )
        targets: dict[tuple[str, int], int] | None = state["targets"]
        if targets is not None:
            # Other workers of the group hold the other partitions: their progress is in the
            # store, not in this worker's memory.
            await processor.load_positions()
            lag = sum(max(0, end - processor.positions.get(tp, 0)) for tp, end in targets.items())
            line += f" · {lag:,} to go"
            if lag == 0:
                say(line)
                say("process: idle: all input present at start is processed")
                os.kill(os.getpid(), signal.SIGTERM)
                return
        say(line + f" · skipped {c.skipped} seeks {c.seeks}")

    _ = (timeline, report, resume_at_stored)
    return app


# Takes smaller than this go at once without a look at the highwaters.
GATHER_FROM = 50


def keep_gathering(
    taken: int, pending: int, *, take: int, batch_size: int, waiting: Callable[[], int]
) -> bool:
    """Whether to wait for the next take before processing the `pending` records. More than a
    whole take still waiting in the log behind this one is a backlog: takes are gathered up
    to `batch_size`, so that a person many of its records touch is folded once for them and
    the batch's fixed cost is shared. Otherwise (the processor keeps up with a steady load)
    the records go at once, so their latency stays as it was. `waiting` (it reads the
    consumer's highwaters) is asked last, and only for a take of GATHER_FROM or more."""
    return taken >= min(GATHER_FROM, take) and pending < batch_size and waiting() > take


def _share(part: int, rest: int) -> str:
    return f"{part / (part + rest):.0%}" if part + rest else "-"


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def make_worker(app: faust.App, stdout: Any = None) -> faust.Worker:
    """The worker, quiet; `stdout` (default sys.stdout) is where faust writes."""
    worker = faust.Worker(
        app, loglevel="WARNING", quiet=True, redirect_stdouts=False, stdout=stdout or sys.stdout
    )
    # faust's progress spinner redraws with terminal escape codes (cursor hide/show, \r):
    # only on a terminal, never into a file or a pipe.
    if not _is_terminal(worker.stdout):
        worker.spinner = None
    return worker


def run_worker(app: faust.App) -> None:
    """Run the worker until SIGTERM/SIGINT (or idle); returns when it has stopped."""
    worker = make_worker(app)
    # aiokafka logs every send at DEBUG; with the root at WARNING that still builds records.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    quiet_expected_noise()
    try:
        worker.execute_from_commandline()
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise
