"""`ketenlog tokens ROLE_OR_ORG [--rotate]`: the API's bearer token of a role or organisation."""

from __future__ import annotations

import argparse
import json
import sys

from ketenlog.api_access import issue
from ketenlog.commands.base import CommandError, Registry
from ketenlog.settings import Settings
from projections.api_tokens import TokenError


def register(registry: Registry) -> None:
    parser = registry.add(
        "tokens",
        run,
        "Issue the API's bearer token of a role (analyst: aggregates; auditor: person "
        "timelines, the read log and aggregates; admin: everything) or of an organisation "
        "(IND, COA, ...), printed once as JSON: subject, role, id, created, token. The store "
        "(KETENLOG_API_TOKENS) keeps only its SHA-256 hash. --rotate replaces an existing "
        "token: the old one stops working at once, also on a running `serve`.",
    )
    parser.add_argument("name", metavar="ROLE_OR_ORG", help="analyst, auditor, admin or an org")
    parser.add_argument("--rotate", action="store_true", help="replace the existing token")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        issued = issue(settings, args.name, args.rotate)
    except TokenError as exc:
        raise CommandError(str(exc)) from None
    h = issued.holder
    print(
        f"ketenlog tokens: {'rotated' if args.rotate else 'issued'} the token of {h.subject} "
        f"(role {h.role}); shown only now",
        file=sys.stderr,
    )
    answer = {"subject": h.subject, "role": h.role, "id": h.id, "created": h.created}
    print(json.dumps({**answer, "token": issued.token}))
    return 0
