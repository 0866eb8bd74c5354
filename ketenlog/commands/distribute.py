"""`ketenlog distribute`: run the distribution processor, keten.timeline into every
organisation's inbox by the subscription policy, until stopped or idle (ketenlog.distributing)."""

from __future__ import annotations

import argparse

from ketenlog.commands.base import CommandError, Registry, say
from ketenlog.distributing import (
    DEFAULT_GROUP,
    DistributeOptions,
    DistributionError,
    distribute,
)
from ketenlog.settings import Settings


def register(registry: Registry) -> None:
    parser = registry.add(
        "distribute",
        run,
        "Run the distribution processor: deliver every event of keten.timeline that the "
        "subscription policy entitles an organisation to into keten.<org>.inbox, each "
        "(recipient, event) once (docs/subscriptions.md).",
    )
    parser.add_argument(
        "--until-idle",
        action="store_true",
        help="stop once every timeline record present at start is distributed (demo, tests)",
    )
    parser.add_argument("--batch-size", type=int, default=2000, help="records per batch")
    parser.add_argument(
        "--group", default=DEFAULT_GROUP, help=f"consumer group (default {DEFAULT_GROUP})"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    options = DistributeOptions(args.until_idle, args.batch_size, args.group)
    try:
        distribute(settings, options, say)
    except DistributionError as exc:
        raise CommandError(str(exc)) from exc
    return 0
