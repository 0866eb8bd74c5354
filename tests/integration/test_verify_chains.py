"""The producers' hash chains on the real broker, on a topic of this test's own (other tests
put deliberately invalid records on the organisation topics): a clean chain walks clean and
continues across publishers; records another client slips in, without a link or with a wrong
one, are named with their exact partition and offset, by `walk_all` and `ketenlog
verify-chains`; an export prints the manifest hash that anchors it."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.partitioner.default import murmur2

from infra import chain_audit, kafka_log
from infra.archive import open_archive
from producers.prepare import Preparer
from producers.publisher import Publisher, last_links
from producers.submission import Submission
from schemas import chain, signature
from schemas.topics import event_topic
from tests.conftest import RunningServices
from tests.integration.chain_topics import fresh_topic, publish
from tests.integration.pipeline import ketenlog

pytestmark = pytest.mark.integration


def as_auditor(services: RunningServices, folder: Path) -> dict[str, str]:
    """Settings under which `ketenlog` audits a test topic: such a topic is outside the
    catalogue, so the auditor has no grant on it; the admin's settings stand in for it."""
    folder.mkdir(exist_ok=True)
    (folder / "auditor.json").write_text(services.kafka("admin").to_json())
    return {**services.kafka_env, "KETENLOG_KAFKA_CREDENTIALS_DIR": str(folder)}


def test_chains_walk_clean_continue_across_publishers_and_name_each_slipped_in_record(
    services: RunningServices, tmp_path: Path
) -> None:
    topic = fresh_topic(services)
    key = f"vc-{uuid.uuid4().hex}".encode()
    first = publish(services, topic, key, range(20))
    second = publish(services, topic, key, range(20, 30))  # a restart: continues each chain
    audit = chain_audit.walk_all(services.kafka("admin"), [topic])
    assert audit.breaks == []
    assert [(t.records, t.chained, t.breaks) for t in audit.by_topic()] == [(30, 30, 0)]

    victim = first[0].partition
    producer = KafkaProducer(**services.kafka("admin").kafka_python())
    try:
        unchained = producer.send(topic, b"not an event", partition=victim).get(30)
        wrong = producer.send(
            topic, b"nor this", partition=victim, headers=[(chain.HEADER, bytes(32))]
        ).get(30)
        # The same key without a partition: Kafka's own partitioner agrees with the publisher's.
        same_key = producer.send(topic, b"keyed", key=b"a-person-key").get(30)
    finally:
        producer.close()
    third = publish(services, topic, key, range(30, 40))
    # The publisher's partition formula is the one Kafka's producer used for the same key.
    partitions = services.settings.partitions
    assert same_key.partition == (murmur2(b"a-person-key") & 0x7FFFFFFF) % partitions

    audit = chain_audit.walk_all(services.kafka("admin"), [topic])
    found = {(b.partition, b.offset): b.kind for b in audit.breaks}
    assert found == {
        (victim, unchained.offset): "unchained",
        (victim, wrong.offset): "mismatch",
        (same_key.partition, same_key.offset): "unchained",
    }
    mine = {(r.partition, r.offset) for r in first + second + third}
    assert not mine & set(found)
    # Each partition's head is the last link, as the publisher reads it back (another reader).
    heads = last_links(services.kafka("admin"), topic, services.settings.partitions)
    assert {p.partition: p.head for p in audit.partitions} == heads

    shown = ketenlog(
        services,
        services.dsn,
        "verify-chains",
        "--topic",
        topic,
        "--heads",
        env=as_auditor(services, tmp_path / "creds"),
    )
    assert shown.returncode == 1, shown.stderr[-2000:]
    assert f"break  {topic}[{victim}] offset {unchained.offset}: no chain link" in shown.stdout
    assert f"break  {topic}[{victim}] offset {wrong.offset}: chain link does not match" in (
        shown.stdout
    )
    # 43 records, 41 carry a link (the wrong one too), 3 breaks.
    assert f"{topic:<26} {43:>10} {41:>10} {3:>7}" in shown.stdout
    assert "3 hash-chain break(s)" in shown.stderr


def test_a_clean_topic_verifies_with_exit_0_and_json(
    services: RunningServices, tmp_path: Path
) -> None:
    topic = fresh_topic(services)
    receipts = publish(services, topic, f"vc-{uuid.uuid4().hex}".encode(), range(8))
    shown = ketenlog(
        services,
        services.dsn,
        *("verify-chains", "--topic", topic, "--format", "json"),
        env=as_auditor(services, tmp_path / "creds"),
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    report = json.loads(shown.stdout)
    assert report["breaks"] == 0
    assert sum(p["chained"] for p in report["partitions"]) == len(receipts) == 8


def test_export_prints_the_manifest_hash_that_anchors_the_archive(
    services: RunningServices, tmp_path: Path
) -> None:
    exported = ketenlog(services, services.dsn, "export", str(tmp_path / "a"))
    assert exported.returncode == 0, exported.stderr[-2000:]
    anchor = exported.stdout.strip()
    assert len(anchor) == 64
    assert open_archive(tmp_path / "a", manifest_sha256=anchor).verify() == []
    problems = open_archive(tmp_path / "a", manifest_sha256="0" * 64).verify()
    assert [str(p) for p in problems] == [
        "manifest.json: SHA-256 differs from the one export printed"
    ]


def test_records_a_client_wrote_in_a_transaction_are_named_and_its_markers_read_past(
    services: RunningServices,
) -> None:
    topic = fresh_topic(services)
    producer = KafkaProducer(
        transactional_id=f"vc-{uuid.uuid4().hex[:8]}", **services.kafka("admin").kafka_python()
    )
    try:
        producer.init_transactions()
        producer.begin_transaction()
        for i in range(3):
            producer.send(topic, b"rogue %d" % i, partition=0)
        producer.commit_transaction()
    finally:
        producer.close()
    # Offsets 0..2 are the records, 3 the commit marker: the end is 4, and reading stops there
    # at once instead of waiting for a record that never comes.
    # The coordinator writes the marker after commit_transaction returns: wait for it (bounded).
    deadline = time.monotonic() + 30
    stop = kafka_log.end_offsets(services.kafka("admin"), [topic])[(topic, 0)]
    while stop < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
        stop = kafka_log.end_offsets(services.kafka("admin"), [topic])[(topic, 0)]
    assert stop == 4
    began = time.monotonic()
    assert [r.offset for r in kafka_log.read(services.kafka("admin"), topic, 0, 0, stop)] == [
        0,
        1,
        2,
    ]
    assert time.monotonic() - began < 10
    key = f"vc-{uuid.uuid4().hex}".encode()
    publish(services, topic, key, range(40))  # some land in partition 0, after the marker
    audit = chain_audit.walk_all(services.kafka("admin"), [topic])
    assert [(b.partition, b.offset, b.kind) for b in audit.breaks] == [
        (0, 0, "unchained"),
        (0, 1, "unchained"),
        (0, 2, "unchained"),
    ]


def test_a_forged_record_with_a_correct_chain_link_is_named_by_its_signature(
    services: RunningServices,
) -> None:
    """The hash chain carries no secret: a forger who knows the algorithm computes a correct
    link. Only IND's signature says IND wrote it (schemas/signature.py), and verify-chains checks
    it — a forged IND decision, linked correctly, unsigned or signed with COA's key, is named."""
    topic = event_topic("IND")
    preparer = Preparer(f"forge-{uuid.uuid4().hex}".encode(), services.settings.oin_prefix)
    now = datetime.now(UTC) - timedelta(minutes=5)

    def decision(i: int) -> Submission:
        return Submission(
            type="TrackAssigned",
            v_nummer="4400000001",
            occurred_at=now,
            ref=f"forge-{uuid.uuid4().hex}-{i}",
            data={"track": "GENERAL"},
        )

    ind = services.kafka("IND")
    with Publisher("IND", preparer, ind, signer=services.signer("IND")) as pub:
        pub.publish(decision(0))
        (genuine,) = pub.flush()
    # The forger writes with IND's own Kafka credentials (the broker lets nobody else write
    # IND's topic), but has not IND's signing key.
    producer = KafkaProducer(acks="all", **ind.kafka_python())
    forged: dict[str, int] = {}
    try:
        for how in ("unsigned", "signed by COA"):
            record = preparer.prepare("IND", decision(1))
            partition = genuine.partition
            prev = last_links(ind, topic, services.settings.partitions)[partition]
            ts = int(time.time() * 1000)
            link = chain.link(prev, record.key, record.value, ts)
            headers = [*record.headers, (chain.HEADER, link)]
            if how == "signed by COA":
                coa = services.signer("COA").sign(topic, link, record.key, record.value)
                headers.append((signature.HEADER, coa))
            meta = producer.send(
                topic,
                record.value,
                key=record.key,
                headers=headers,
                partition=partition,
                timestamp_ms=ts,
            ).get(30)
            forged[how] = meta.offset
    finally:
        producer.close()

    done = ketenlog(services, services.dsn, "verify-chains", "--topic", topic, "--format", "json")
    assert done.returncode == 1, done.stderr
    listed = {
        b["offset"]: (b["kind"], b["reason"])
        for p in json.loads(done.stdout)["partitions"]
        if p["partition"] == genuine.partition
        for b in p["breaks"]
    }
    assert genuine.offset not in listed
    assert listed[forged["unsigned"]][0] == "unsigned"
    kind, reason = listed[forged["signed by COA"]]
    assert kind == "signature" and "of COA, not of IND" in reason
    # Both links were right: without the signature the chain alone would not show them.
    assert all(k not in ("mismatch", "unchained") for k, _ in (listed[o] for o in forged.values()))
