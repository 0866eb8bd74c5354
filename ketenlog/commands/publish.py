"""`ketenlog publish --org ORG FILE`: an agency's JSONL file onto its topic, checked first
(producers.file_publish, which also documents the exit status)."""

from __future__ import annotations

import argparse
from pathlib import Path

from infra.person_keys import PersonKeyStore
from ketenlog.commands.base import CommandError, Progress, Registry, chain_key, say
from ketenlog.settings import Settings
from ketenlog.signing import signer_of
from producers.file_publish import FilePublishError, Paths, publish_file
from producers.prepare import Preparer
from producers.publisher import DeliverySettings, Publisher
from schemas.access import org_principal
from schemas.topics import Org


def register(registry: Registry) -> None:
    parser = registry.add(
        "publish",
        publish,
        "Publish an organisation's events from a JSONL file (one event per line; format in "
        "docs/publish-format.md). Every line is checked first; by default nothing is published "
        "when any line is invalid. Each published line's event id, person key, partition and "
        "offset go to the receipts file.",
    )
    parser.add_argument("file", help="JSONL file, or - for standard input")
    parser.add_argument("--org", required=True, choices=[o.value for o in Org])
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="publish the valid lines and write the rejected ones, with reasons, to --rejects",
    )
    parser.add_argument("--rejects", type=Path, help="rejects file (default FILE.rejects.jsonl)")
    parser.add_argument(
        "--unacked", type=Path, help="not-acknowledged lines (default FILE.unacked.jsonl)"
    )
    parser.add_argument(
        "--receipts",
        type=Path,
        help="one JSON line per published line: line, event_id, event_type, ref, person_key, "
        "topic, partition, offset (default FILE.receipts.jsonl)",
    )


def publish(args: argparse.Namespace, settings: Settings) -> int:
    org = Org(args.org)
    preparer = Preparer(
        chain_key(settings),
        settings.oin_prefix,
        person_keys=PersonKeyStore(settings.person_keys_file).key_for,
    )
    delivery = DeliverySettings(timeout_s=settings.publish_timeout_s)
    signer = signer_of(settings, say)(org)
    try:
        outcome = publish_file(
            org,
            args.file,
            Paths.beside(args.file, args.rejects, args.unacked, args.receipts),
            preparer,
            # Its producer in a process of its own sends while the next lines are checked.
            lambda: Publisher(
                org,
                preparer,
                settings.kafka(org_principal(org)),
                delivery,
                signer=signer,
                sending_process=True,
            ),
            skip_invalid=args.skip_invalid,
            say=say,
            progress=Progress,
        )
    except FilePublishError as exc:
        raise CommandError(str(exc), exc.exit_code) from exc
    return outcome.exit_code
