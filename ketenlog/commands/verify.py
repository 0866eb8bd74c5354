"""`ketenlog verify`: prove the live projections equal a fresh replay of the log up to the same
offsets (a checksum per table and period, every difference listed), and walk every
producer's hash chain. Exit 1 on any difference or break.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from psycopg import IsolationLevel

from infra import chain_audit
from infra.topics import end_offsets
from ketenlog.commands.base import Progress, Registry, say
from ketenlog.commands.replay import (
    KafkaSource,
    add_common,
    open_database,
    print_checksums,
    rebuild_into,
)
from ketenlog.settings import Settings
from projections import checksums, replay_store
from projections.db import LIVE
from schemas.topics import event_topics

SCHEMA = "ketenlog_verify"
# Breaks listed one by one; beyond this only counted (an unchained old log has millions).
MAX_LISTED = 50


def register(registry: Registry) -> None:
    parser = registry.add(
        "verify",
        _run,
        "Prove that the live projections follow from the log: replay it into a scratch schema "
        "up to the live positions and compare checksums per table and period; walk every "
        "producer's hash chain. Exit 1 on any difference or break, listing each.",
    )
    parser.add_argument(
        "--checksums",
        type=Path,
        metavar="FILE",
        help="write the live checksums to FILE (JSON) for `replay --from-archive --expect FILE`",
    )
    parser.add_argument("--no-chains", action="store_true", help="skip the hash-chain walk")
    add_common(parser)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    failed = False
    with open_database(settings) as conn:
        # One snapshot: the live positions and the live tables they produced.
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            positions = replay_store.positions(conn, LIVE, args.group)
            live = checksums.checksums(conn, LIVE)
        conn.isolation_level = None
        ends = end_offsets(settings, event_topics())
        behind = sum(max(0, end - positions.get(tp, 0)) for tp, end in ends.items())
        if behind:
            say(
                f"verify: the live projections have {behind:,} records left to process; "
                "verifying them as far as they got"
            )
        upto = {tp: positions.get(tp, 0) for tp in ends}
        rebuild_into(
            settings,
            KafkaSource(settings.bootstrap),
            upto,
            group=args.group,
            workers=args.workers,
            schema=SCHEMA,
            label="verify",
        )
        try:
            replayed = checksums.checksums(conn, SCHEMA)
        finally:
            replay_store.drop_schema(conn, SCHEMA)
    print_checksums(live)
    differences = checksums.compare(live, replayed)
    for d in differences:
        say(f"  differs: {d.describe()}")
    if differences:
        failed = True
        say(f"verify: {len(differences)} table period(s) differ between live and replay")
    else:
        say(f"verify: live projections equal a fresh replay ({len(live)} table periods)")
    if args.checksums is not None:
        args.checksums.write_text(checksums.to_json(live), "utf-8")
        say(f"verify: live checksums written to {args.checksums}")
    if not args.no_chains:
        failed = _chains(settings) or failed
    return 1 if failed else 0


def _chains(settings: Settings) -> bool:
    """Walk every organisation topic-partition from its start; True when a chain is broken."""
    progress = Progress("verify: chains", None)
    audit = chain_audit.walk_all(settings.bootstrap, on_record=progress.tick)
    progress.finish()
    print(f"\n{'TOPIC':<24} {'RECORDS':>9} {'CHAINED':>9} {'BREAKS':>7}")
    for t in audit.by_topic():
        print(f"{t.topic:<24} {t.records:>9} {t.chained:>9} {t.breaks:>7}")
    breaks = audit.breaks
    for b in breaks[:MAX_LISTED]:
        say(f"  chain break: {b}")
    if len(breaks) > MAX_LISTED:
        say(f"  ... and {len(breaks) - MAX_LISTED} more (`ketenlog verify-chains` lists them)")
    if breaks:
        say(f"verify: {len(breaks)} hash-chain break(s)")
        return True
    say("verify: every producer's hash chain is intact")
    return False
