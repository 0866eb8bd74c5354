"""`ketenlog deadletter`: what the timeline processor rejected, and why."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ketenlog.commands.base import Registry
from ketenlog.settings import Settings
from processors.deadletters import by_reason, read_all
from schemas.access import AUDITOR


def register(registry: Registry) -> None:
    parser = registry.add(
        "deadletter",
        run,
        "List the records on keten.deadletter: source topic, partition and offset, the reason "
        "and its detail. The original bytes stay on the topic.",
    )
    parser.add_argument("--limit", type=int, help="show at most this many")
    parser.add_argument("--format", choices=["table", "json"], default="table")


def run(args: argparse.Namespace, settings: Settings) -> int:
    letters = read_all(settings.kafka(AUDITOR), settings.partitions, args.limit)
    if args.format == "json":
        print(json.dumps([asdict(d) for d in letters], indent=1))
        return 0
    print(f"{'SOURCE':<32} {'REASON':<20} DETAIL")
    for d in letters:
        source = f"{d.source_topic}[{d.source_partition}]@{d.source_offset}"
        print(f"{source:<32} {d.reason:<20} {d.detail}")
    counts = by_reason(letters)
    summary = ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items())) or "none"
    print(f"\n{len(letters)} dead letter(s): {summary}")
    return 0
