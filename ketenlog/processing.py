"""The live processor assembled (`ketenlog process`, the demo): the faust worker of processors.app
with the PostgreSQL store of projections and the one derive step, on the settings' services."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from domain.facts import Fact
from infra.person_keys import PersonKeyStore
from infra.topics import end_offsets
from ketenlog.settings import Settings
from ketenlog.signing import live_verifier
from processors.app import WorkerConfig, build_app, run_worker
from processors.batch import BatchProcessor, Earliest, Seek, Send
from projections import health
from projections.db import connect, migrate
from projections.processing_store import PgProcessingStore
from schemas.access import PROCESSOR
from schemas.codec import default_codec
from schemas.topics import event_topics

DEFAULT_GROUP = "ketenlog-process"
Say = Callable[[str], None]


class ProcessingError(Exception):
    """The processor could not start or did not finish; the message says what to do."""


@dataclass(frozen=True)
class ProcessOptions:
    until_idle: bool = False
    batch_size: int = 10_000
    batch_wait_s: float = 0.1
    group: str = DEFAULT_GROUP


def process(settings: Settings, options: ProcessOptions, say: Say) -> None:
    """Migrate the database, then run the worker until stopped (or, `until_idle`, until the
    input present at start is processed). Owns the process: faust installs signal handlers."""
    try:
        with connect(settings.dsn) as conn:
            applied = migrate(conn)
    except Exception as exc:
        raise ProcessingError(
            f"cannot prepare PostgreSQL at {settings.dsn}: {exc}; is it running (`ketenlog up`)?"
        ) from exc
    if applied:
        say(f"process: database migrated to version {applied[-1]}")
    (settings.home / "faust").mkdir(parents=True, exist_ok=True)
    config = WorkerConfig(
        group=options.group,
        kafka=settings.kafka(PROCESSOR),
        partitions=settings.partitions,
        batch_size=options.batch_size,
        batch_within_s=options.batch_wait_s,
        datadir=str(settings.home / "faust" / "{conf.name}"),
        until_idle=options.until_idle,
        targets=tuple(sorted(end_offsets(settings, event_topics(), PROCESSOR).items()))
        if options.until_idle
        else (),
    )

    signatures = live_verifier(settings)

    async def make_processor(send: Send, seek: Seek, earliest: Earliest) -> BatchProcessor:
        store = await PgProcessingStore.open(settings.dsn, Fact)
        return BatchProcessor(
            config.group,
            codec=default_codec(),
            store=store,
            send=send,
            seek=seek,
            earliest=earliest,
            partitions=config.partitions,
            signatures=signatures,
            person_keys=PersonKeyStore(settings.person_keys_file),
        )

    async def on_fault(at: datetime, error: str) -> None:
        await health.record_fault(settings.dsn, config.group, at, error)

    run_worker(build_app(config, make_processor, say, on_fault))


@contextlib.contextmanager
def processing_alongside(
    settings: Settings, say: Say, poll_s: float = 2.0, catch_up_s: float = 3600.0
) -> Iterator[None]:
    """The live processor in a process of its own while the body publishes (the demo): on
    leaving, wait until it has processed every agency topic to its end as it is then, and
    stop it. Publishing and processing overlap on the machine's cores instead of taking
    turns; the positions in PostgreSQL say when it is done, as for --until-idle."""
    child = multiprocessing.get_context("spawn").Process(
        target=_live, args=(settings,), name="ketenlog-process"
    )
    child.start()
    try:
        yield
        targets = end_offsets(settings, event_topics(), PROCESSOR)
        deadline = time.monotonic() + catch_up_s
        while not _caught_up(settings, targets):
            if not child.is_alive():
                raise ProcessingError(
                    f"the processor stopped (exit {child.exitcode}) before it had processed "
                    "everything published; see its output above"
                )
            if time.monotonic() > deadline:
                raise ProcessingError(f"the processor did not catch up within {catch_up_s:.0f} s")
            time.sleep(poll_s)
        say("demo: the processor has processed everything published")
    finally:
        if child.is_alive():
            child.terminate()  # SIGTERM: faust stops its worker; positions are in PostgreSQL
        child.join(60)
        if child.is_alive():
            child.kill()
            child.join()


def _caught_up(settings: Settings, targets: dict[tuple[str, int], int]) -> bool:
    with connect(settings.dsn) as conn:
        rows = conn.execute(
            "SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer = %s",
            (DEFAULT_GROUP,),
        ).fetchall()
    positions = {(t, p): o for t, p, o in rows}
    return all(positions.get(tp, 0) >= end for tp, end in targets.items())


def _live(settings: Settings) -> None:
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        process(settings, ProcessOptions(), say)
    except ProcessingError as exc:
        say(f"process: {exc}")
        sys.exit(1)
