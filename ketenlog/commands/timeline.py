"""`ketenlog timeline KEY`: one person's timeline for auditors — every event from every
organisation in valid-time order, as recorded and as corrected, the lifecycle states passed
through and the anomalies (domain.person_timeline). Person-level data: not for analysts; every
read needs a declared purpose and is recorded in the read log (ketenlog.person_reads).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ketenlog.commands.base import CommandError, Registry, moment
from ketenlog.person_reads import logged_timeline
from ketenlog.settings import Settings
from projections.read_log import Purpose, PurposeError, ReadLogError


def register(registry: Registry) -> None:
    parser = registry.add(
        "timeline",
        _run,
        "Auditors: one person's timeline (pseudonymous person key) — every event from every "
        "organisation in valid-time order, as recorded and as corrected, the lifecycle states "
        "passed through and the anomalies. Person-level data: not part of the analyst interface; "
        "the read is recorded in the read log (`ketenlog reads`) with the declared --purpose.",
    )
    parser.add_argument("person_key", help="the pseudonymous person key (hex)")
    parser.add_argument(
        "--as-known-at",
        type=moment,
        metavar="T",
        help="only what the broker had logged at T (system time, not the events' recorded_at)",
    )
    parser.add_argument(
        "--purpose",
        required=True,
        help="why you read this person's data (the verwerkingsactiviteit); required, recorded",
    )
    parser.add_argument("--legal-basis", help="the legal basis (grondslag) of the read, recorded")
    parser.add_argument("--format", choices=("table", "json"), default="table")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        purpose = Purpose(args.purpose, args.legal_basis)
    except PurposeError as exc:
        raise CommandError(f"--{exc.field.replace('_', '-')}: {exc.reason}", exit_code=2) from None
    try:
        timeline, span = logged_timeline(settings, args.person_key, args.as_known_at, purpose)
    except ReadLogError as exc:
        raise CommandError(str(exc)) from None
    print(f"ketenlog timeline: this read is recorded (trace {span.trace_id})", file=sys.stderr)
    if timeline is None:
        raise CommandError(f"no events recorded for person {args.person_key}", exit_code=1)
    if args.format == "json":
        json.dump(timeline, sys.stdout, indent=1, ensure_ascii=False)
        print()
    else:
        _table(timeline)
    return 0


def _table(timeline: dict[str, Any]) -> None:
    print(f"person {timeline['person_key']}")
    print(f"{'OCCURRED':<26} {'RECORDED':<26} {'PRODUCER':<11} {'EVENT':<30} STATUS")
    for e in timeline["events"]:
        print(
            f"{e['occurred_at']:<26} {e['recorded_at']:<26} {e['producer']:<11} "
            f"{e['type']:<30} {e['status']}"
        )
    print("\nstates passed through:")
    for s in timeline["states"]:
        print(
            f"  {s['occurred_at']:<26} {s['lifecycle']:<12} {s['subject']:<20} "
            f"{s['from'] or '-'} -> {s['to']}"
        )
    print(f"\nanomalies: {len(timeline['anomalies'])}")
    for a in timeline["anomalies"]:
        print(f"  {a['kind']}: {a['detail']}")
