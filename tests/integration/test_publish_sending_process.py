"""The publisher with its producer in a process of its own (producers/sender.py), on the real
broker and a topic of this test's own: what lands is byte for byte the prepared record with
its chain link and signature, each receipt names where its record is, the chains run unbroken
across it and in-process publishers before and after it; a sending process that dies fails
every record it held, each named, and loses none silently."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from infra import chain_audit
from infra.signing_keys import KeyStore
from producers.prepare import Prepared, Preparer
from producers.publisher import CHUNK, Publisher, PublishError
from producers.submission import Submission
from schemas import chain, signature
from tests.conftest import RunningServices
from tests.integration.chain_topics import fresh_topic, publish
from tests.integration.kafka_tools import read_from

pytestmark = pytest.mark.integration


def prepared(preparer: Preparer, n: int) -> list[Prepared]:
    return [
        preparer.prepare(
            "COA",
            Submission(
                type="ReceptionStarted",
                v_nummer=f"{6800000000 + i % 40}",
                occurred_at=datetime(2026, 1, 10, tzinfo=UTC),
                ref=f"sp-{uuid.uuid4().hex[:8]}-{i}",
                data={"reception_group": "ASYLUM_SEEKER"},
            ),
        )
        for i in range(n)
    ]


def test_records_are_the_prepared_ones_chained_signed_and_where_their_receipts_say(
    services: RunningServices,
) -> None:
    topic = fresh_topic(services)
    key = f"sp-{uuid.uuid4().hex}".encode()
    before = publish(services, topic, key, range(10))
    preparer = Preparer(key, services.settings.oin_prefix)
    records = prepared(preparer, 2 * CHUNK + 37)  # whole chunks and a part one
    with Publisher(
        "COA",
        preparer,
        services.kafka("admin"),
        topic=topic,
        signer=services.signer("COA"),
        sending_process=True,
    ) as pub:
        for record in records:
            pub.send_prepared(record)
        receipts = pub.flush()
    after = publish(services, topic, key, range(10, 20))

    assert [r.event_id for r in receipts] == [p.event_id for p in records]
    on_log = {(r.partition, r.offset): r for r in read_from(services.kafka("admin"), topic)}
    assert len(on_log) == len(before) + len(records) + len(after)
    verifier = KeyStore(services.settings.signing_dir).verifier()
    for sent, receipt in zip(records, receipts, strict=True):
        landed = on_log[(receipt.partition, receipt.offset)]
        assert (landed.key, landed.value) == (sent.key, sent.value)
        names = [name for name, _ in landed.headers]
        assert names == [name for name, _ in sent.headers] + [chain.HEADER, signature.HEADER]
        assert landed.headers[: len(sent.headers)] == sent.headers
        assert verifier.problem("COA", landed) is None
    audit = chain_audit.walk_all(services.kafka("admin"), [topic])
    assert audit.breaks == []
    assert [(t.records, t.chained) for t in audit.by_topic()] == [(len(on_log), len(on_log))]


def test_a_sending_process_that_dies_fails_every_record_it_held_each_named(
    services: RunningServices,
) -> None:
    topic = fresh_topic(services)
    preparer = Preparer(f"sp-{uuid.uuid4().hex}".encode(), services.settings.oin_prefix)
    records = prepared(preparer, CHUNK + 5)
    pub = Publisher(
        "COA",
        preparer,
        services.kafka("admin"),
        topic=topic,
        signer=services.signer("COA"),
        sending_process=True,
    )
    try:
        for record in records[:CHUNK]:
            pub.send_prepared(record)  # the chunk is handed over
        assert pub._sender is not None
        pub._sender._process.kill()
        pub._sender._process.join()
        for record in records[CHUNK:]:
            pub.send_prepared(record)
        with pytest.raises(PublishError) as raised:
            pub.flush()
    finally:
        pub.close()
    failed = [f.event_id for f in raised.value.failures]
    assert raised.value.receipts == []
    assert failed == [p.event_id for p in records]
    assert all("sending process" in f.reason for f in raised.value.failures)
