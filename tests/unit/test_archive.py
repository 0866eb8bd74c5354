"""Archives without a broker: written with fastavro, read back by the `avro` package's own
reader (an independent implementation: the files are standard Avro), and verified — a changed
byte, a removed record, a damaged file and an edited manifest are each found and named."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import avro.datafile
import avro.io
import pytest

from infra.archive import MANIFEST, Problem, open_archive, write_manifest, write_topic
from schemas import chain
from schemas.records import Raw

TOPIC = "keten.coa.events"
FILE = f"{TOPIC}.avro"


def chained(n: int, partition: int = 0, forged_at: int | None = None) -> list[Raw]:
    out, prev = [], chain.GENESIS
    for offset in range(n):
        key, value, ts = f"k{offset % 3}".encode(), f"value {offset}".encode(), 1_700_000 + offset
        headers = [("ce_id", b"x")]
        if offset != forged_at:
            prev = chain.link(prev, key, value, ts)
            headers.append((chain.HEADER, prev))
        out.append(Raw(TOPIC, partition, offset, key, value, headers, ts))
    return out


def export(directory: Path, p0: list[Raw] | None = None) -> Path:
    directory.mkdir(exist_ok=True)
    entry = write_topic(directory, TOPIC, [(0, p0 or chained(30, 0)), (1, chained(25, 1))])
    write_manifest(directory, {TOPIC: entry}, "test", {"keys": []})
    return directory


def manifest(directory: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    return loaded


def manifest_hash(directory: Path) -> str:
    return hashlib.sha256((directory / MANIFEST).read_bytes()).hexdigest()


def rehash(directory: Path) -> None:
    """What a careful forger does after changing a file."""
    m = manifest(directory)
    m["topics"][TOPIC]["sha256"] = hashlib.sha256((directory / FILE).read_bytes()).hexdigest()
    (directory / MANIFEST).write_text(json.dumps(m))


def test_the_archive_is_standard_avro_and_reads_back_whole(tmp_path: Path) -> None:
    archive = open_archive(export(tmp_path))
    assert archive.verify() == []
    assert open_archive(tmp_path, manifest_sha256=archive.manifest_sha256).verify() == []
    assert archive.ends() == {(TOPIC, 0): 30, (TOPIC, 1): 25}
    assert archive.partitions() == [(TOPIC, 0), (TOPIC, 1)]
    assert list(archive.records(TOPIC, 0)) == chained(30, 0)
    assert list(archive.records(TOPIC, 1)) == chained(25, 1)
    with (tmp_path / FILE).open("rb") as f:
        reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        rows: list[Any] = list(reader)
        assert reader.get_meta("avro.codec") in (None, b"null")
    assert len(rows) == 55
    assert rows[3]["value"] == b"value 3" and rows[3]["partition"] == 0
    assert rows[30]["partition"] == 1 and rows[30]["offset"] == 0
    assert {"key": chain.HEADER, "value": chain.link_of(chained(4)[3])} in rows[3]["headers"]


def test_the_manifest_says_what_the_files_hold(tmp_path: Path) -> None:
    m = manifest(export(tmp_path))
    entry = m["topics"][TOPIC]
    assert entry["file"] == FILE and entry["records"] == 55
    assert entry["sha256"] == hashlib.sha256((tmp_path / FILE).read_bytes()).hexdigest()
    head = chain.link_of(chained(30)[-1])
    assert head is not None
    assert entry["partitions"]["0"] == {"first": 0, "next": 30, "count": 30, "head": head.hex()}
    assert "single-object" in m["values"] and "schemas/avro" in m["values"]
    assert m["source"] == "test" and m["exported_at"]


def test_a_changed_byte_is_named_by_file_and_by_record(tmp_path: Path) -> None:
    directory = export(tmp_path)
    path = directory / FILE
    data = path.read_bytes()
    at = data.index(b"value 17")
    path.write_bytes(data[:at] + b"valuE 17" + data[at + 8 :])
    problems = open_archive(directory).verify()
    assert Problem(FILE, "SHA-256 differs from the manifest") in problems
    [broken] = [p for p in problems if p.offset is not None]
    assert (broken.topic, broken.partition, broken.offset) == (TOPIC, 0, 17)
    assert str(broken).startswith(f"{TOPIC}[0] offset 17: chain link does not match")

    rehash(directory)  # the hash agrees again; the chain still names the record
    assert [str(p) for p in open_archive(directory).verify()] == [str(broken)]


def test_a_removed_record_is_named_even_with_file_and_hash_rewritten(tmp_path: Path) -> None:
    honest = manifest(export(tmp_path / "honest"))
    records = chained(30, 0)
    forged = export(tmp_path / "forged", records[:9] + records[10:])
    m = manifest(forged)
    m["topics"][TOPIC]["partitions"] = honest["topics"][TOPIC]["partitions"]
    m["topics"][TOPIC]["records"] = honest["topics"][TOPIC]["records"]
    (forged / MANIFEST).write_text(json.dumps(m))
    # The forger's export listed the break at offset 10 as one the log already had; a gap in
    # the offsets a log read in order never has, so it is named all the same.
    assert m["topics"][TOPIC]["known_breaks"][1].startswith(f"{TOPIC}[0] offset 10: chain link")
    problems = [str(p) for p in open_archive(forged).verify()]
    assert f"{TOPIC}[0] offset 9: offsets 9..9 are missing" in problems
    assert f"{TOPIC}[0]: 29 records, the manifest says 30" in problems
    # Against the manifest hash `export` printed, the rewritten manifest shows too.
    anchored = open_archive(forged, manifest_sha256=manifest_hash(tmp_path / "honest"))
    assert "manifest.json: SHA-256 differs from the one export printed" in [
        str(p) for p in anchored.verify()
    ]
    assert open_archive(forged, manifest_sha256=manifest_hash(forged)).verify() != []


def test_a_removed_last_record_shows_against_the_manifest(tmp_path: Path) -> None:
    honest = manifest(export(tmp_path / "honest"))
    forged = export(tmp_path / "forged", chained(30, 0)[:-1])
    m = manifest(forged)
    m["topics"][TOPIC]["partitions"] = honest["topics"][TOPIC]["partitions"]
    (forged / MANIFEST).write_text(json.dumps(m))
    problems = [str(p) for p in open_archive(forged).verify()]
    assert f"{TOPIC}[0]: offsets 29..29 are missing (the manifest lists them)" in problems
    assert f"{TOPIC}[0]: the last chain link differs from the manifest" in problems


def test_a_truncated_file_is_named(tmp_path: Path) -> None:
    directory = export(tmp_path)
    path = directory / FILE
    path.write_bytes(path.read_bytes()[:-40])
    problems = [str(p) for p in open_archive(directory).verify()]
    assert f"{FILE}: SHA-256 differs from the manifest" in problems
    assert any(p.startswith(f"{FILE}: does not read as Avro") for p in problems), problems


def test_a_missing_file_and_a_missing_manifest_are_named(tmp_path: Path) -> None:
    directory = export(tmp_path)
    (directory / FILE).unlink()
    assert [str(p) for p in open_archive(directory).verify()] == [f"{FILE}: missing"]
    (directory / MANIFEST).unlink()
    with pytest.raises(ValueError, match=r"no manifest\.json"):
        open_archive(directory)


def test_breaks_the_log_already_had_are_listed_and_not_the_copys(tmp_path: Path) -> None:
    directory = export(tmp_path, chained(30, 0, forged_at=5))
    archive = open_archive(directory)
    assert archive.known_breaks() == [
        f"{TOPIC}[0] offset 5: no chain link: not sent by the publisher"
    ]
    assert archive.verify() == []
    assert len(list(archive.records(TOPIC, 0))) == 30


def test_a_partition_is_read_whole_when_blocks_straddle_partitions(tmp_path: Path) -> None:
    # ~4 kB records: each partition spans several 1 MB blocks and most blocks straddle two
    # partitions, so skipping the blocks before a partition must not skip its first records.
    sizes = {0: 700, 1: 1, 2: 0, 3: 450, 4: 260, 5: 3}
    parts = {
        p: [
            Raw(TOPIC, p, o, b"k", bytes([p]) * (4000 + o % 97), [], 1_700_000 + o)
            for o in range(n)
        ]
        for p, n in sizes.items()
    }
    entry = write_topic(tmp_path, TOPIC, [(p, raws) for p, raws in parts.items() if raws])
    write_manifest(tmp_path, {TOPIC: entry}, "test", {"keys": []})
    archive = open_archive(tmp_path)
    for p, raws in parts.items():
        assert list(archive.records(TOPIC, p)) == raws, f"partition {p}"
    assert list(archive.records(TOPIC, 9)) == []
