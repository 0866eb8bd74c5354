"""The log as an archive an auditor can take away: one Avro object container file per
organisation topic (standard files any Avro tool reads) and a manifest of counts, offsets,
SHA-256 hashes and each partition's last chain link. Written by `ketenlog export`, read by
`ketenlog replay --from-archive` on a machine without Kafka.

Each record keeps the bytes as published (key, value, headers with the chain link, timestamp),
so the producers' hash chains can be walked offline: the manifest alone proves nothing (whoever
edits a file can edit it too), the chains name the record that was altered or removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro

from processors.timeline import Raw
from schemas import chain

MANIFEST = "manifest.json"
FORMAT = "ketenlog-archive/1"
SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "LogRecord",
    "namespace": "nl.keten.archive",
    "doc": "One record of an agency topic as the broker stored it. `value` is the event in "
    "Avro single-object encoding (schemas/avro in the ketenlog repository); the header "
    "ketenlog-chain holds the producer's hash-chain link.",
    "fields": [
        {"name": "topic", "type": "string"},
        {"name": "partition", "type": "int"},
        {"name": "offset", "type": "long"},
        {"name": "timestamp_ms", "type": "long"},
        {"name": "key", "type": ["null", "bytes"]},
        {"name": "value", "type": ["null", "bytes"]},
        {
            "name": "headers",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Header",
                    "fields": [
                        {"name": "key", "type": "string"},
                        {"name": "value", "type": "bytes"},
                    ],
                },
            },
        },
    ],
}
_PARSED = fastavro.parse_schema(SCHEMA)


@dataclass
class PartitionEntry:
    first: int
    next: int
    count: int
    head: str

    @classmethod
    def empty(cls) -> PartitionEntry:
        return cls(first=-1, next=0, count=0, head=chain.GENESIS.hex())


def write_topic(
    directory: Path, topic: str, partitions: Iterable[tuple[int, Iterable[Raw]]]
) -> dict[str, Any]:
    """Write one topic's file; returns its manifest entry. `partitions` in partition order,
    each partition's records in offset order."""
    entries: dict[str, PartitionEntry] = {}
    records = 0
    # Breaks already in the log when it was exported (e.g. records a rogue client wrote
    # without a link): listed, so that offline only new ones count as the archive's.
    known: list[str] = []

    def rows_of(parts: Iterable[tuple[int, Iterable[Raw]]]) -> Iterator[dict[str, Any]]:
        nonlocal records
        for partition, raws in parts:
            entry = entries.setdefault(str(partition), PartitionEntry.empty())
            for r in raws:
                if entry.first < 0:
                    entry.first = r.offset
                entry.next, entry.count = r.offset + 1, entry.count + 1
                link = chain.link_of(r)
                if link is not None:
                    entry.head = link.hex()
                records += 1
                yield {
                    "topic": r.topic,
                    "partition": r.partition,
                    "offset": r.offset,
                    "timestamp_ms": r.timestamp_ms,
                    "key": r.key,
                    "value": r.value,
                    "headers": [{"key": k, "value": v} for k, v in r.headers],
                }

    def walked(raws: Iterable[Raw]) -> Iterator[Raw]:
        # Walk each partition's chain as it streams by: one pass over the log.
        state = chain.ChainWalk()
        for r in raws:
            known.extend(str(b) for b in state.step(r))
            yield r

    path = directory / f"{topic}.avro"
    with path.open("wb") as out:
        # No compression: a changed byte then still decodes, and the chain names its record.
        fastavro.writer(
            out,
            _PARSED,
            rows_of((p, walked(raws)) for p, raws in partitions),
            codec="null",
            sync_interval=1 << 20,
        )
    return {
        "file": path.name,
        "sha256": _sha256(path),
        "records": records,
        "partitions": {p: e.__dict__ for p, e in sorted(entries.items(), key=lambda x: int(x[0]))},
        "known_breaks": known,
    }


def write_manifest(directory: Path, topics: dict[str, Any], source: str) -> None:
    manifest = {
        "format": FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "source": source,
        "values": "Avro single-object encoding; schemas in schemas/avro of the ketenlog repository",
        "chain": f"Kafka header {chain.HEADER}: SHA-256 links per topic-partition (docs/audit.md)",
        "topics": topics,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Archive:
    """An export, opened for reading. Call `verify` before trusting it."""

    def __init__(self, directory: Path, manifest: dict[str, Any]) -> None:
        self.directory = directory
        self.manifest = manifest

    def topics(self) -> list[str]:
        return sorted(self.manifest["topics"])

    def ends(self) -> dict[tuple[str, int], int]:
        return {
            (topic, int(p)): int(entry["next"])
            for topic, t in self.manifest["topics"].items()
            for p, entry in t["partitions"].items()
        }

    def records(self, topic: str, partition: int) -> Iterator[Raw]:
        """One partition's records in offset order (reads through the topic's file)."""
        for r in self._all(topic):
            if r.partition == partition:
                yield r

    def _all(self, topic: str) -> Iterator[Raw]:
        path = self.directory / self.manifest["topics"][topic]["file"]
        with path.open("rb") as f:
            for row in fastavro.reader(f):
                assert isinstance(row, dict)
                yield Raw(
                    topic,
                    int(row["partition"]),
                    int(row["offset"]),
                    row["key"],
                    row["value"],
                    [(h["key"], h["value"]) for h in row["headers"]],
                    int(row["timestamp_ms"]),
                )

    def known_breaks(self) -> list[str]:
        """Breaks the log itself had when it was exported (listed by the export)."""
        return [b for t in self.topics() for b in self.manifest["topics"][t]["known_breaks"]]

    def verify(self) -> list[str]:
        """Every problem, each naming its place: a file whose hash differs from the manifest,
        a file that does not read, a chain break (topic, partition, offset), a missing record,
        counts or offsets that differ from the manifest."""
        problems: list[str] = []
        for topic in self.topics():
            entry = self.manifest["topics"][topic]
            path = self.directory / entry["file"]
            if not path.is_file():
                problems.append(f"{entry['file']}: missing")
                continue
            if _sha256(path) != entry["sha256"]:
                problems.append(f"{entry['file']}: SHA-256 differs from the manifest")
            problems += self._walk(topic, entry)
        return problems

    def _walk(self, topic: str, entry: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        by_partition: dict[int, list[Raw]] = {}
        try:
            for r in self._all(topic):
                by_partition.setdefault(r.partition, []).append(r)
        except Exception as exc:  # fastavro raises many kinds on a damaged file
            return [f"{entry['file']}: does not read as Avro ({type(exc).__name__}: {exc})"]
        known = set(entry.get("known_breaks", []))
        for p, expected in entry["partitions"].items():
            records = by_partition.pop(int(p), [])
            breaks, head = chain.walk(records)
            problems += [str(b) for b in breaks if str(b) not in known]
            if records and records[0].offset != expected["first"]:
                problems.append(
                    f"{topic}[{p}]: starts at offset {records[0].offset}, the manifest says "
                    f"{expected['first']}"
                )
            end = records[-1].offset + 1 if records else 0
            if end < expected["next"]:
                problems.append(
                    f"{topic}[{p}]: offsets {end}..{expected['next'] - 1} are missing "
                    "(the manifest lists them)"
                )
            if len(records) != expected["count"]:
                problems.append(
                    f"{topic}[{p}]: {len(records)} records, the manifest says {expected['count']}"
                )
            if head.hex() != expected["head"]:
                problems.append(f"{topic}[{p}]: the last chain link differs from the manifest")
        problems += [f"{topic}[{p}]: not in the manifest" for p in by_partition]
        return problems


def open_archive(directory: Path) -> Archive:
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"no {MANIFEST}: not an export of `ketenlog export`") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{MANIFEST} is not JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT}")
    return Archive(directory, manifest)
