"""Replay and verify (`ketenlog replay`, `ketenlog verify`): rebuild every projection from the
log (Kafka, or an archive that is checked first) with ketenlog.rebuild into a fresh schema and
swap it in atomically after catching up with the live worker; or rebuild into a scratch schema
up to the live positions and compare checksums, and walk every producer's hash chain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import IsolationLevel

from domain.facts import Fact
from infra import chain_audit, kafka_log, timeline_audit
from infra.archive import open_archive
from infra.kafka_log import KafkaLogError
from infra.person_keys import PersonKeyStore
from infra.topics import end_offsets
from ketenlog.progress import Progress
from ketenlog.rebuild import IncompleteSourceError, Rebuilt, Sends, Source, rebuild
from ketenlog.settings import DEFAULT_GROUP, Settings
from ketenlog.signing import registry, verifier
from processors.batch import BatchProcessor
from processors.ports import TopicPartition
from processors.timeline import Outgoing
from projections import aggregates, checksums, replay_store
from projections.db import LIVE, connect, migrate
from projections.processing_store import PgProcessingStore
from schemas.access import AUDITOR, KafkaAccess
from schemas.codec import default_codec
from schemas.records import Raw
from schemas.topics import TIMELINE, event_topics

SCHEMA = "ketenlog_replay"
VERIFY_SCHEMA = "ketenlog_verify"
# Session-level: released when the command's connection closes, however it ends.
REPLAY_LOCK = 0x6B65746570
Say = Callable[[str], None]


class ReplayError(Exception):
    """A replay or verify that could not run or was refused; the message says why."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class ReplayOptions:
    group: str = DEFAULT_GROUP
    workers: int | None = None
    # From an export instead of Kafka, checked first (and its manifest against the hash).
    archive: Path | None = None
    manifest_sha256: str | None = None


@dataclass(frozen=True)
class Replayed:
    built: Rebuilt
    checksums: list[checksums.Checksum]


@dataclass(frozen=True)
class Verified:
    live: list[checksums.Checksum]
    differences: list[checksums.Difference]
    # None when the chain walk was not asked for.
    chains: chain_audit.ChainAudit | None
    timeline: timeline_audit.TimelineAudit | None = None
    # Per aggregate the views read (migration 017): rows differing from its recompute.
    aggregates: dict[str, int] | None = None


class KafkaSource:
    def __init__(self, kafka: KafkaAccess) -> None:
        self._kafka = kafka

    def records(self, parts: Sequence[kafka_log.Part]) -> Iterator[Raw]:
        return kafka_log.read_parts(self._kafka, parts)


class ArchiveSource:
    """Opens the archive in the process that reads it (replay workers are processes)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def records(self, parts: Sequence[kafka_log.Part]) -> Iterator[Raw]:
        archive = open_archive(self._directory)
        for topic, partition, start, stop in parts:
            for record in archive.records(topic, partition):
                if start <= record.offset < stop:
                    yield record


def replay(settings: Settings, options: ReplayOptions, say: Say) -> Replayed:
    """Rebuild every projection from the beginning and swap it in; the live tables' checksums
    after the swap."""
    if options.manifest_sha256 is not None and options.archive is None:
        raise ReplayError("--manifest-sha256 goes with --from-archive", exit_code=2)
    with open_database(settings) as conn:
        if options.archive is not None:
            source, upto, keys = _archive(options.archive, options.manifest_sha256, say)
            built = rebuild_into(
                settings,
                source,
                upto,
                group=options.group,
                workers=options.workers,
                say=say,
                signing_keys=keys,
            )
            with conn.transaction():
                replay_store.lock_swap(conn)
                replay_store.swap(conn, SCHEMA)
        else:
            upto = end_offsets(settings, event_topics(), AUDITOR)
            built = rebuild_into(
                settings,
                KafkaSource(settings.kafka(AUDITOR)),
                upto,
                group=options.group,
                workers=options.workers,
                say=say,
                signing_keys=registry(settings),
            )
            catch_up_and_swap(conn, settings, options.group, say)
        say("replay: swapped in; the rebuilt projections are live")
        sums = checksums.checksums(conn, LIVE)
    return Replayed(built, sums)


def verify(settings: Settings, group: str, workers: int | None, chains: bool, say: Say) -> Verified:
    """The live projections against a fresh replay up to their positions, and (`chains`)
    every organisation topic-partition's hash chain from its start."""
    with open_database(settings) as conn:
        # One snapshot: the live positions and the live tables they produced.
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            positions = replay_store.positions(conn, LIVE, group)
            live = checksums.checksums(conn, LIVE)
            maintained = aggregates.differences(conn, LIVE)
        conn.isolation_level = None
        ends = end_offsets(settings, event_topics(), AUDITOR)
        behind = sum(max(0, end - positions.get(tp, 0)) for tp, end in ends.items())
        if behind:
            say(
                f"verify: the live projections have {behind:,} records left to process; "
                "verifying them as far as they got"
            )
        upto = {tp: positions.get(tp, 0) for tp in ends}
        rebuild_into(
            settings,
            KafkaSource(settings.kafka(AUDITOR)),
            upto,
            group=group,
            workers=workers,
            say=say,
            schema=VERIFY_SCHEMA,
            label="verify",
            signing_keys=registry(settings),
        )
        try:
            replayed = checksums.checksums(conn, VERIFY_SCHEMA)
            accepted, optional = replay_store.accepted_facts(conn, VERIFY_SCHEMA)
        finally:
            replay_store.drop_schema(conn, VERIFY_SCHEMA)
    say(f"verify: reading {TIMELINE} against the {len(accepted):,} accepted facts")
    timeline = timeline_audit.audit_live(
        settings.kafka(AUDITOR), accepted, at_rest=not behind, optional=optional
    )
    audit = None
    if chains:
        progress = Progress("verify: chains", None)
        audit = chain_audit.walk_all(
            settings.kafka(AUDITOR), on_record=progress.tick, signatures=verifier(settings)
        )
        progress.finish()
    return Verified(live, checksums.compare(live, replayed), audit, timeline, maintained)


def open_database(settings: Settings) -> psycopg.Connection:
    """The live database, migrated, held by this replay or verify alone: two at once would
    rebuild into the same scratch schema."""
    try:
        conn = connect(settings.dsn)
        migrate(conn)
        with conn.transaction():
            alone = conn.execute("SELECT pg_try_advisory_lock(%s)", (REPLAY_LOCK,)).fetchone()
    except psycopg.Error as exc:
        raise ReplayError(
            f"cannot prepare PostgreSQL at {settings.dsn}: {exc}; is it running (`ketenlog up`)?"
        ) from exc
    if not alone or not alone[0]:
        conn.close()
        raise ReplayError("another replay or verify is running on this database; wait for it")
    return conn


def _archive(
    directory: Path, manifest_sha256: str | None, say: Say
) -> tuple[Source, dict[TopicPartition, int], dict[str, Any]]:
    try:
        archive = open_archive(directory, manifest_sha256)
    except (OSError, ValueError) as exc:
        raise ReplayError(f"{directory}: {exc}", exit_code=2) from exc
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
        raise ReplayError(
            f"{directory}: the archive was altered or is incomplete ({len(problems)} problem(s) "
            "listed above); nothing was rebuilt",
            exit_code=1,
        )
    # The archive's own public keys: an offline rebuild trusts what was exported with the log.
    return ArchiveSource(directory), archive.ends(), archive.signing_keys()


def rebuild_into(
    settings: Settings,
    source: Source,
    upto: dict[TopicPartition, int],
    *,
    group: str,
    workers: int | None,
    say: Say,
    schema: str = SCHEMA,
    label: str = "replay",
    signing_keys: dict[str, Any],
    sends: Sends | None = None,
) -> Rebuilt:
    total = sum(upto.values())
    say(f"{label}: rebuilding {total:,} records of {len(upto)} partitions into schema {schema}")
    progress = Progress(f"{label}: records", total)

    def phase(what: str) -> None:
        progress.finish()
        say(f"{label}: {what}")

    try:
        built = rebuild(
            settings.dsn,
            schema,
            source,
            upto,
            consumer=group,
            tick=progress.tick,
            workers=workers,
            phase=phase,
            signing_keys=signing_keys,
            person_keys=str(settings.person_keys_file),
            sends=sends,
        )
    except (IncompleteSourceError, KafkaLogError, psycopg.Error) as exc:
        with connect(settings.dsn) as conn:
            replay_store.drop_schema(conn, schema)
        raise ReplayError(f"{label}: {exc}; the live projections are unchanged") from exc
    say(f"{label}: {built.records:,} records rebuilt in {built.seconds:.1f}s ({built.rate:,.0f}/s)")
    return built


def catch_up_and_swap(
    conn: psycopg.Connection,
    settings: Settings,
    group: str,
    say: Say,
    *,
    reader: str = AUDITOR,
    label: str = "replay",
) -> None:
    """The live worker moved on while the replay ran: bring the rebuilt schema to the live
    positions with the live code path (first without the swap lock, then the last few records
    under it, so live batches wait only briefly), then swap. `reader`: the principal that
    reads the log."""
    with conn.transaction():
        live = replay_store.positions(conn, LIVE, group)
    caught = asyncio.run(_catch_up(settings, group, live, reader))
    if caught:
        say(f"{label}: caught up {caught:,} records the live worker processed meanwhile")
    with conn.transaction():
        replay_store.lock_swap(conn)
        live = replay_store.positions(conn, LIVE, group)
        asyncio.run(_catch_up(settings, group, live, reader))
        replay_store.swap(conn, SCHEMA)


async def _catch_up(
    settings: Settings, group: str, targets: dict[TopicPartition, int], reader: str
) -> int:
    store = await PgProcessingStore.open(settings.dsn, Fact, schema=SCHEMA, swap_lock=False)

    async def send(topic: str, outs: list[Outgoing]) -> None:
        # The live worker sent these records' timeline and dead letters already.
        return None

    async def seek(tp: TopicPartition, offset: int) -> None:
        raise ReplayError(f"replay: offsets of {tp[0]}[{tp[1]}] jump at {offset}; cannot catch up")

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
        signatures=verifier(settings),
        person_keys=PersonKeyStore(settings.person_keys_file),
    )
    caught = 0
    try:
        await processor.load_positions()
        for (topic, partition), stop in sorted(targets.items()):
            start = processor.positions.get((topic, partition), 0)
            async for batch in kafka_log.aread(
                settings.kafka(reader), topic, partition, start, stop
            ):
                for i in range(0, len(batch), 2000):
                    await processor.handle(batch[i : i + 2000])
            caught += max(0, stop - start)
    finally:
        await store.close()
    return caught
