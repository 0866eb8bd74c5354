"""Reading `keten.deadletter` back: each rejected record with where it came from and why."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from schemas.access import KafkaAccess
from schemas.topics import DEADLETTER


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    reason: str
    detail: str
    source_topic: str
    source_partition: int
    source_offset: int
    at: str
    size: int


def from_headers(partition: int, offset: int, headers: dict[str, bytes], size: int) -> DeadLetter:
    def text(name: str) -> str:
        return headers.get(name, b"").decode("utf-8", "replace")

    def number(name: str) -> int:
        raw = text(name)
        return int(raw) if raw.lstrip("-").isdigit() else -1

    return DeadLetter(
        partition=partition,
        offset=offset,
        reason=text("dl_reason") or "?",
        detail=text("dl_detail"),
        source_topic=text("dl_source_topic"),
        source_partition=number("dl_source_partition"),
        source_offset=number("dl_source_offset"),
        at=text("dl_at"),
        size=size,
    )


async def _read(kafka: KafkaAccess, partitions: int, limit: int | None) -> list[DeadLetter]:
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **kafka.aiokafka())
    await consumer.start()
    try:
        parts = [TopicPartition(DEADLETTER, p) for p in range(partitions)]
        ends = await consumer.end_offsets(parts)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        out: list[DeadLetter] = []
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            batch = await consumer.getmany(timeout_ms=2000)
            if not batch:
                break
            for tp, messages in batch.items():
                for m in messages:
                    value = m.value or b""
                    out.append(from_headers(tp.partition, m.offset, dict(m.headers), len(value)))
                    if m.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
        out.sort(key=lambda d: (d.source_topic, d.source_partition, d.source_offset))
        return out[:limit] if limit else out
    finally:
        await consumer.stop()


def read_all(kafka: KafkaAccess, partitions: int, limit: int | None = None) -> list[DeadLetter]:
    """Every dead letter (or the first `limit`), ordered by where they came from."""
    return asyncio.run(_read(kafka, partitions, limit))


def by_reason(letters: list[DeadLetter]) -> Counter[str]:
    return Counter(d.reason for d in letters)
