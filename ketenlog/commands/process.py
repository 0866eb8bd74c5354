"""`ketenlog process`: run the timeline processor (faust workers) until stopped or idle."""

from __future__ import annotations

import argparse

from domain.facts import Fact
from infra.topics import end_offsets
from ketenlog.commands.base import CommandError, Registry, say
from ketenlog.settings import Settings
from processors.app import WorkerConfig, build_app, run_worker
from processors.batch import BatchProcessor, Earliest, Seek, Send
from projections.db import connect, migrate
from projections.processing_store import PgProcessingStore
from schemas.codec import default_codec
from schemas.topics import event_topics

DEFAULT_GROUP = "ketenlog-process"


def register(registry: Registry) -> None:
    parser = registry.add(
        "process",
        run,
        "Run the timeline processor: validate, de-duplicate and dead-letter every agency topic "
        "into keten.timeline and fold each person's lifecycle into PostgreSQL. Start it twice "
        "and the workers share the partitions.",
    )
    parser.add_argument(
        "--until-idle",
        action="store_true",
        help="stop once all input present at start has been processed (demo, tests)",
    )
    parser.add_argument("--batch-size", type=int, default=2000, help="records per batch")
    parser.add_argument(
        "--batch-wait",
        type=float,
        default=0.1,
        help="seconds a batch waits to fill before it is processed (latency vs. batch size)",
    )
    parser.add_argument(
        "--group", default=DEFAULT_GROUP, help=f"consumer group (default {DEFAULT_GROUP})"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with connect(settings.dsn) as conn:
            applied = migrate(conn)
    except Exception as exc:
        raise CommandError(
            f"cannot prepare PostgreSQL at {settings.dsn}: {exc}; is it running (`ketenlog up`)?"
        ) from exc
    if applied:
        say(f"process: database migrated to version {applied[-1]}")
    (settings.home / "faust").mkdir(parents=True, exist_ok=True)
    config = WorkerConfig(
        group=args.group,
        bootstrap=settings.bootstrap,
        partitions=settings.partitions,
        batch_size=args.batch_size,
        batch_within_s=args.batch_wait,
        datadir=str(settings.home / "faust" / "{conf.name}"),
        until_idle=args.until_idle,
        targets=tuple(sorted(end_offsets(settings, event_topics()).items()))
        if args.until_idle
        else (),
    )

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
        )

    run_worker(build_app(config, make_processor, say))
    return 0
