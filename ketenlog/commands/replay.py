"""`ketenlog replay`: rebuild every projection from the beginning of the log into a fresh
schema and swap it in atomically; the live projections keep serving until the swap.
`--from-archive DIR` does the same from an export (`ketenlog export`) without Kafka.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from pathlib import Path

import psycopg

from domain.facts import Fact
from infra import kafka_log
from infra.archive import open_archive
from infra.kafka_log import KafkaLogError
from infra.topics import end_offsets
from ketenlog.commands.base import CommandError, Progress, Registry, say
from ketenlog.commands.process import DEFAULT_GROUP
from ketenlog.rebuild import (
    IncompleteSourceError,
    Rebuilt,
    Source,
    rebuild,
)
from ketenlog.settings import Settings
from processors.batch import BatchProcessor
from processors.ports import TopicPartition
from processors.timeline import Outgoing
from projections import checksums, replay_store
from projections.db import LIVE, connect, migrate
from projections.processing_store import PgProcessingStore
from schemas.codec import default_codec
from schemas.records import Raw
from schemas.topics import event_topics

SCHEMA = "ketenlog_replay"
# Session-level: released when the command's connection closes, however it ends.
REPLAY_LOCK = 0x6B65746570


def register(registry: Registry) -> None:
    parser = registry.add(
        "replay",
        _run,
        "Rebuild every projection from the beginning of the log (batch path) into a fresh "
        "schema and swap it in atomically; the live projections serve until the swap and a "
        "running `ketenlog process` continues on the new tables.",
    )
    parser.add_argument(
        "--from-archive",
        type=Path,
        metavar="DIR",
        help="rebuild from an export (`ketenlog export DIR`) instead of Kafka: the archive is "
        "checked first (manifest hashes, hash chains) and refused, naming the place, if altered",
    )
    parser.add_argument(
        "--manifest-sha256",
        metavar="HASH",
        help="with --from-archive: the manifest hash `export` printed, kept apart from the "
        "archive; refused if the manifest differs (else a forger could rewrite files and "
        "manifest together, and only the hash chains would still show it)",
    )
    parser.add_argument(
        "--checksums",
        type=Path,
        metavar="FILE",
        help="write the rebuilt tables' checksums (per table and period) to FILE as JSON",
    )
    parser.add_argument(
        "--expect",
        type=Path,
        metavar="FILE",
        help="compare the rebuilt checksums with FILE (`ketenlog verify --checksums FILE` of "
        "the live system); exit 1 and list every difference if they differ",
    )
    add_common(parser)


def add_common(parser: argparse.ArgumentParser) -> None:
    """Options `replay` and `verify` share."""
    parser.add_argument(
        "--group", default=DEFAULT_GROUP, help=f"the live consumer group (default {DEFAULT_GROUP})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that fold partition groups in parallel (default: one per core)",
    )


class KafkaSource:
    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap

    def records(self, topic: str, partition: int, start: int, stop: int) -> Iterator[Raw]:
        return kafka_log.read(self._bootstrap, topic, partition, start, stop)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    expected = _read_expected(args.expect)
    if args.manifest_sha256 is not None and args.from_archive is None:
        raise CommandError("--manifest-sha256 goes with --from-archive", exit_code=2)
    with open_database(settings) as conn:
        if args.from_archive is not None:
            source, upto = _archive(args.from_archive, args.manifest_sha256)
            built = rebuild_into(settings, source, upto, group=args.group, workers=args.workers)
            with conn.transaction():
                replay_store.lock_swap(conn)
                replay_store.swap(conn, SCHEMA)
        else:
            upto = end_offsets(settings, event_topics())
            built = rebuild_into(
                settings,
                KafkaSource(settings.bootstrap),
                upto,
                group=args.group,
                workers=args.workers,
            )
            _catch_up_and_swap(conn, settings, args.group)
        say("replay: swapped in; the rebuilt projections are live")
        sums = checksums.checksums(conn, LIVE)
    _report(built, sums, args.checksums)
    if expected is not None:
        return _compare(sums, expected)
    return 0


def open_database(settings: Settings) -> psycopg.Connection:
    """The live database, migrated, held by this replay or verify alone: two at once would
    rebuild into the same scratch schema."""
    try:
        conn = connect(settings.dsn)
        migrate(conn)
        with conn.transaction():
            alone = conn.execute("SELECT pg_try_advisory_lock(%s)", (REPLAY_LOCK,)).fetchone()
    except psycopg.Error as exc:
        raise CommandError(
            f"cannot prepare PostgreSQL at {settings.dsn}: {exc}; is it running (`ketenlog up`)?"
        ) from exc
    if not alone or not alone[0]:
        conn.close()
        raise CommandError("another replay or verify is running on this database; wait for it")
    return conn


def _read_expected(path: Path | None) -> list[checksums.Checksum] | None:
    if path is None:
        return None
    try:
        return checksums.from_json(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"--expect {path}: {exc}", exit_code=2) from exc


def _archive(
    directory: Path, manifest_sha256: str | None
) -> tuple[Source, dict[TopicPartition, int]]:
    try:
        archive = open_archive(directory, manifest_sha256)
    except (OSError, ValueError) as exc:
        raise CommandError(f"{directory}: {exc}", exit_code=2) from exc
    say(f"replay: checking the archive {directory} (manifest hashes, hash chains)")
    problems = archive.verify()
    known = archive.known_breaks()
    if known:
        say(
            f"replay: {len(known)} chain break(s) were in the log already when it was exported "
            "(listed in the manifest; records not sent by a publisher, dead-lettered on replay)"
        )
    if problems:
        for problem in problems:
            say(f"  {problem}")
        raise CommandError(
            f"{directory}: the archive was altered or is incomplete ({len(problems)} problem(s) "
            "listed above); nothing was rebuilt",
            exit_code=1,
        )
    return ArchiveSource(directory), archive.ends()


class ArchiveSource:
    """Opens the archive in the process that reads it (replay workers are processes)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def records(self, topic: str, partition: int, start: int, stop: int) -> Iterator[Raw]:
        for record in open_archive(self._directory).records(topic, partition):
            if start <= record.offset < stop:
                yield record


def rebuild_into(
    settings: Settings,
    source: Source,
    upto: dict[TopicPartition, int],
    *,
    group: str,
    workers: int | None,
    schema: str = SCHEMA,
    label: str = "replay",
) -> Rebuilt:
    total = sum(upto.values())
    say(f"{label}: rebuilding {total:,} records of {len(upto)} partitions into schema {schema}")
    progress = Progress(f"{label}: records", total)
    try:
        built = rebuild(
            settings.dsn,
            schema,
            source,
            upto,
            consumer=group,
            tick=progress.tick,
            workers=workers,
            phase=lambda what: _phase(progress, f"{label}: {what}"),
        )
    except (IncompleteSourceError, KafkaLogError, psycopg.Error) as exc:
        with connect(settings.dsn) as conn:
            replay_store.drop_schema(conn, schema)
        raise CommandError(f"{label}: {exc}; the live projections are unchanged") from exc
    say(f"{label}: {built.records:,} records rebuilt in {built.seconds:.1f}s ({built.rate:,.0f}/s)")
    return built


def _phase(progress: Progress, line: str) -> None:
    progress.finish()
    say(line)


def _catch_up_and_swap(conn: psycopg.Connection, settings: Settings, group: str) -> None:
    """The live worker moved on while the replay ran: bring the rebuilt schema to the live
    positions with the live code path (first without the swap lock, then the last few records
    under it, so live batches wait only briefly), then swap."""
    with conn.transaction():
        live = replay_store.positions(conn, LIVE, group)
    caught = asyncio.run(_catch_up(settings, group, live))
    if caught:
        say(f"replay: caught up {caught:,} records the live worker processed meanwhile")
    with conn.transaction():
        replay_store.lock_swap(conn)
        live = replay_store.positions(conn, LIVE, group)
        asyncio.run(_catch_up(settings, group, live))
        replay_store.swap(conn, SCHEMA)


async def _catch_up(settings: Settings, group: str, targets: dict[TopicPartition, int]) -> int:
    store = await PgProcessingStore.open(settings.dsn, Fact, schema=SCHEMA, swap_lock=False)

    async def send(topic: str, outs: list[Outgoing]) -> None:
        # The live worker sent these records' timeline and dead letters already.
        return None

    async def seek(tp: TopicPartition, offset: int) -> None:
        raise CommandError(f"replay: offsets of {tp[0]}[{tp[1]}] jump at {offset}; cannot catch up")

    async def earliest(tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(tps, 0)

    processor = BatchProcessor(
        group,
        codec=default_codec(),
        store=store,
        send=send,
        seek=seek,
        earliest=earliest,
        partitions=settings.partitions,
    )
    caught = 0
    try:
        await processor.load_positions()
        for (topic, partition), stop in sorted(targets.items()):
            start = processor.positions.get((topic, partition), 0)
            async for batch in kafka_log.aread(settings.bootstrap, topic, partition, start, stop):
                for i in range(0, len(batch), 2000):
                    await processor.handle(batch[i : i + 2000])
            caught += max(0, stop - start)
    finally:
        await store.close()
    return caught


def _report(built: Rebuilt, sums: list[checksums.Checksum], path: Path | None) -> None:
    dead = ", ".join(f"{k} {v}" for k, v in sorted(built.deadletters.items())) or "none"
    say(
        f"replay: {built.records:,} records in {built.seconds:.1f}s ({built.rate:,.0f}/s): "
        f"{built.facts:,} facts, {built.persons:,} persons, {built.duplicates:,} duplicates, "
        f"dead letters: {dead}"
    )
    print_checksums(sums)
    if path is not None:
        path.write_text(checksums.to_json(sums), "utf-8")
        say(f"replay: checksums written to {path}")


def print_checksums(sums: list[checksums.Checksum]) -> None:
    print(f"{'TABLE':<20} {'ROWS':>10}  CHECKSUM")
    for c in checksums.per_table(sums):
        print(f"{c.table:<20} {c.rows:>10}  {c.digest}")


def _compare(sums: list[checksums.Checksum], expected: list[checksums.Checksum]) -> int:
    differences = checksums.compare(expected, sums)
    if not differences:
        say("replay: every checksum equals the expected one")
        return 0
    for d in differences:
        say(f"  differs: {d.describe()}")
    say(f"replay: {len(differences)} table period(s) differ from the expected checksums")
    return 1
