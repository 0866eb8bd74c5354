"""`ketenlog credentials ORG [--rotate]`: the client settings one principal connects with."""

from __future__ import annotations

import argparse
import sys

from infra import kafka_security
from infra.errors import InfraError
from ketenlog.commands.base import CommandError, Registry
from ketenlog.settings import Settings
from schemas.access import KafkaAccess, principal_of


def register(registry: Registry) -> None:
    parser = registry.add(
        "credentials",
        run,
        "Print, as one JSON object, the Kafka client settings of an organisation (or of "
        "processor, distribution, auditor, admin): bootstrap, security_protocol, sasl_mechanism, "
        "username, password, ssl_cafile. Creates its SCRAM credential when it has none; "
        "--rotate gives it a new password (the old one stops working).",
    )
    parser.add_argument("principal", metavar="ORG", help="an organisation code (IND, COA, ...)")
    parser.add_argument("--rotate", action="store_true", help="set a new password first")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        principal = principal_of(args.principal)
    except ValueError as exc:
        raise CommandError(str(exc), exit_code=2) from None
    if settings.kafka_insecure:
        print(
            "ketenlog credentials: KETENLOG_KAFKA_INSECURE=1: Kafka is plaintext, without "
            "authentication; these settings carry no credential",
            file=sys.stderr,
        )
        print(KafkaAccess(settings.bootstrap).to_json(), end="")
        return 0
    stored = kafka_security.load(settings.kafka_credentials_dir, principal)
    try:
        if args.rotate or stored is None:
            access = kafka_security.rotate(settings, principal)
            what = "a new password" if args.rotate else "a credential"
            print(
                f"ketenlog credentials: set {what} for {principal}; kept in "
                f"{kafka_security.credentials_file(settings.kafka_credentials_dir, principal)}",
                file=sys.stderr,
            )
        else:
            access = stored.with_bootstrap(settings.bootstrap)
    except InfraError as exc:
        raise CommandError(str(exc)) from None
    print(access.to_json(), end="")
    return 0
