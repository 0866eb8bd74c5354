"""processors.kafka_batches.BackgroundSender against a real broker: sends return at once, go
out in the order they were queued, and a failure surfaces at the flush, with nothing queued
after it sent. On topics of its own (keten.timeline holds accepted facts only)."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from kafka.admin import KafkaAdminClient, NewTopic

from processors.checks import partition_of
from processors.kafka_batches import BackgroundSender
from processors.timeline import Outgoing
from tests.conftest import RunningServices
from tests.integration.kafka_tools import read_from

pytestmark = pytest.mark.integration
PARTITIONS = 2


def _topic(services: RunningServices, **configs: str) -> str:
    topic = f"ketenlog-test-sender-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**services.kafka("admin").kafka_python())
    try:
        admin.create_topics(
            [NewTopic(topic, PARTITIONS, replication_factor=1, topic_configs=configs)]
        )
    finally:
        admin.close()
    return topic


def _slice(n: int, start: int) -> list[Outgoing]:
    return [
        Outgoing(f"person-{i % 7}".encode(), f"{i}".encode(), [("n", f"{i}".encode())])
        for i in range(start, start + n)
    ]


def test_sends_arrive_in_order_on_their_key_partitions(services: RunningServices) -> None:
    topic = _topic(services)
    with BackgroundSender(services.kafka("admin"), PARTITIONS) as sender:
        for start in range(0, 3_000, 1_000):
            sender.send(topic, _slice(1_000, start))
        sender.send(topic, [])
    got = read_from(services.kafka("admin"), topic)
    assert len(got) == 3_000
    for record in got:
        assert record.partition == partition_of(record.key or b"", PARTITIONS)
        assert record.headers == [("n", record.value)]
    for p in range(PARTITIONS):
        values = [
            int(r.value or b"") for r in sorted(got, key=lambda r: r.offset) if r.partition == p
        ]
        assert values == sorted(values), f"partition {p} out of order"


def test_a_failed_send_surfaces_at_the_flush_and_stops_what_follows(
    services: RunningServices,
) -> None:
    # The broker refuses the second send's record: more than the topic's largest batch.
    topic = _topic(services, **{"max.message.bytes": "2000"})
    too_large = [Outgoing(b"person-1", b"x" * 5_000, [])]
    sender = BackgroundSender(services.kafka("admin"), PARTITIONS)
    try:
        sender.send(topic, _slice(10, 0))
        sender.send(topic, too_large)
        sender.send(topic, _slice(10, 10))
        with pytest.raises(MessageSizeTooLargeError):
            sender.flush()
    finally:
        with pytest.raises(MessageSizeTooLargeError):
            sender.close()
    values = sorted(int(r.value or b"") for r in read_from(services.kafka("admin"), topic))
    assert values == list(range(10))
