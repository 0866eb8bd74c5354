"""The distribution processor's Kafka edge: an aiokafka consumer of `keten.timeline` in the
consumer group `ketenlog-distribution` and an idempotent producer of the inboxes, around
processors.distribution.DistributionBatch. On every assignment it seeks each partition to the
position stored with the deliveries (the store, not Kafka's committed offset, is the system of
record); Kafka's offsets are committed after each batch only so that lag tools see progress.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.structs import TopicPartition as AioTopicPartition

from processors.distribution import DistributionBatch, InboxRecord
from schemas.access import KafkaAccess
from schemas.records import Raw
from schemas.topics import TIMELINE

Say = Callable[[str], None]
MakeBatch = Callable[[Callable[[list[InboxRecord]], Awaitable[None]]], Awaitable[DistributionBatch]]


@dataclass(frozen=True)
class DistributionConfig:
    group: str
    kafka: KafkaAccess
    batch_size: int = 2000
    batch_wait_ms: int = 200
    until_idle: bool = False
    # Where each timeline partition ended when the worker started (for until_idle).
    targets: tuple[tuple[tuple[str, int], int], ...] = ()
    report_every_s: float = 2.0


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: AIOKafkaConsumer, batch: DistributionBatch, say: Say) -> None:
        self._consumer = consumer
        self._batch = batch
        self._say = say

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        positions = await self._batch.load_positions()
        for tp in assigned:
            self._consumer.seek(tp, positions.get((tp.topic, tp.partition), 0))
        self._say(
            f"distribute: {len(assigned)} partitions assigned, resuming at the stored positions"
        )


async def run(config: DistributionConfig, make_batch: MakeBatch, say: Say) -> None:
    """Consume until cancelled, or (until_idle) until the stored positions reach the targets."""
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **config.kafka.aiokafka())
    consumer = AIOKafkaConsumer(
        group_id=config.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=config.batch_size,
        **config.kafka.aiokafka(),
    )

    async def send(records: list[InboxRecord]) -> None:
        futures = [
            await producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in records
        ]
        await asyncio.gather(*futures)

    await producer.start()
    try:
        batch = await make_batch(send)
        await consumer.start()
        try:
            consumer.subscribe([TIMELINE], listener=_SeekToStored(consumer, batch, say))
            await _loop(config, consumer, batch, say)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
    finally:
        await producer.stop()


async def _loop(
    config: DistributionConfig, consumer: AIOKafkaConsumer, batch: DistributionBatch, say: Say
) -> None:
    targets = dict(config.targets)
    loop = asyncio.get_running_loop()
    last_report = loop.time()
    while True:
        fetched = await consumer.getmany(
            timeout_ms=config.batch_wait_ms, max_records=config.batch_size
        )
        raws = [Raw.of(m) for messages in fetched.values() for m in messages]
        if raws:
            await batch.handle_surviving(raws, say)
            offsets = {
                AioTopicPartition(t, p): o
                for (t, p), o in batch.positions.items()
                if AioTopicPartition(t, p) in consumer.assignment()
            }
            # Best effort (a rebalance may have taken the partition); the store is the record.
            with contextlib.suppress(Exception):
                await consumer.commit(offsets)
        now = loop.time()
        idle = config.until_idle and not raws and await _reached(batch, targets)
        if idle or now - last_report >= config.report_every_s:
            c = batch.counters
            lag = ""
            if config.until_idle:
                to_go = sum(max(0, end - batch.positions.get(tp, 0)) for tp, end in targets.items())
                lag = f" · {to_go:,} to go"
            say(
                f"distribute: {c.records:,} timeline records · {c.persons:,} person decisions · "
                f"{c.delivered:,} delivered · {c.undecodable:,} undecodable{lag}"
            )
            last_report = now
        if idle:
            say("distribute: idle: all timeline records present at start are distributed")
            return


async def _reached(batch: DistributionBatch, targets: dict[tuple[str, int], int]) -> bool:
    # Other workers of the group hold the other partitions: their progress is in the store.
    positions = await batch.load_positions()
    return all(positions.get(tp, 0) >= end for tp, end in targets.items())
