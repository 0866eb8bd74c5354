"""Tamper evidence without a broker: hash-chain links and the walker, and the archive written
with fastavro, read back by the `avro` package's own reader (an independent implementation:
the files are standard Avro), and verified — a changed byte, a removed record and an edited
manifest are each found and named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import avro.datafile
import avro.io

from infra.archive import MANIFEST, open_archive, write_manifest, write_topic
from processors.timeline import Raw
from schemas import chain

TOPIC = "keten.coa.events"


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


def test_an_intact_chain_walks_clean_and_ends_at_its_last_link() -> None:
    records = chained(20)
    breaks, head = chain.walk(records)
    assert breaks == []
    assert head == chain.link_of(records[-1])


def test_each_kind_of_tampering_is_one_break_at_its_offset() -> None:
    records = chained(20)
    altered = list(records)
    r = altered[7]
    altered[7] = Raw(r.topic, r.partition, r.offset, r.key, b"value 7!", r.headers, r.timestamp_ms)
    assert [(b.offset, "altered" in b.reason) for b in chain.walk(altered)[0]] == [(7, True)]

    removed = records[:12] + records[13:]
    reasons = [(b.offset, b.reason) for b in chain.walk(removed)[0]]
    assert reasons[0] == (12, "offsets 12..12 are missing")
    assert reasons[1][0] == 13 and "removed" in reasons[1][1]
    assert len(reasons) == 2

    forged = chained(20, forged_at=5)
    assert [(b.offset, b.reason) for b in chain.walk(forged)[0]] == [
        (5, "no chain link: not sent by the publisher")
    ]


def test_links_cover_key_value_and_time() -> None:
    base = chain.link(chain.GENESIS, b"k", b"v", 1)
    assert base != chain.link(chain.GENESIS, b"k", b"v", 2)
    assert base != chain.link(chain.GENESIS, b"kv", b"", 1)
    assert base != chain.link(chain.GENESIS, None, b"kv", 1)
    assert base == chain.link(chain.GENESIS, b"k", b"v", 1)


def export(tmp: Path) -> Path:
    entry = write_topic(tmp, TOPIC, [(0, chained(30, 0)), (1, chained(25, 1))])
    write_manifest(tmp, {TOPIC: entry}, "test")
    return tmp


def test_the_archive_is_standard_avro_and_reads_back_whole(tmp_path: Path) -> None:
    archive = open_archive(export(tmp_path))
    assert archive.verify() == []
    assert archive.ends() == {(TOPIC, 0): 30, (TOPIC, 1): 25}
    assert list(archive.records(TOPIC, 1)) == chained(25, 1)
    with (tmp_path / f"{TOPIC}.avro").open("rb") as f:
        rows: list[Any] = list(avro.datafile.DataFileReader(f, avro.io.DatumReader()))
    assert len(rows) == 55
    assert rows[3]["value"] == b"value 3" and rows[3]["partition"] == 0


def test_a_changed_byte_a_removed_record_and_an_edited_manifest_are_named(
    tmp_path: Path,
) -> None:
    directory = export(tmp_path)
    path = directory / f"{TOPIC}.avro"
    data = path.read_bytes()
    at = data.index(b"value 17")
    path.write_bytes(data[:at] + b"valuE 17" + data[at + 8 :])
    problems = open_archive(directory).verify()
    assert f"{TOPIC}.avro: SHA-256 differs from the manifest" in problems
    assert any(p.startswith(f"{TOPIC}[0] offset 17: chain link does not match") for p in problems)

    # Remove a record and re-hash the file, as a careful forger would: the chain still says.
    other = tmp_path / "removed"
    other.mkdir()
    records = chained(30, 0)
    entry = write_topic(other, TOPIC, [(0, records[:9] + records[10:]), (1, chained(25, 1))])
    honest = json.loads((directory / MANIFEST).read_text())["topics"][TOPIC]
    entry["partitions"] = honest["partitions"]
    entry["known_breaks"] = honest["known_breaks"]
    write_manifest(other, {TOPIC: entry}, "test")
    problems = open_archive(other).verify()
    assert f"{TOPIC}[0] offset 9: offsets 9..9 are missing" in problems
    assert f"{TOPIC}[0]: 29 records, the manifest says 30" in problems
