"""Small helpers for integration tests: read what is on a topic with a plain consumer, and free
loopback ports for a private broker."""

from __future__ import annotations

import socket
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from schemas import chain, signature
from schemas.access import KafkaAccess
from schemas.signature import Signer

Header = tuple[str, bytes]


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def end_offsets(kafka: KafkaAccess, topic: str) -> dict[int, int]:
    consumer: Any = KafkaConsumer(enable_auto_commit=False, **kafka.kafka_python())
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        return {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


def read_from(kafka: KafkaAccess, topic: str, start: dict[int, int] | None = None) -> list[Record]:
    """Every record of `topic` from `start` (default: the beginning) up to its current end."""
    ends = end_offsets(kafka, topic)
    consumer: Any = KafkaConsumer(
        enable_auto_commit=False, consumer_timeout_ms=10_000, **kafka.kafka_python()
    )
    records: list[Record] = []
    try:
        parts = [TopicPartition(topic, p) for p in ends]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, (start or {}).get(tp.partition, 0))
        remaining = {p for p, end in ends.items() if end > (start or {}).get(p, 0)}
        while remaining:
            batch = consumer.poll(timeout_ms=5_000)
            if not batch:
                raise AssertionError(f"{topic}: no records within 5 s, still expecting {remaining}")
            for tp, messages in batch.items():
                for m in messages:
                    records.append(
                        Record(m.topic, m.partition, m.offset, m.key, m.value, list(m.headers))
                    )
                    if m.offset + 1 >= ends[tp.partition]:
                        remaining.discard(tp.partition)
    finally:
        consumer.close()
    return records


def free_ports(n: int) -> list[int]:
    """`n` distinct loopback ports nobody listens on now (held open together, so the system
    hands out different ones; a tiny race with other processes remains)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(n):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def signed(
    signer: Signer, topic: str, key: bytes | None, value: bytes | None, headers: list[Header]
) -> list[Header]:
    """`headers` with a chain link (from the start of a chain: a record sent by hand does not
    continue the organisation's chain, and verify-chains says so) and the organisation's
    signature, as the publisher adds them, for a record a test sends with a plain producer."""
    link = chain.link(chain.GENESIS, key, value, 0)
    return [
        *headers,
        (chain.HEADER, link),
        (signature.HEADER, signer.sign(topic, link, key, value)),
    ]
