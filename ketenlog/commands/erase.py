"""`ketenlog erase PERSON_KEY --reason TEXT`: crypto-shred one person's personal fields
(ketenlog/erasure.py; docs/security.md "Personal data and erasure")."""

from __future__ import annotations

import argparse

from ketenlog.commands.base import CommandError, Registry, say
from ketenlog.erasure import ErasureError, Order, erase
from ketenlog.settings import Settings
from schemas.topics import Org

GROUNDS = ("DATA_SUBJECT_REQUEST", "RETENTION_EXPIRED", "LEGAL_ORDER", "OTHER")


def register(registry: Registry) -> None:
    parser = registry.add(
        "erase",
        _run,
        "Erase a person's personal fields everywhere: destroy their data key in the person key "
        "store and publish PersonErased (who and why, no personal data) on ORG's topic. Counts "
        "stay; breakdowns by an erased attribute move to UNKNOWN; the log's hash chains and "
        "signatures still verify.",
    )
    parser.add_argument("person_key", help="the pseudonymous person key (hex)")
    parser.add_argument("--reason", required=True, help="why, in words (no personal data)")
    parser.add_argument("--ground", choices=GROUNDS, default="DATA_SUBJECT_REQUEST")
    parser.add_argument(
        "--org", choices=[o.value for o in Org], default=Org.IND.value,
        help="the organisation that orders it and publishes the erasure (default IND)",
    )  # fmt: skip
    parser.add_argument("--requested-by", help="the officer's or role's reference")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    order = Order(Org(args.org), args.ground, args.reason, args.requested_by)
    try:
        erased = erase(settings, [args.person_key], order, say)
    except ErasureError as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    print(f"erased {args.person_key}: {erased.keys} key(s); event {', '.join(erased.event_ids)}")
    return 0
