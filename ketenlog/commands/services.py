"""`ketenlog up | down | status | topics`: the services and topics the backbone runs on."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from infra import services
from infra.kafka_security import AclState, matrix
from ketenlog import health
from ketenlog.commands.base import CommandError, Registry, say
from ketenlog.settings import DEFAULT_GROUP, Settings
from schemas.access import ADMIN
from schemas.topics import catalogue


def register(registry: Registry) -> None:
    registry.add(
        "up",
        up,
        "Start Kafka and PostgreSQL on loopback (unless KETENLOG_KAFKA_BOOTSTRAP / "
        "KETENLOG_DATABASE_URL name existing ones), wait until ready, create the topics, "
        "print the endpoints. Running it twice is harmless.",
    )
    registry.add("down", down, "Stop the services that `ketenlog up` started.")
    parser = registry.add(
        "status",
        status,
        "Show each service, every topic with its partitions, and per worker group of the "
        "processor its lag, last commit and last fault; exit 1 when something is down or a "
        "watched group has stalled (work waiting, nothing committed for 60 s).",
    )
    parser.add_argument(
        "--group",
        action="append",
        help=f"a worker group to watch (repeatable; default: {DEFAULT_GROUP}, what `process` "
        "runs as)",
    )
    registry.add("topics", topics, "List the topic catalogue: every topic and what it carries.")


def up(args: argparse.Namespace, settings: Settings) -> int:
    try:
        endpoints = services.up(settings, say)
    except services.InfraError as exc:
        raise CommandError(str(exc)) from exc
    for endpoint in endpoints:
        print(f"{endpoint.name:<12} {endpoint.url}")
    return 0


def down(args: argparse.Namespace, settings: Settings) -> int:
    try:
        services.down(settings, say)
    except services.InfraError as exc:
        raise CommandError(str(exc)) from exc
    return 0


def status(args: argparse.Namespace, settings: Settings) -> int:
    checked = health.check(settings, args.group or [DEFAULT_GROUP])
    report = checked.services
    print(f"{'SERVICE':<12} {'STATE':<6} {'ENDPOINT':<45} DETAIL")
    for svc in report.services:
        state = "up" if svc.up else "DOWN"
        print(f"{svc.name:<12} {state:<6} {svc.endpoint:<45} {svc.detail}")
    if report.topics:
        print()
        print(f"{'TOPIC':<28} {'PARTITIONS':>10}  RETENTION")
        for topic in report.topics:
            print(f"{topic.name:<28} {topic.partitions:>10}  {topic.retention}")
    if report.acls is not None:
        _print_acls(report.acls)
    if checked.groups:
        print()
        print(f"{'WORKER GROUP':<28} {'LAG':>10}  {'LAST COMMIT':<20} {'STATE':<8} LAST FAULT")
        for g in checked.groups:
            state = health.state(checked, g)
            state = "STALLED" if state == "stalled" else state
            fault = "-" if g.last_fault_at is None else f"{_when(g.last_fault_at)} {g.last_fault}"
            print(f"{g.consumer:<28} {g.lag:>10,}  {_when(g.last_commit):<20} {state:<8} {fault}")
    for problem in [*report.problems, *checked.problems]:
        print(f"problem: {problem}")
    for g in checked.stalled:
        print(
            f"problem: worker group {g.consumer} has stalled: {g.lag:,} records waiting, last "
            f"commit {_when(g.last_commit)}; is `ketenlog process` running?"
        )
    return 0 if checked.ok else 1


def _print_acls(acls: AclState) -> None:
    print()
    print(f"{'PRINCIPAL':<14} {'RESOURCE':<40} OPERATIONS (as the catalogue grants them)")
    print(f"{ADMIN:<14} {'everything':<40} super user")
    for row in matrix(acls):
        ops = " ".join(f"{op}(MISSING)" if op in row.missing else op for op in row.operations)
        print(f"{row.principal:<14} {row.resource:<40} {ops}")
    print("everyone else, and every operation not listed: denied")


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def topics(args: argparse.Namespace, settings: Settings) -> int:
    print(f"{'TOPIC':<28} {'PARTITIONS':>10}  PURPOSE")
    for spec in catalogue():
        print(f"{spec.name:<28} {settings.partitions:>10}  {spec.purpose}")
    return 0
