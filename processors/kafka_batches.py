"""Sending prepared records in one aiokafka batch per partition and waiting for the broker: the
live worker's sends to `keten.timeline` and `keten.deadletter` (processors.app, through faust's
producer), and the same from synchronous code for the processor's catch-up at batch speed
(ketenlog.rebuild, in its worker processes: `BackgroundSender`, on an event loop and a thread
of its own, so the worker gates the next records while the broker acknowledges these).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Future
from typing import Any

from aiokafka import AIOKafkaProducer

from processors.checks import partition_of
from processors.timeline import Outgoing
from schemas.access import KafkaAccess

MAX_BATCH_BYTES = 512 * 1024


class BackgroundSender:
    """A producer for one process, on a thread of its own: `send` returns at once; the sends
    go out one after another, each once the one before it is acknowledged (as if sent and
    waited for in turn); `flush` waits for all of them and raises the first failure, after
    which nothing more is sent. `close` it (or use it as a context manager): it flushes first."""

    def __init__(self, kafka: KafkaAccess, partitions: int) -> None:
        self._partitions = partitions
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="timeline-sender", daemon=True
        )
        self._thread.start()
        self._producer = self._run(_started(kafka)).result()
        self._last: Future[None] | None = None

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def partition_of(self, key: bytes | None) -> int:
        # Every ketenlog topic's partitioner (schemas/topics.py): a person's timeline records
        # land on the partition number of their agency records; keyless ones on 0.
        return 0 if key is None else partition_of(key, self._partitions)

    def send(self, topic: str, records: Sequence[Outgoing]) -> None:
        """Queue `records` for `topic`, after everything queued before."""
        if records:
            self._last = self._run(self._after(self._last, topic, list(records)))

    async def _after(
        self, before: Future[None] | None, topic: str, records: list[Outgoing]
    ) -> None:
        if before is not None:
            await asyncio.wrap_future(before)  # its failure is this one's: nothing more is sent
        await send_batches(self._producer, topic, records, self.partition_of)

    def flush(self) -> None:
        """Returns once every record queued so far is acknowledged by all in-sync replicas, or
        raises what failed."""
        if self._last is not None:
            self._last.result()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            try:
                self._run(self._producer.stop()).result()
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join()
                self._loop.close()

    def __enter__(self) -> BackgroundSender:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


async def _started(kafka: KafkaAccess) -> AIOKafkaProducer:
    # aiokafka binds a producer to the loop running when it is made.
    producer = AIOKafkaProducer(
        acks="all", max_batch_size=MAX_BATCH_BYTES, linger_ms=5, **kafka.aiokafka()
    )
    await producer.start()
    return producer


async def send_batches(
    producer: AIOKafkaProducer,
    topic: str,
    records: Sequence[Outgoing],
    partition_of: Callable[[bytes | None], int],
) -> None:
    """One aiokafka batch per partition (a new one when it is full) instead of a send() per
    record, which was the largest single cost in the live worker's profile; returns once the
    broker acknowledged every batch."""
    by_partition: dict[int, list[Outgoing]] = {}
    for r in records:
        by_partition.setdefault(partition_of(r.key), []).append(r)
    acks: list[Any] = []
    for partition, items in by_partition.items():
        batch = producer.create_batch()
        for r in items:
            if batch.append(key=r.key, value=r.value, timestamp=None, headers=r.headers):
                continue
            acks.append(await producer.send_batch(batch, topic, partition=partition))
            batch = producer.create_batch()
            if not batch.append(key=r.key, value=r.value, timestamp=None, headers=r.headers):
                raise ValueError(f"a record for {topic} is larger than a producer batch")
        acks.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*acks)
