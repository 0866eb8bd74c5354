"""`ketenlog subscriptions`: the need-to-know subscription policy, organisation by organisation
(domain.subscriptions); with `--explain ORG PERSON_KEY` which of that person's events ORG may
see and by which rule (domain.subscription_explain), from the person's facts in PostgreSQL as
`ketenlog timeline` reads them. A person-level read: it takes the purpose it is made for.
With `--received [ORG]`: what each organisation received and why, counts per rule from the
distribution processor's deliveries table (ketenlog.distributing.received), aggregates only,
and the organisations' webhooks with their dead letters (ketenlog.webhooks).
"""

from __future__ import annotations

import argparse
import json
import sys

from domain.subscription_explain import (
    RecipientError,
    explain,
    explain_lines,
    parse_recipient,
    policy_lines,
)
from ketenlog import webhooks
from ketenlog.commands.base import CommandError, Registry
from ketenlog.distributing import DistributionError, received
from ketenlog.person_reads import logged_facts
from ketenlog.settings import Settings
from projections.read_log import Purpose, PurposeError, ReadLogError

OPERATION = "ketenlog subscriptions --explain"


def register(registry: Registry) -> None:
    parser = registry.add(
        "subscriptions",
        _run,
        "The need-to-know subscription policy: for each organisation the rules that entitle it "
        "to other organisations' events (schemas/subscriptions.toml, docs/subscriptions.md). "
        "With --explain ORG PERSON_KEY: which of that person's events ORG may see, by which rule.",
    )
    parser.add_argument(
        "--explain",
        nargs=2,
        metavar=("ORG", "PERSON_KEY"),
        help="an organisation (a municipality as GEMEENTE:GM0344) and a pseudonymous person key",
    )
    parser.add_argument(
        "--purpose",
        help="why this person-level read is made (required with --explain)",
    )
    parser.add_argument(
        "--received",
        nargs="?",
        const="",
        metavar="ORG",
        help="what each organisation (or ORG) received and by which rule: counts of deliveries",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.received is not None:
        return _received(args, settings)
    if args.explain is None:
        print("\n".join(policy_lines()))
        return 0
    if not (args.purpose or "").strip():
        raise CommandError("--explain reads one person's events: say why with --purpose TEXT")
    recipient, person_key = args.explain
    try:
        parse_recipient(recipient)
        purpose = Purpose(args.purpose.strip())
    except (RecipientError, PurposeError) as exc:
        raise CommandError(str(exc)) from exc
    try:
        facts, span = logged_facts(settings, person_key, purpose, operation=OPERATION)
    except ReadLogError as exc:
        raise CommandError(f"the read is not made: {exc}", exit_code=1) from exc
    print(
        f"ketenlog subscriptions: this read is recorded (trace {span.trace_id}); "
        f"purpose: {purpose.activity}",
        file=sys.stderr,
    )
    if not facts:
        raise CommandError(f"no events recorded for person {person_key}", exit_code=1)
    answer = explain(recipient, facts)
    if args.format == "json":
        json.dump(answer | {"purpose": args.purpose.strip()}, sys.stdout, indent=1)
        print()
    else:
        print("\n".join(explain_lines(answer)))
    return 0


def _received(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rows = received(settings, args.received.strip().upper() or None)
    except DistributionError as exc:
        raise CommandError(str(exc)) from exc
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=1)
        print()
        return 0
    print(f"{'org':<12} {'rule':<36} {'deliveries':>10} {'persons':>8} {'recipients':>10}")
    for r in rows:
        print(
            f"{r['org']:<12} {r['rule']:<36} {r['deliveries']:>10,} {r['persons']:>8,}"
            f" {r['recipients']:>10,}"
        )
    if not rows:
        print("nothing delivered yet (is `ketenlog distribute` running?)")
    hooks = webhooks.listing(settings, args.received.strip().upper() or None)
    if hooks:
        print("\nwebhooks (`ketenlog webhooks list`): parked = the dead letter")
        print("\n".join(webhooks.table_lines(hooks)))
    return 0
