"""Tamper evidence and archives against the real broker: the publisher's hash chain continues
across publishers and a record slipped in by another client is named with its offset; an
export replayed offline (no Kafka) reaches the live checksums that `verify` reports, and a
copy with one byte changed or one record removed is refused with the place named."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaProducer

from infra import kafka_log
from infra.archive import MANIFEST, open_archive, write_topic
from producers.prepare import Preparer
from producers.publisher import Publisher, Receipt
from producers.submission import Submission
from schemas import chain
from schemas.topics import event_topic
from tests.conftest import RunningServices
from tests.integration.pipeline import until_idle
from tests.integration.scratch_db import scratch_database
from tests.integration.test_replay import ketenlog

pytestmark = pytest.mark.integration
TOPIC = event_topic("COA")


def publish(services: RunningServices, key: bytes, refs: range) -> list[Receipt]:
    preparer = Preparer(key, services.settings.oin_prefix)
    with Publisher("COA", preparer, services.bootstrap) as pub:
        for i in refs:
            pub.publish(
                Submission(
                    type="ReceptionStarted",
                    v_nummer=f"{6600000000 + i}",
                    occurred_at=datetime(2026, 1, 10, tzinfo=UTC),
                    ref=f"chain-{uuid.uuid4().hex[:8]}-{i}",
                    data={"reception_group": "ASYLUM_SEEKER"},
                )
            )
        return pub.flush()


def breaks_at(services: RunningServices, partition: int) -> dict[int, str]:
    stop = kafka_log.end_offsets(services.bootstrap, [TOPIC])[(TOPIC, partition)]
    found, _ = chain.walk(kafka_log.read(services.bootstrap, TOPIC, partition, 0, stop))
    return {b.offset: b.reason for b in found}


def test_chains_continue_across_publishers_and_a_slipped_in_record_is_named(
    services: RunningServices,
) -> None:
    key = f"chain-{uuid.uuid4().hex}".encode()
    first = publish(services, key, range(12))
    # A second publisher (a restart) continues each partition's chain from the log.
    second = publish(services, key, range(12, 24))
    mine = {(r.partition, r.offset) for r in first + second}
    partitions = {p for p, _ in mine}
    for p in partitions:
        broken = breaks_at(services, p)
        assert not {o for pp, o in mine if pp == p} & set(broken), broken

    victim = first[0]
    producer = KafkaProducer(bootstrap_servers=services.bootstrap)
    try:
        unchained = producer.send(TOPIC, b"not an event", partition=victim.partition).get(30)
        forged_link = producer.send(
            TOPIC,
            b"not an event either",
            partition=victim.partition,
            headers=[(chain.HEADER, bytes(32))],
        ).get(30)
    finally:
        producer.close()
    after = publish(services, key, range(24, 30))
    broken = breaks_at(services, victim.partition)
    assert broken[unchained.offset] == "no chain link: not sent by the publisher"
    assert broken[forged_link.offset].startswith("chain link does not match")
    assert not {r.offset for r in after if r.partition == victim.partition} & set(broken)


def test_an_export_replayed_offline_reaches_the_live_checksums_and_tampering_is_named(
    services: RunningServices, fresh_db: str, tmp_path: Path
) -> None:
    publish(services, f"export-{uuid.uuid4().hex}".encode(), range(10))
    group = f"export-{uuid.uuid4().hex[:8]}"
    until_idle(services, fresh_db, group)
    live = tmp_path / "live.json"
    verified = ketenlog(
        services, fresh_db, "verify", "--no-chains", "--group", group, "--checksums", str(live)
    )
    assert verified.returncode == 0, verified.stderr[-3000:]
    archive = tmp_path / "archive"
    exported = ketenlog(services, fresh_db, "export", str(archive))
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert open_archive(archive).verify() == []

    offline = {"KETENLOG_KAFKA_BOOTSTRAP": "127.0.0.1:9"}  # nothing listens: no Kafka at all
    with scratch_database(services.dsn) as auditor_db:
        replayed = ketenlog(
            services,
            auditor_db,
            *("replay", "--from-archive", str(archive), "--group", group),
            *("--expect", str(live)),
            env=offline,
        )
        assert replayed.returncode == 0, replayed.stderr[-3000:]
        assert "every checksum equals the expected one" in replayed.stderr

    # One byte of one event changed (the file re-hashed into the manifest, as a forger would).
    changed = tmp_path / "changed"
    shutil.copytree(archive, changed)
    path = changed / f"{TOPIC}.avro"
    entry = open_archive(changed).manifest["topics"][TOPIC]
    # The file's first chained event after a partition's first record (removing that one
    # shows differently: "starts at offset 1"); its bytes are found at their own place.
    target = next(
        r
        for p in range(services.settings.partitions)
        for r in open_archive(changed).records(TOPIC, p)
        if chain.link_of(r) is not None and r.value and r.offset > 0
    )
    data = path.read_bytes()
    at = data.index(target.value)  # type: ignore[arg-type]
    path.write_bytes(data[: at + 20] + bytes([data[at + 20] ^ 1]) + data[at + 21 :])
    _rehash(changed, entry)
    refused = ketenlog(services, fresh_db, "replay", "--from-archive", str(changed), env=offline)
    assert refused.returncode == 1
    assert f"{TOPIC}[{target.partition}] offset {target.offset}: chain link does not match" in (
        refused.stderr
    )
    assert "nothing was rebuilt" in refused.stderr

    # One record removed.
    removed = tmp_path / "removed"
    removed.mkdir()
    source = open_archive(archive)
    parts = [
        (
            p,
            [
                r
                for r in source.records(TOPIC, p)
                if (r.partition, r.offset) != (target.partition, target.offset)
            ],
        )
        for p in range(services.settings.partitions)
    ]
    manifest = json.loads((archive / MANIFEST).read_text())
    for name in manifest["topics"]:
        if name != TOPIC:
            shutil.copy(archive / f"{name}.avro", removed / f"{name}.avro")
    forged = write_topic(removed, TOPIC, parts)
    manifest["topics"][TOPIC]["sha256"] = forged["sha256"]
    (removed / MANIFEST).write_text(json.dumps(manifest))
    refused = ketenlog(services, fresh_db, "replay", "--from-archive", str(removed), env=offline)
    assert refused.returncode == 1
    place = f"{TOPIC}[{target.partition}] offset {target.offset}: offsets {target.offset}.."
    assert place in refused.stderr, refused.stderr[-3000:]


def _rehash(directory: Path, entry: dict[str, object]) -> None:
    import hashlib  # noqa: PLC0415

    manifest = json.loads((directory / MANIFEST).read_text())
    path = directory / str(entry["file"])
    manifest["topics"][TOPIC]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (directory / MANIFEST).write_text(json.dumps(manifest))
