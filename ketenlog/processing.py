"""The live processor assembled (`ketenlog process`, the demo): the faust worker of processors.app
with the PostgreSQL store of projections and the one derive step, on the settings' services."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from domain.facts import Fact
from infra.errors import InfraError
from infra.person_keys import PersonKeyStore
from infra.topics import end_offsets
from ketenlog.catching_up import CatchUpError, backlog, catch_up
from ketenlog.settings import DEFAULT_GROUP, Settings
from ketenlog.signing import live_verifier
from processors.batch import BatchProcessor, Earliest, Seek, Send
from projections import health, replay_store
from projections.db import LIVE, connect, migrate
from projections.processing_store import PgProcessingStore
from schemas.access import PROCESSOR
from schemas.codec import default_codec
from schemas.topics import event_topics

Say = Callable[[str], None]


class ProcessingError(Exception):
    """The processor could not start or did not finish; the message says what to do."""


@dataclass(frozen=True)
class ProcessOptions:
    until_idle: bool = False
    batch_size: int = 10_000
    batch_wait_s: float = 0.01
    group: str = DEFAULT_GROUP
    catch_up_over: int | None = 50_000
    """Catch up at batch speed when at least this many records (and a quarter of the log)
    are waiting at start (ketenlog.catching_up); None: always live."""


def process(settings: Settings, options: ProcessOptions, say: Say) -> None:
    """Migrate the database, catch up at batch speed if far behind, then run the worker until
    stopped (or, `until_idle`, until the input present at start is processed). Owns the
    process: faust installs signal handlers."""
    try:
        with connect(settings.dsn) as conn:
            applied = migrate(conn)
    except Exception as exc:
        raise ProcessingError(
            f"cannot prepare PostgreSQL at {settings.dsn}: {exc}; is it running (`ketenlog up`)?"
        ) from exc
    if applied:
        say(f"process: database migrated to version {applied[-1]}")
    ends: dict[tuple[str, int], int] = {}
    if options.until_idle or options.catch_up_over is not None:
        try:
            ends = end_offsets(settings, event_topics(), PROCESSOR)
        except InfraError as exc:
            if options.until_idle:
                raise ProcessingError(str(exc)) from exc
            # The live worker waits for the broker itself; there is nothing to catch up to.
            say(f"process: {exc}; no catch-up, the worker waits for Kafka")
    if options.catch_up_over is not None and ends:
        try:
            caught = catch_up(settings, options.group, ends, say, least=options.catch_up_over)
        except CatchUpError as exc:
            raise ProcessingError(str(exc)) from exc
        if caught is not None and options.until_idle and _caught_up(settings, ends, options.group):
            say("process: idle: all input present at start is processed")
            return
    # Imported only to go live: faust's imports (~0.3 s) are wasted on a catch-up that ends.
    from processors.app import WorkerConfig, build_app, run_worker  # noqa: PLC0415

    (settings.home / "faust").mkdir(parents=True, exist_ok=True)
    config = WorkerConfig(
        group=options.group,
        kafka=settings.kafka(PROCESSOR),
        partitions=settings.partitions,
        batch_size=options.batch_size,
        batch_within_s=options.batch_wait_s,
        datadir=str(settings.home / "faust" / "{conf.name}"),
        until_idle=options.until_idle,
        targets=tuple(sorted(ends.items())) if options.until_idle else (),
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


def processed_to_end(
    settings: Settings, say: Say, poll_s: float = 2.0, catch_up_s: float = 3600.0
) -> None:
    """The processor in a process of its own (the demo, after publishing): wait until it has
    processed every agency topic to its end as it is now, then stop it. Started far behind,
    it catches up at batch speed on every core (ketenlog.catching_up), which is quicker than
    processing alongside the publisher on two cores: the live path alone would fall behind
    it. The positions in PostgreSQL say when it is done, as for --until-idle."""
    targets = end_offsets(settings, event_topics(), PROCESSOR)
    with connect(settings.dsn) as conn:
        # Before the first poll of the positions: the child may not have migrated yet.
        migrate(conn)
    child = multiprocessing.get_context("spawn").Process(
        target=_live, args=(settings,), name="ketenlog-process"
    )
    child.start()
    try:
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


def _caught_up(
    settings: Settings, targets: dict[tuple[str, int], int], group: str = DEFAULT_GROUP
) -> bool:
    with connect(settings.dsn) as conn:
        return backlog(replay_store.positions(conn, LIVE, group), targets).behind == 0


def _live(settings: Settings) -> None:
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        process(settings, ProcessOptions(), say)
    except ProcessingError as exc:
        say(f"process: {exc}")
        sys.exit(1)
