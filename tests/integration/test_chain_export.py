"""Archives against the real broker: an export replayed offline (no Kafka) reaches the live
checksums that `verify` reports, and a copy with one byte changed or one record removed is
refused with the place named. The chains on the live log: test_verify_chains.py."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from infra.archive import MANIFEST, open_archive, write_topic
from schemas import chain
from schemas.topics import event_topic
from tests.conftest import RunningServices
from tests.integration.chain_topics import publish
from tests.integration.pipeline import ketenlog, until_idle
from tests.integration.scratch_db import scratch_database

pytestmark = pytest.mark.integration
TOPIC = event_topic("COA")


def test_an_export_replayed_offline_reaches_the_live_checksums_and_tampering_is_named(
    services: RunningServices, fresh_db: str, tmp_path: Path
) -> None:
    publish(services, TOPIC, f"export-{uuid.uuid4().hex}".encode(), range(10))
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
    anchor = exported.stdout.strip()

    offline = {"KETENLOG_KAFKA_BOOTSTRAP": "127.0.0.1:9"}  # nothing listens: no Kafka at all
    with scratch_database(services.dsn) as auditor_db:
        replayed = ketenlog(
            services,
            auditor_db,
            *("replay", "--from-archive", str(archive), "--group", group),
            *("--expect", str(live), "--manifest-sha256", anchor),
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
    # With the hash export printed, the rewritten manifest itself is named too.
    pinned = ketenlog(
        services,
        fresh_db,
        *("replay", "--from-archive", str(changed), "--manifest-sha256", anchor),
        env=offline,
    )
    assert pinned.returncode == 1
    assert MANIFEST in pinned.stderr and "differs from the one export printed" in pinned.stderr

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
    # Named as a gap in its partition, whether or not records follow it there.
    assert f"{TOPIC}[{target.partition}]" in refused.stderr, refused.stderr[-3000:]
    assert f"offsets {target.offset}..{target.offset} are missing" in refused.stderr


def _rehash(directory: Path, entry: dict[str, object]) -> None:
    import hashlib  # noqa: PLC0415

    manifest = json.loads((directory / MANIFEST).read_text())
    path = directory / str(entry["file"])
    manifest["topics"][TOPIC]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (directory / MANIFEST).write_text(json.dumps(manifest))
