"""`ketenlog webhooks register|list|remove|redeliver|run`: an organisation's HTTPS endpoints
for its inbox, and the sender that POSTs them signed CloudEvents (ketenlog.webhooks)."""

from __future__ import annotations

import argparse
import json
import sys

from ketenlog import webhooks
from ketenlog.commands.base import CommandError, Registry, say
from ketenlog.settings import Settings
from ketenlog.webhooks import WebhookError
from processors.webhook_sender import SenderOptions

DEFAULTS = SenderOptions()


def register(registry: Registry) -> None:
    parser = registry.add(
        "webhooks",
        _run,
        "Webhooks for agency inboxes (docs/subscriptions.md, 'Webhooks'): register an HTTPS "
        "endpoint for an organisation's inbox, list them with their dead letters, remove one, "
        "requeue its dead letter, or run the sender that POSTs each inbox's events as signed "
        "CloudEvents batches (at least once; the event id is the idempotency key).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    reg = actions.add_parser("register", help="register an endpoint; prints its secret once")
    reg.add_argument("recipient", metavar="ORG", help="COA, DTV, ... or GEMEENTE:GM0344")
    reg.add_argument("url", help="https://... (plain http only to a loopback address)")
    reg.add_argument(
        "--from-now",
        action="store_true",
        help="start at the inbox's end instead of its beginning (no history)",
    )
    lst = actions.add_parser("list", help="endpoints, their counters and dead letters")
    lst.add_argument("org", nargs="?", metavar="ORG", help="only this organisation's")
    lst.add_argument("--format", choices=("table", "json"), default="table")
    rm = actions.add_parser("remove", help="remove an endpoint (its positions and dead letter)")
    rm.add_argument("id", type=int)
    rot = actions.add_parser(
        "rotate", help="a new secret for an endpoint, printed once; the old one stops at once"
    )
    rot.add_argument("id", type=int)
    rd = actions.add_parser(
        "redeliver", help="requeue an endpoint's dead letter: the sender sends it next, in order"
    )
    rd.add_argument("id", type=int)
    go = actions.add_parser("run", help="run the sender until stopped (or --until-idle)")
    go.add_argument(
        "--until-idle",
        action="store_true",
        help="stop once each endpoint has handled its inbox as it was at start",
    )
    go.add_argument("--id", type=int, action="append", default=[], help="only this webhook")
    go.add_argument("--batch", type=int, default=DEFAULTS.batch, help="events per request")
    go.add_argument(
        "--max-attempts",
        type=int,
        default=DEFAULTS.max_attempts,
        help="tries of a batch before it is parked in the dead letter",
    )
    go.add_argument("--timeout", type=float, default=DEFAULTS.timeout_s, help="seconds per request")
    go.add_argument(
        "--backoff-base",
        type=float,
        default=DEFAULTS.backoff_base_s,
        help="seconds: the retries wait up to base·2^(try-1), jittered",
    )
    go.add_argument(
        "--backoff-cap", type=float, default=DEFAULTS.backoff_cap_s, help="longest wait, s"
    )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return ACTIONS[args.action](args, settings)
    except WebhookError as exc:
        raise CommandError(str(exc)) from exc


def _register(args: argparse.Namespace, settings: Settings) -> int:
    done = webhooks.register(settings, args.recipient, args.url, args.from_now)
    print(
        f"ketenlog webhooks: registered webhook {done.id}; its secret is shown only now. "
        "The receiver verifies each request with it (docs/subscriptions.md, 'Webhooks').",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "id": done.id,
                "org": done.org,
                "gemeente": done.gemeente,
                "url": done.url,
                "secret": done.secret,
            }
        )
    )
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    rows = webhooks.listing(settings, args.org.upper() if args.org else None)
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=1, default=str)
        print()
        return 0
    print("\n".join(webhooks.table_lines(rows)))
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    webhooks.remove(settings, args.id)
    print(f"ketenlog webhooks: removed webhook {args.id}", file=sys.stderr)
    return 0


def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    secret = webhooks.rotate(settings, args.id)
    print(
        f"ketenlog webhooks: webhook {args.id} has a new secret, shown only now; a running "
        "sender signs with it within 10 s",
        file=sys.stderr,
    )
    print(json.dumps({"id": args.id, "secret": secret}))
    return 0


def _redeliver(args: argparse.Namespace, settings: Settings) -> int:
    n = webhooks.redeliver(settings, args.id)
    print(
        f"ketenlog webhooks: {n:,} parked deliveries of webhook {args.id} requeued; "
        "`ketenlog webhooks run` sends them next, in their order",
        file=sys.stderr,
    )
    return 0


def _send(args: argparse.Namespace, settings: Settings) -> int:
    for name in ("batch", "max_attempts"):
        if getattr(args, name) < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
    options = SenderOptions(
        batch=args.batch,
        max_attempts=args.max_attempts,
        timeout_s=args.timeout,
        backoff_base_s=args.backoff_base,
        backoff_cap_s=args.backoff_cap,
        until_idle=args.until_idle,
    )
    senders = webhooks.send(settings, options, frozenset(args.id), say)
    for s in senders:
        c = s.counters
        say(
            f"webhooks: {s.hook.name}: {c.delivered:,} delivered, {c.redelivered:,} redelivered, "
            f"{c.parked:,} parked, {c.requests:,} requests ({c.failures:,} failed)"
        )
    return 0


ACTIONS = {
    "register": _register,
    "list": _list,
    "remove": _remove,
    "rotate": _rotate,
    "redeliver": _redeliver,
    "run": _send,
}
