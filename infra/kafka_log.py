"""Reading the log itself, partition by partition, from a given offset up to a given one: what
replay, verify and export need (the live processor reads through faust instead). kafka-python,
no consumer group, no committed offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from processors.timeline import Raw

# Large fetches: a replay reads millions of small records.
_FETCH = {
    "fetch_max_bytes": 64 << 20,
    "max_partition_fetch_bytes": 16 << 20,
    "max_poll_records": 20_000,
    "fetch_min_bytes": 1,
}
# No record for this long while records are still expected: the broker is gone.
POLL_TIMEOUT_S = 30.0


class KafkaLogError(RuntimeError):
    """The log could not be read as far as asked."""


def _consumer(bootstrap: str) -> Any:
    try:
        return KafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **_FETCH
        )
    except KafkaError as exc:
        raise KafkaLogError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc


def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """The next offset of every partition of `topics` now."""
    return _offsets(bootstrap, topics, end=True)


def begin_offsets(bootstrap: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """The first offset still in the log of every partition of `topics`."""
    return _offsets(bootstrap, topics, end=False)


def _offsets(bootstrap: str, topics: Iterable[str], *, end: bool) -> dict[tuple[str, int], int]:
    consumer = _consumer(bootstrap)
    try:
        parts = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or [])
        ]
        found = consumer.end_offsets(parts) if end else consumer.beginning_offsets(parts)
        return {(tp.topic, tp.partition): int(o) for tp, o in found.items()}
    except KafkaError as exc:
        raise KafkaLogError(f"cannot read offsets from Kafka at {bootstrap}: {exc}") from exc
    finally:
        consumer.close()


def read(bootstrap: str, topic: str, partition: int, start: int, stop: int) -> Iterator[Raw]:
    """Every record of the partition with start <= offset < stop, in offset order. Raises
    KafkaLogError when the records stop coming before `stop` (offsets below the log start
    are simply not there: reading begins at the log start)."""
    if stop <= start:
        return
    consumer = _consumer(bootstrap)
    tp = TopicPartition(topic, partition)
    try:
        consumer.assign([tp])
        first = consumer.beginning_offsets([tp]).get(tp, 0)
        consumer.seek(tp, max(start, first))
        while consumer.position(tp) < stop:
            batch = consumer.poll(timeout_ms=int(POLL_TIMEOUT_S * 1000)).get(tp, [])
            if not batch:
                raise KafkaLogError(
                    f"{topic}[{partition}]: no records for {POLL_TIMEOUT_S:.0f}s at offset "
                    f"{consumer.position(tp)}, expected up to {stop}"
                )
            for m in batch:
                if m.offset >= stop:
                    return
                yield Raw(
                    m.topic,
                    m.partition,
                    m.offset,
                    m.key,
                    m.value,
                    [(k, bytes(v)) for k, v in m.headers or []],
                    m.timestamp,
                )
    except KafkaError as exc:
        raise KafkaLogError(f"{topic}[{partition}]: {exc}") from exc
    finally:
        consumer.close()
