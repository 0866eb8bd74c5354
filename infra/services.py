"""The services ketenlog runs on, as the `ketenlog up | down | status` commands see them.

Composes the drivers (kafka_broker, postgres, topics); holds no subprocess or socket code itself.
A service named by the settings (KETENLOG_KAFKA_BOOTSTRAP / KETENLOG_DATABASE_URL) is external:
it is only checked, never started or stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from infra import kafka_broker, kafka_security, postgres, topics
from infra.config import ServiceConfig
from infra.errors import InfraError
from infra.kafka_security import AclState
from infra.topics import TopicRow

__all__ = ["Endpoint", "InfraError", "ServiceState", "Status", "TopicRow", "down", "status", "up"]

Say = Callable[[str], None]


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str


@dataclass(frozen=True)
class ServiceState:
    name: str
    endpoint: str
    up: bool
    detail: str


@dataclass(frozen=True)
class Status:
    services: list[ServiceState]
    topics: list[TopicRow]
    problems: list[str] = field(default_factory=list)
    # The broker's ACLs against the catalogue's; None on a plaintext Kafka (no authoriser).
    acls: AclState | None = None

    @property
    def ok(self) -> bool:
        return (
            all(svc.up for svc in self.services)
            and bool(self.topics)
            and all(topic.ok for topic in self.topics)
            and not self.problems
        )


def redact(url: str) -> str:
    """A connection URL without its password, for printing."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def endpoints(settings: ServiceConfig) -> list[Endpoint]:
    return [Endpoint("kafka", settings.bootstrap), Endpoint("postgres", redact(settings.dsn))]


def _check_external(settings: ServiceConfig) -> None:
    if not settings.starts_kafka and not kafka_broker.reachable(settings.bootstrap):
        raise InfraError(
            f"Kafka at {settings.bootstrap} (KETENLOG_KAFKA_BOOTSTRAP) does not accept "
            "connections; start it, or unset KETENLOG_KAFKA_BOOTSTRAP to run a local broker"
        )
    if not settings.starts_postgres:
        reason = postgres.connectable(settings.dsn, timeout_s=5)
        if reason is not None:
            raise InfraError(
                f"PostgreSQL at {redact(settings.dsn)} (KETENLOG_DATABASE_URL) does not accept "
                f"connections ({reason}); start it, or unset KETENLOG_DATABASE_URL to run a "
                "local cluster"
            )


def up(settings: ServiceConfig, say: Say) -> list[Endpoint]:
    """Start (or check) Kafka and PostgreSQL, wait until ready, create the topics.

    Harmless to repeat: services that already run are left as they are.
    """
    _check_external(settings)
    kafka_running = settings.starts_kafka and kafka_broker.running_pid(settings) is not None
    pg_running = settings.starts_postgres and postgres.running_pid(settings) is not None
    # Every check before anything starts, so a taken port leaves nothing half-started.
    if settings.starts_kafka and not kafka_running:
        kafka_broker.java_command()
        kafka_broker.check_ports(settings)
    if settings.starts_postgres and not pg_running:
        postgres.check_port(settings)
    if (
        settings.starts_kafka
        and settings.starts_postgres
        and settings.postgres_port in (settings.kafka_port, settings.kafka_controller_port)
    ):
        raise InfraError(
            f"KETENLOG_POSTGRES_PORT is {settings.postgres_port}, a port of the local Kafka "
            "broker too; give PostgreSQL a port of its own"
        )
    if not settings.starts_kafka:
        say(f"kafka: using {settings.bootstrap} (KETENLOG_KAFKA_BOOTSTRAP)")
    if not settings.starts_postgres:
        say(f"postgres: using {redact(settings.dsn)} (KETENLOG_DATABASE_URL)")

    launched_kafka = launched_postgres = False
    try:
        kafka_pid = None
        if settings.starts_kafka:
            # The broker takes the longest: launch it first and start PostgreSQL meanwhile.
            kafka_pid = kafka_broker.start(settings, say, wait=False)
            launched_kafka = not kafka_running
        if settings.starts_postgres:
            postgres.start(settings, say)
            launched_postgres = not pg_running
        if kafka_pid is not None and launched_kafka:
            kafka_broker.wait_ready(settings, say, kafka_pid)
    except BaseException:
        # A failed `up` leaves nothing half-started behind (what already ran stays).
        if launched_kafka:
            kafka_broker.stop(settings, say)
        if launched_postgres:
            postgres.stop(settings, say)
        raise

    prepare_kafka(settings, say)
    return endpoints(settings)


def prepare_kafka(settings: ServiceConfig, say: Say) -> None:
    """On a running Kafka: principals and ACLs as the catalogue says, then the topics."""
    if settings.kafka_insecure:
        say(
            "kafka: WARNING: KETENLOG_KAFKA_INSECURE=1: plaintext, no authentication, no ACLs: "
            f"anyone who reaches {settings.bootstrap} can read, write and delete every topic"
        )
    kafka_security.ensure(settings, say)
    for problem in topics.ensure(settings, say):
        say(f"problem: {problem}")


def down(settings: ServiceConfig, say: Say) -> None:
    """Stop what `up` starts (the local services); external services are never touched."""
    if settings.starts_kafka:
        kafka_broker.stop(settings, say)
    else:
        say(f"kafka: {settings.bootstrap} is external (KETENLOG_KAFKA_BOOTSTRAP), left running")
    if settings.starts_postgres:
        postgres.stop(settings, say)
    else:
        say(f"postgres: {redact(settings.dsn)} is external (KETENLOG_DATABASE_URL), left running")


def _kafka_state(settings: ServiceConfig) -> ServiceState:
    if not settings.starts_kafka:
        up_ = kafka_broker.reachable(settings.bootstrap)
        detail = "external (KETENLOG_KAFKA_BOOTSTRAP)" + ("" if up_ else ", not reachable")
        return ServiceState("kafka", settings.bootstrap, up_, detail)
    st = kafka_broker.status(settings)
    if st.pid is None:
        detail = "not running (`ketenlog up` starts it)"
    elif not st.listening:
        detail = f"starting (pid {st.pid}), port not open yet; log {st.log_file}"
    else:
        detail = f"local Kafka {settings.kafka_version}, pid {st.pid}, log {st.log_file}"
    return ServiceState("kafka", settings.bootstrap, st.pid is not None and st.listening, detail)


def _postgres_state(settings: ServiceConfig) -> ServiceState:
    url = redact(settings.dsn)
    if not settings.starts_postgres:
        reason = postgres.connectable(settings.dsn)
        detail = "external (KETENLOG_DATABASE_URL)" + (f", {reason}" if reason else "")
        return ServiceState("postgres", url, reason is None, detail)
    st = postgres.status(settings)
    if st.pid is None:
        detail = "not running (`ketenlog up` starts it)"
    elif not st.accepting:
        detail = f"running (pid {st.pid}) but not accepting connections; log {st.log_file}"
    else:
        detail = f"local cluster, pid {st.pid}, log {st.log_file}"
    return ServiceState("postgres", url, st.pid is not None and st.accepting, detail)


def status(settings: ServiceConfig) -> Status:
    """Each service and every catalogue topic; Status.ok is False when anything is amiss."""
    kafka = _kafka_state(settings)
    services = [kafka, _postgres_state(settings)]
    rows: list[TopicRow] = []
    problems: list[str] = []
    if kafka.up:
        try:
            rows = topics.describe(settings)
        except InfraError as exc:
            problems.append(str(exc))
        problems += [f"topic {row.name}: {row.problem}" for row in rows if row.problem]
    acls = None
    if kafka.up and not settings.kafka_insecure:
        try:
            acls = kafka_security.state(settings)
        except InfraError as exc:
            problems.append(str(exc))
        else:
            problems += [
                f"ACL missing: {g.principal} may {g.operation} on {g.resource.lower()} "
                f"{g.name} ({g.pattern.lower()}) by the catalogue; `ketenlog up` creates it"
                for g in acls.missing
            ]
            problems += [
                f"ACL the catalogue does not grant: {extra}; `ketenlog up` removes it"
                for extra in acls.extra
            ]
    return Status(services=services, topics=rows, problems=problems, acls=acls)
