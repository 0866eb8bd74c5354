"""`ketenlog verify-chains`: walk every producer's hash chain on the live log (Kafka only, no
database) and name each break by topic, partition and offset (infra/chain_audit.py). Exit 1
on any break.
"""

from __future__ import annotations

import argparse
import json

from infra import chain_audit, kafka_log
from ketenlog.commands.base import CommandError, Progress, Registry, say
from ketenlog.settings import Settings
from ketenlog.signing import verifier
from schemas.access import AUDITOR
from schemas.topics import event_topics

# Breaks listed one by one; beyond this only counted (a log from before the chains has many).
DEFAULT_LISTED = 50


def register(registry: Registry) -> None:
    parser = registry.add(
        "verify-chains",
        _run,
        "Walk every organisation topic-partition's hash chain from its start to now and name "
        "each break (record altered, removed or slipped in; record not sent by the publisher) "
        "by topic, partition and offset. Kafka only. Exit 1 on any break.",
    )
    parser.add_argument(
        "--topic",
        action="append",
        metavar="TOPIC",
        help="only this topic (repeatable); default every organisation topic",
    )
    parser.add_argument(
        "--heads",
        action="store_true",
        help="also print every partition's last link: publish or countersign them elsewhere, "
        "and a later walk proves nothing before them changed",
    )
    parser.add_argument(
        "--max-listed",
        type=int,
        default=DEFAULT_LISTED,
        metavar="N",
        help=f"list at most N breaks (default {DEFAULT_LISTED}); all are counted",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    topics: list[str] = args.topic or event_topics()
    progress = Progress("verify-chains: records")
    try:
        audit = chain_audit.walk_all(
            settings.kafka(AUDITOR), topics, progress.tick, signatures=verifier(settings)
        )
    except kafka_log.KafkaLogError as exc:
        raise CommandError(f"{exc}; is Kafka running (`ketenlog status`)?") from exc
    progress.finish()
    breaks = audit.breaks
    if args.format == "json":
        print(json.dumps(_as_json(audit), indent=1))
    else:
        _print_table(audit, args.heads, args.max_listed)
    if breaks:
        say(f"verify-chains: {len(breaks)} hash-chain break(s)")
        return 1
    say("verify-chains: every producer's hash chain is intact")
    return 0


def _print_table(audit: chain_audit.ChainAudit, heads: bool, max_listed: int) -> None:
    print(f"{'TOPIC':<26} {'RECORDS':>10} {'CHAINED':>10} {'BREAKS':>7}")
    for t in audit.by_topic():
        print(f"{t.topic:<26} {t.records:>10} {t.chained:>10} {t.breaks:>7}")
    breaks = audit.breaks
    if breaks:
        print()
    for b in breaks[:max_listed]:
        print(f"break  {b.topic}[{b.partition}] offset {b.offset}: {b.reason}")
    if len(breaks) > max_listed:
        print(f"... and {len(breaks) - max_listed} more (--max-listed, or --format json)")
    if heads:
        print()
        for p in audit.partitions:
            print(f"head   {p.topic}[{p.partition}] before offset {p.stop}: {p.head.hex()}")


def _as_json(audit: chain_audit.ChainAudit) -> dict[str, object]:
    return {
        "partitions": [
            {
                "topic": p.topic,
                "partition": p.partition,
                "start": p.start,
                "stop": p.stop,
                "records": p.records,
                "chained": p.chained,
                "head": p.head.hex(),
                "breaks": [
                    {"offset": b.offset, "kind": b.kind, "reason": b.reason} for b in p.breaks
                ],
            }
            for p in audit.partitions
        ],
        "breaks": len(audit.breaks),
    }
