"""`ketenlog process`: run the timeline processor (faust workers) until stopped or idle
(ketenlog.processing)."""

from __future__ import annotations

import argparse

from ketenlog.commands.base import CommandError, Registry, say
from ketenlog.processing import ProcessingError, ProcessOptions, process
from ketenlog.settings import DEFAULT_GROUP, Settings


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
    parser.add_argument(
        "--batch-size",
        type=int,
        default=10_000,
        help="most records per batch (a backlog is folded in batches this large; under a "
        "steady load a batch holds what arrived during the fold before and --batch-wait)",
    )
    parser.add_argument(
        "--batch-wait",
        type=float,
        default=0.01,
        help="seconds a batch waits to fill after the one before is folded (latency vs. batch "
        "size; default 0.01)",
    )
    parser.add_argument(
        "--group", default=DEFAULT_GROUP, help=f"consumer group (default {DEFAULT_GROUP})"
    )
    catching = parser.add_mutually_exclusive_group()
    catching.add_argument(
        "--catch-up-over",
        type=int,
        default=50_000,
        metavar="RECORDS",
        help="when at least this many records (and a quarter of the log) wait at start, catch "
        "up at batch speed with the replay's path first, then continue live (default 50,000)",
    )
    catching.add_argument(
        "--no-catch-up", action="store_true", help="always process the backlog live"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    options = ProcessOptions(
        args.until_idle,
        args.batch_size,
        args.batch_wait,
        args.group,
        catch_up_over=None if args.no_catch_up else args.catch_up_over,
    )
    try:
        process(settings, options, say)
    except ProcessingError as exc:
        raise CommandError(str(exc)) from exc
    return 0
