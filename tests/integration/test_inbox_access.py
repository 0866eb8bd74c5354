"""The inboxes on the session's real, secured broker: the distribution principal writes an
organisation's inbox, that organisation reads it, and another organisation's credentials can
neither read nor write it."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import TopicAuthorizationFailedError

from schemas.access import DISTRIBUTION
from schemas.topics import inbox_topic
from tests.conftest import RunningServices

pytestmark = pytest.mark.integration

FAST = {"max_block_ms": 8_000, "request_timeout_ms": 8_000}


@pytest.fixture(autouse=True)
def secured(services: RunningServices) -> None:
    if services.settings.kafka_insecure:
        pytest.skip("KETENLOG_KAFKA_INSECURE=1: the broker has no ACLs to test")


def test_only_coa_reads_the_coa_inbox_and_only_distribution_writes_it(
    services: RunningServices,
) -> None:
    inbox = inbox_topic("COA")
    marker = uuid.uuid4().hex.encode()
    producer = KafkaProducer(acks="all", **FAST, **services.kafka(DISTRIBUTION).kafka_python())
    try:
        sent = producer.send(inbox, marker, key=b"k", partition=0).get(timeout=30)
    finally:
        producer.close(timeout=5)

    coa = KafkaConsumer(enable_auto_commit=False, **services.kafka("COA").kafka_python())
    try:
        part = TopicPartition(inbox, 0)
        coa.assign([part])
        coa.seek(part, sent.offset)
        got = coa.poll(timeout_ms=10_000, max_records=1)
        assert [r.value for r in got.get(part, [])] == [marker]
    finally:
        coa.close()

    ind = services.kafka("IND")
    reader = KafkaConsumer(enable_auto_commit=False, **ind.kafka_python())
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            reader.end_offsets([TopicPartition(inbox, 0)])
        # A fetch is refused too; kafka-python logs the refusal and returns nothing.
        part = TopicPartition(inbox, 0)
        reader.assign([part])
        reader.seek(part, sent.offset)
        assert reader.poll(timeout_ms=5_000, max_records=1) == {}
    finally:
        reader.close()
    writer = KafkaProducer(acks="all", **FAST, **ind.kafka_python())
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            writer.send(inbox, b"forged").get(timeout=30)
    finally:
        writer.close(timeout=5)
