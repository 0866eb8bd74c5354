"""`ketenlog up | down | status | topics`: the services and topics the backbone runs on."""

from __future__ import annotations

import argparse

from infra import services
from ketenlog.commands.base import CommandError, Registry, say
from ketenlog.settings import Settings
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
    registry.add(
        "status",
        status,
        "Show each service and every topic with its partitions; exit 1 when something is down.",
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
    report = services.status(settings)
    print(f"{'SERVICE':<12} {'STATE':<6} {'ENDPOINT':<45} DETAIL")
    for svc in report.services:
        state = "up" if svc.up else "DOWN"
        print(f"{svc.name:<12} {state:<6} {svc.endpoint:<45} {svc.detail}")
    if report.topics:
        print()
        print(f"{'TOPIC':<28} {'PARTITIONS':>10}  RETENTION")
        for topic in report.topics:
            print(f"{topic.name:<28} {topic.partitions:>10}  {topic.retention}")
    for problem in report.problems:
        print(f"problem: {problem}")
    return 0 if report.ok else 1


def topics(args: argparse.Namespace, settings: Settings) -> int:
    print(f"{'TOPIC':<28} {'PARTITIONS':>10}  PURPOSE")
    for spec in catalogue():
        print(f"{spec.name:<28} {settings.partitions:>10}  {spec.purpose}")
    return 0
