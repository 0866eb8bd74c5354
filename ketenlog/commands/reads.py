"""`ketenlog reads`: the read log (Logboek Dataverwerkingen) — every read of person-level data,
who, when, which person, why. Person-level itself: for auditors."""

from __future__ import annotations

import argparse
import json

from ketenlog.commands.base import Registry, moment
from ketenlog.person_reads import recorded_reads
from ketenlog.settings import Settings


def register(registry: Registry) -> None:
    parser = registry.add(
        "reads",
        run,
        "Auditors: the read log (Logboek Dataverwerkingen) — every read of one person's data "
        "on the API or the command line: trace and span, operation, started and ended, the "
        "reader (role and token id, or cli and the OS user), the person key, the declared "
        "purpose and legal basis, the result; oldest first.",
    )
    parser.add_argument("--person", metavar="KEY", help="only the reads of this person key")
    parser.add_argument("--from", dest="since", type=moment, metavar="T", help="reads from T on")
    parser.add_argument("--format", choices=("table", "json"), default="table")


def run(args: argparse.Namespace, settings: Settings) -> int:
    rows = recorded_reads(settings, args.person, args.since)
    if args.format == "json":
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return 0
    print(f"{'STARTED':<33} {'READER':<24} {'PERSON':<18} {'RESULT':<17} TRACE / PURPOSE")
    for r in rows:
        reader = f"{r['subject_role']}:{r['subject_id']}"
        person = r["person_key"][:16] + ("…" if len(r["person_key"]) > 16 else "")
        print(
            f"{r['started_at']:<33} {reader:<24} {person:<18} {r['result']:<17} "
            f"{r['trace_id']} {r['purpose']}"
        )
    print(f"\n{len(rows)} read(s)")
    return 0
