"""Sending prepared records in one aiokafka batch per partition and waiting for the broker: the
live worker's sends to `keten.timeline` and `keten.deadletter` (processors.app, through faust's
producer), and the same from synchronous code for the processor's catch-up at batch speed
(ketenlog.rebuild, in its worker processes: `SyncSender`, on an event loop of its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from processors.checks import partition_of
from processors.timeline import Outgoing
from schemas.access import KafkaAccess

MAX_BATCH_BYTES = 512 * 1024


class SyncSender:
    """A producer for one process; `close` it (or use it as a context manager)."""

    def __init__(self, kafka: KafkaAccess, partitions: int) -> None:
        self._partitions = partitions
        self._loop = asyncio.new_event_loop()
        self._producer = self._loop.run_until_complete(_started(kafka))

    def partition_of(self, key: bytes | None) -> int:
        # Every ketenlog topic's partitioner (schemas/topics.py): a person's timeline records
        # land on the partition number of their agency records; keyless ones on 0.
        return 0 if key is None else partition_of(key, self._partitions)

    def send(self, topic: str, records: Sequence[Outgoing]) -> None:
        """Returns once every record is acknowledged by all in-sync replicas, or raises."""
        if records:
            self._loop.run_until_complete(
                send_batches(self._producer, topic, records, self.partition_of)
            )

    def close(self) -> None:
        try:
            self._loop.run_until_complete(self._producer.stop())
        finally:
            self._loop.close()

    def __enter__(self) -> SyncSender:
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
