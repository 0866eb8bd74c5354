"""`ketenlog keys [--rotate ORG]`: the organisations' signing keys (infra/signing_keys.py) —
the public-key registry the gate and the auditor check signatures against, and rotation."""

from __future__ import annotations

import argparse

from ketenlog.commands.base import Registry, say
from ketenlog.settings import Settings
from ketenlog.signing import signing_keys
from schemas.topics import Org


def register(registry: Registry) -> None:
    parser = registry.add(
        "keys",
        _run,
        "List the organisations' public signing keys (the registry the timeline processor and "
        "verify-chains check every record's signature against); --rotate ORG gives ORG a new "
        "key. A rotated key stays in the registry, so what it signed still verifies.",
    )
    parser.add_argument("--rotate", choices=[o.value for o in Org], metavar="ORG")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    store = signing_keys(settings)
    if args.rotate:
        signer = store.rotate(args.rotate)
        say(f"keys: {args.rotate} now signs with {signer.key_id}; the old key is retired")
    print(f"{'ORG':<12} {'KEY ID':<17} {'CREATED':<26} RETIRED")
    for k in store.public_keys():
        print(f"{k.org:<12} {k.key_id:<17} {k.created_at:<26} {k.retired_at or '-'}")
    say(f"keys: registry {store.registry_path}")
    return 0
