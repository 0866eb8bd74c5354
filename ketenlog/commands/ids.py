"""`ketenlog ids`: the event id of an agency's reference and the person key of a V-nummer, as
the publisher derives them (producers.identity.ids_of; docs/publish-format.md says how)."""

from __future__ import annotations

import argparse
import json

from ketenlog.commands.base import CommandError, Registry, chain_key
from ketenlog.settings import Settings
from producers.identity import ids_of
from schemas.topics import Org


def register(registry: Registry) -> None:
    parser = registry.add(
        "ids",
        run,
        "Compute the ids an agency needs: the event id of its reference (--org ORG --ref REF: "
        "to correct or retract that event) and the person key of a V-nummer (--v-nummer, with "
        "the chain key from KETENLOG_CHAIN_KEY / KETENLOG_CHAIN_KEY_FILE: to name a sponsor), "
        "exactly as `ketenlog publish` derives them.",
    )
    parser.add_argument("--org", choices=[o.value for o in Org], help="the publishing agency")
    parser.add_argument("--ref", help="the agency's reference of the event (the line's `ref`)")
    parser.add_argument("--v-nummer", help="a V-nummer (dots, spaces and dashes are ignored)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.ref is None and args.v_nummer is None:
        raise CommandError("give --org ORG --ref REF, or --v-nummer V, or both", exit_code=2)
    if (args.ref is None) != (args.org is None):
        raise CommandError("--org and --ref go together", exit_code=2)
    key = chain_key(settings) if args.v_nummer is not None else None
    try:
        ids = ids_of(org=args.org, ref=args.ref, v_nummer=args.v_nummer, chain_key=key)
    except ValueError as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    if args.format == "json":
        print(json.dumps(ids))
    else:
        for name, value in ids.items():
            print(f"{name:<11} {value}")
    return 0
