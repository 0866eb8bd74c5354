"""`ketenlog retention [--now T] [--dry-run]`: erase the personal fields of every person the
retention rule says are due (domain/retention.py, ketenlog/erasure.py)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from ketenlog.commands.base import Registry, moment, say
from ketenlog.erasure import Order, retention
from ketenlog.settings import Settings
from schemas.topics import Org


def register(registry: Registry) -> None:
    parser = registry.add(
        "retention",
        _run,
        "Apply the retention rule: erase (as `ketenlog erase`, ground RETENTION_EXPIRED) the "
        "personal fields of every person whose last event is more than 10 years old.",
    )
    parser.add_argument("--now", type=moment, metavar="T", help="the clock (default: now)")
    parser.add_argument("--dry-run", action="store_true", help="list who is due; erase nothing")
    parser.add_argument(
        "--org", choices=[o.value for o in Org], default=Org.IND.value,
        help="the organisation that publishes the erasures (default IND)",
    )  # fmt: skip


def _run(args: argparse.Namespace, settings: Settings) -> int:
    order = Order(Org(args.org), "RETENTION_EXPIRED", "retention: 10 years after the last event")
    done = retention(settings, args.now or datetime.now(UTC), order, say, dry_run=args.dry_run)
    for person in done.due:
        print(person)
    return 0
