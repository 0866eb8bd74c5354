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
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro

from schemas import chain
from schemas.records import Raw

MANIFEST = "manifest.json"
# The public keys the records are signed with (infra/signing_keys.py's registry), so an offline
# auditor can check the signatures; its hash is in the manifest.
SIGNING_KEYS = "signing-keys.json"
# The kinds of chain break a live log can have, which the manifest may list as known.
LIVE_BREAKS = frozenset({"unchained", "mismatch"})
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


def write_manifest(
    directory: Path, topics: dict[str, Any], source: str, signing_keys: dict[str, Any]
) -> str:
    """Writes the public signing keys and manifest.json; returns the manifest's SHA-256, the
    anchor to keep apart from the archive."""
    keys = directory / SIGNING_KEYS
    keys.write_text(json.dumps(signing_keys, indent=1) + "\n", "utf-8")
    manifest = {
        "format": FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "source": source,
        "values": "Avro single-object encoding; schemas in schemas/avro of the ketenlog repository",
        "chain": f"Kafka header {chain.HEADER}: SHA-256 links per topic-partition (docs/audit.md)",
        "signing_keys": {"file": SIGNING_KEYS, "sha256": _sha256(keys)},
        "topics": topics,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")
    return _sha256(directory / MANIFEST)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an archive, at the most precise place known: a file, a
    topic-partition, or a record's offset."""

    file: str
    what: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        if self.partition is None:
            return f"{self.file}: {self.what}"
        at = "" if self.offset is None else f" offset {self.offset}"
        return f"{self.topic}[{self.partition}]{at}: {self.what}"


@dataclass
class _Seen:
    """What verify found of one partition while streaming its file."""

    walk: chain.ChainWalk
    first: int
    last: int = -1
    count: int = 0


class Archive:
    """An export, opened for reading. Call `verify` before trusting it."""

    def __init__(
        self, directory: Path, manifest: dict[str, Any], manifest_sha256: str | None = None
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self._anchor = manifest_sha256

    def topics(self) -> list[str]:
        return sorted(self.manifest["topics"])

    def partitions(self) -> list[tuple[str, int]]:
        return sorted(self.ends())

    def ends(self) -> dict[tuple[str, int], int]:
        """The next offset of every partition, as the manifest says (verify checks it)."""
        return {
            (topic, int(p)): int(entry["next"])
            for topic, t in self.manifest["topics"].items()
            for p, entry in t["partitions"].items()
        }

    @property
    def manifest_sha256(self) -> str:
        """What to compare with the hash `export` printed: the anchor of everything else."""
        return _sha256(self.directory / MANIFEST)

    def records(self, topic: str, partition: int) -> Iterator[Raw]:
        """One partition's records in offset order. Files are in partition order (verify
        checks it), so a block holds partitions from its first record's to the next block's
        first record's: every block before the partition is skipped after decoding one record
        (a replay reads all partitions, and would otherwise decode each file partitions/2
        times over)."""
        held: Iterator[dict[str, Any]] | None = None
        for block in self._blocks(topic):
            rows = iter(block)
            first = next(rows, None)
            if first is None:
                continue
            if held is not None and int(first["partition"]) >= partition:
                yield from (r for r in map(_raw, held) if r.partition == partition)
            if int(first["partition"]) > partition:
                return
            held = itertools.chain([first], rows)
        if held is not None:
            yield from (r for r in map(_raw, held) if r.partition == partition)

    def _blocks(self, topic: str) -> Iterator[Iterable[dict[str, Any]]]:
        path = self.directory / self.manifest["topics"][topic]["file"]
        with path.open("rb") as f:
            yield from fastavro.block_reader(f)  # type: ignore[misc]

    def _all(self, topic: str) -> Iterator[Raw]:
        path = self.directory / self.manifest["topics"][topic]["file"]
        with path.open("rb") as f:
            yield from map(_raw, fastavro.reader(f))  # type: ignore[arg-type]

    def signing_keys(self) -> dict[str, Any]:
        """The public-key registry exported with the log (empty for an archive without one)."""
        entry = self.manifest.get("signing_keys")
        if entry is None:
            return {"keys": []}
        data: dict[str, Any] = json.loads((self.directory / entry["file"]).read_text("utf-8"))
        return data

    def known_breaks(self) -> list[str]:
        """Breaks the log itself had when it was exported (listed by the export)."""
        return [b for t in self.topics() for b in self.manifest["topics"][t]["known_breaks"]]

    def verify(self) -> list[Problem]:
        """Every problem, each naming its place: a file whose hash differs from the manifest,
        a file that does not read, a chain break (topic, partition, offset), missing records,
        counts or offsets that differ from the manifest. Streams each file once."""
        problems: list[Problem] = []
        if self._anchor is not None and self.manifest_sha256 != self._anchor.lower():
            problems.append(Problem(MANIFEST, "SHA-256 differs from the one export printed"))
        keys = self.manifest.get("signing_keys")
        if keys is not None:
            path = self.directory / keys["file"]
            if not path.is_file():
                problems.append(Problem(keys["file"], "missing"))
            elif _sha256(path) != keys["sha256"]:
                problems.append(Problem(keys["file"], "SHA-256 differs from the manifest"))
        for topic in self.topics():
            entry = self.manifest["topics"][topic]
            path = self.directory / entry["file"]
            if not path.is_file():
                problems.append(Problem(entry["file"], "missing"))
                continue
            if _sha256(path) != entry["sha256"]:
                problems.append(Problem(entry["file"], "SHA-256 differs from the manifest"))
            problems += self._walk(topic, entry)
        return problems

    def _walk(self, topic: str, entry: dict[str, Any]) -> list[Problem]:
        file = entry["file"]
        problems: list[Problem] = []
        # A link break the export already found in the live log (a record another client
        # wrote) is evidence about the log, not about this copy: the manifest lists it, and
        # the manifest is anchored by the hash `export` printed. Missing or reordered offsets
        # never come from a log read in order, so they are never excused.
        known = set(entry.get("known_breaks", []))
        seen: dict[int, _Seen] = {}
        total, last_partition = 0, -1
        try:
            for r in self._all(topic):
                total += 1
                if r.topic != topic:
                    what = f"a record of topic {r.topic!r} in the file of {topic}"
                    problems.append(Problem(file, what, topic, r.partition, r.offset))
                if r.partition < last_partition:
                    what = f"out of partition order (after partition {last_partition})"
                    problems.append(Problem(file, what, topic, r.partition, r.offset))
                last_partition = max(last_partition, r.partition)
                s = seen.get(r.partition)
                if s is None:
                    s = seen[r.partition] = _Seen(chain.ChainWalk(), first=r.offset)
                s.last, s.count = r.offset, s.count + 1
                for b in s.walk.step(r):
                    if str(b) not in known or b.kind not in LIVE_BREAKS:
                        problems.append(Problem(file, b.reason, b.topic, b.partition, b.offset))
        except Exception as exc:  # fastavro raises many kinds on a damaged file
            what = f"does not read as Avro after {total} records ({type(exc).__name__}: {exc})"
            return [*problems, Problem(file, what)]
        if total != entry["records"]:
            problems.append(Problem(file, f"{total} records, the manifest says {entry['records']}"))
        for p, expected in sorted(entry["partitions"].items(), key=lambda x: int(x[0])):
            problems += _compare(file, topic, int(p), seen.pop(int(p), None), expected)
        for p in sorted(seen):
            problems.append(Problem(file, "not in the manifest", topic, p))
        return problems


def _compare(
    file: str, topic: str, partition: int, seen: _Seen | None, expected: dict[str, Any]
) -> list[Problem]:
    """One partition as read against its manifest entry."""

    def problem(what: str) -> Problem:
        return Problem(file, what, topic, partition)

    problems: list[Problem] = []
    count = seen.count if seen else 0
    if seen and seen.first != expected["first"]:
        problems.append(
            problem(f"starts at offset {seen.first}, the manifest says {expected['first']}")
        )
    end = seen.last + 1 if seen else 0
    if end < expected["next"]:
        problems.append(
            problem(f"offsets {end}..{expected['next'] - 1} are missing (the manifest lists them)")
        )
    elif end > expected["next"]:
        problems.append(
            problem(f"ends at offset {end - 1}, the manifest says {expected['next'] - 1}")
        )
    if count != expected["count"]:
        problems.append(problem(f"{count} records, the manifest says {expected['count']}"))
    head = seen.walk.prev if seen else chain.GENESIS
    if head.hex() != expected["head"]:
        problems.append(problem("the last chain link differs from the manifest"))
    return problems


def _raw(row: dict[str, Any]) -> Raw:
    return Raw(
        row["topic"],
        int(row["partition"]),
        int(row["offset"]),
        row["key"],
        row["value"],
        [(h["key"], h["value"]) for h in row["headers"]],
        int(row["timestamp_ms"]),
    )


def open_archive(directory: Path, manifest_sha256: str | None = None) -> Archive:
    """The export in `directory`; raises ValueError when it has no readable manifest.
    `manifest_sha256`: the hash `export` printed, kept apart from the archive (a ticket, a
    signed mail): without it, whoever rewrites a file can rewrite the manifest to match, and
    only the chains can still name what was changed."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"no {MANIFEST}: not an export of `ketenlog export`") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{MANIFEST} is not JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT}")
    return Archive(directory, manifest, manifest_sha256)
