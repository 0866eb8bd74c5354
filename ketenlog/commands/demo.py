"""`ketenlog demo`: the backbone end to end on local defaults (ketenlog.demo)."""

from __future__ import annotations

import argparse

from ketenlog.commands.base import CommandError, Registry, chain_key, say
from ketenlog.demo import ERRORS, DemoOptions, run_demo
from ketenlog.settings import Settings


def register(registry: Registry) -> None:
    parser = registry.add(
        "demo",
        run,
        "The whole backbone on local defaults: start Kafka and PostgreSQL, simulate a national "
        "year (2025-09-01..2026-08-31), publish it, process it until idle, and compare every "
        "figure with the simulator's ground truth, then serve the dashboard until Ctrl-C. "
        "Exits 1 when a figure differs.",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1 = a national year")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--port", type=int, default=8080, help="dashboard port (8080)")
    parser.add_argument(
        "--no-serve", action="store_true", help="stop after the summary instead of serving"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    options = DemoOptions(args.scale, args.seed, args.port, serve=not args.no_serve)
    try:
        return run_demo(settings, chain_key(settings), options, say)
    except ERRORS as exc:
        raise CommandError(str(exc)) from exc
