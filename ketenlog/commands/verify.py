"""`ketenlog verify`: prove the live projections equal a fresh replay of the log up to the same
offsets (a checksum per table and period, every difference listed), that each aggregate the
views read equals its recompute from the live items, and walk every producer's hash chain
(ketenlog.replay.verify). Exit 1 on any difference or break.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from infra import chain_audit, timeline_audit
from ketenlog.commands.base import (
    CommandError,
    Registry,
    add_replay_options,
    print_checksums,
    say,
)
from ketenlog.replay import ReplayError, verify
from ketenlog.settings import Settings
from projections import checksums
from schemas.topics import TIMELINE

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
    add_replay_options(parser)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        verified = verify(settings, args.group, args.workers, not args.no_chains, say)
    except ReplayError as exc:
        raise CommandError(str(exc), exc.exit_code) from exc
    live, differences = verified.live, verified.differences
    print_checksums(live)
    for d in differences:
        say(f"  differs: {d.describe()}")
    if differences:
        say(f"verify: {len(differences)} table period(s) differ between live and replay")
    else:
        say(f"verify: live projections equal a fresh replay ({len(live)} table periods)")
    if args.checksums is not None:
        args.checksums.write_text(checksums.to_json(live), "utf-8")
        say(f"verify: live checksums written to {args.checksums}")
    broken = verified.chains is not None and _chains(verified.chains)
    lost = verified.timeline is not None and _timeline(verified.timeline)
    stale = _aggregates(verified.aggregates or {})
    return 1 if differences or broken or lost or stale else 0


def _aggregates(differing: dict[str, int]) -> bool:
    """Print each aggregate that differs from its recompute; True when one does."""
    for name, rows in differing.items():
        if rows:
            say(f"  aggregate {name}: {rows:,} rows differ from its recompute from the items")
    stale = sum(1 for rows in differing.values() if rows)
    if stale:
        say(f"verify: {stale} aggregate(s) differ from the items they sum")
    else:
        say(f"verify: the {len(differing)} aggregates equal their recompute from the items")
    return stale > 0


def _timeline(audit: timeline_audit.TimelineAudit) -> bool:
    """Print what keten.timeline holds against the accepted facts; True when it does not hold
    exactly them."""
    say(
        f"verify: {TIMELINE} holds {audit.records:,} records, {audit.distinct:,} event ids "
        f"({audit.repeated:,} repeats of an event id: the timeline is at least once)"
    )
    for event_id, person in audit.missing[:MAX_LISTED]:
        say(f"  missing from {TIMELINE}: event {event_id} of person {person[:12]}…")
    for partition, offset, event_id in audit.unaccounted[:MAX_LISTED]:
        say(f"  on {TIMELINE}[{partition}] offset {offset} but no accepted fact: {event_id!r}")
    if not audit.judged_unaccounted:
        say(f"verify: the store is behind the log; {TIMELINE}'s later records were not judged")
    if audit.ok:
        say(
            f"verify: {TIMELINE} holds every accepted fact"
            + (" and nothing else" if audit.judged_unaccounted else "")
        )
        return False
    say(
        f"verify: {TIMELINE}: {len(audit.missing):,} accepted facts missing, "
        f"{len(audit.unaccounted):,} records that are no accepted fact"
    )
    return True


def _chains(audit: chain_audit.ChainAudit) -> bool:
    """Print the walk per topic and its breaks; True when a chain is broken."""
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
