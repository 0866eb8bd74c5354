"""Integration tests of infra/: the real broker and cluster that `ketenlog up` runs."""

from __future__ import annotations

import contextlib
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

from infra import kafka_broker, postgres
from infra import services as infra_services
from ketenlog.settings import Settings, load
from schemas.access import KafkaAccess
from schemas.topics import catalogue
from tests.conftest import kafka_env

pytestmark = pytest.mark.integration


class RunningServices(Protocol):
    """What the session fixture `services` (tests/conftest.py) gives."""

    @property
    def settings(self) -> Settings: ...
    @property
    def bootstrap(self) -> str: ...
    @property
    def dsn(self) -> str: ...
    def kafka(self, who: str) -> KafkaAccess: ...


def _quiet(_line: str) -> None:
    pass


@contextlib.contextmanager
def _admin(kafka: KafkaAccess) -> Iterator[Any]:
    client = KafkaAdminClient(client_id="test-infra", **kafka.kafka_python())
    try:
        yield client
    finally:
        client.close()


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@contextlib.contextmanager
def _instance(base: Settings, name: str) -> Iterator[Settings]:
    """Settings of a separate local instance (own home and ports), deleted afterwards.

    Its home sits inside the session's home: PostgreSQL's user must be able to reach it.
    """
    home = base.home / "test-instances" / f"{name}-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True)
    kafka_port, controller_port, pg_port = _free_ports(3)
    env = {
        "KETENLOG_HOME": str(home),
        "KETENLOG_KAFKA_PORT": str(kafka_port),
        "KETENLOG_KAFKA_CONTROLLER_PORT": str(controller_port),
        "KETENLOG_POSTGRES_PORT": str(pg_port),
        "KETENLOG_KAFKA_VERSION": base.kafka_version,
        "KETENLOG_PARTITIONS": str(base.partitions),
        "KETENLOG_START_TIMEOUT": str(int(base.start_timeout_s)),
    }
    instance = load(env)
    try:
        yield instance
    finally:
        infra_services.down(instance, _quiet)
        shutil.rmtree(home, ignore_errors=True)
        with contextlib.suppress(OSError):
            home.parent.rmdir()


def _processes_under(home: Path) -> list[str]:
    """Command lines of live processes that mention home (java -cp, postgres -D, ...)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if str(home) in line and state != "Z":
            found.append(f"{entry.name}: {line[:200]}")
    return found


def _topic_ids(kafka: KafkaAccess, names: list[str]) -> dict[str, str]:
    with _admin(kafka) as admin:
        return {str(t["name"]): str(t["topic_id"]) for t in admin.describe_topics(names)}


def test_every_catalogue_topic_exists_partitioned_and_kept_forever(
    services: RunningServices,
) -> None:
    names = [spec.name for spec in catalogue()]
    with _admin(services.kafka("admin")) as admin:
        described = {t["name"]: t for t in admin.describe_topics(names)}
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, ["retention.ms"]) for n in names],
            config_filter="all",
        )["topic"]
    for name in names:
        assert described[name]["error_code"] == 0, f"{name} missing"
        assert len(described[name]["partitions"]) == services.settings.partitions, name
        assert configs[name]["retention.ms"]["value"] == "-1", name


def test_second_up_changes_nothing(services: RunningServices) -> None:
    st = services.settings
    names = [spec.name for spec in catalogue()]
    pids_before = (kafka_broker.running_pid(st), postgres.running_pid(st))
    ids_before = _topic_ids(services.kafka("admin"), names)

    lines: list[str] = []
    endpoints = infra_services.up(st, lines.append)

    assert (kafka_broker.running_pid(st), postgres.running_pid(st)) == pids_before
    assert _topic_ids(services.kafka("admin"), names) == ids_before
    assert not any("created" in line or "starting" in line for line in lines), lines
    if st.starts_kafka:
        assert any("kafka: already running" in line for line in lines), lines
    assert [e.name for e in endpoints] == ["kafka", "postgres"]


def test_status_reports_ok(services: RunningServices) -> None:
    report = infra_services.status(services.settings)
    assert report.ok, (report.services, report.problems)
    assert all(svc.up for svc in report.services)
    assert [row.name for row in report.topics] == [spec.name for spec in catalogue()]
    assert all(row.partitions == services.settings.partitions for row in report.topics)
    assert {row.retention for row in report.topics} == {"forever"}


def test_a_record_goes_round_trip(services: RunningServices) -> None:
    # On a topic of its own: keten.timeline holds accepted facts only, and verify says so.
    topic = f"ketenlog-test-roundtrip-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**services.kafka("admin").kafka_python())
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    key, value = uuid.uuid4().hex.encode(), b"round trip"
    producer = KafkaProducer(**services.kafka("admin").kafka_python())
    try:
        sent = producer.send(topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close()
    consumer = KafkaConsumer(enable_auto_commit=False, **services.kafka("admin").kafka_python())
    try:
        tp = TopicPartition(topic, sent.partition)
        consumer.assign([tp])
        consumer.seek(tp, sent.offset)
        deadline = time.monotonic() + 30
        got: list[Any] = []
        while not got and time.monotonic() < deadline:
            got = consumer.poll(timeout_ms=1000).get(tp, [])
    finally:
        consumer.close()
        admin.delete_topics([topic])
        admin.close()
    assert got, "the record did not come back"
    assert (got[0].key, got[0].value) == (key, value)


def test_postgres_takes_the_dsn(services: RunningServices) -> None:
    with psycopg.connect(services.dsn, connect_timeout=10) as conn:
        user, db = conn.execute("SELECT current_user, current_database()").fetchone() or ("", "")
        conn.execute("CREATE TEMP TABLE probe (n int)")
        conn.execute("INSERT INTO probe VALUES (1)")
        assert conn.execute("SELECT count(*) FROM probe").fetchone() == (1,)
    if services.settings.starts_postgres:
        assert (user, db) == ("ketenlog", "ketenlog")


@pytest.mark.parametrize(
    ("taken", "setting"),
    [("kafka_port", "KETENLOG_KAFKA_PORT"), ("postgres_port", "KETENLOG_POSTGRES_PORT")],
)
def test_a_taken_port_is_named(settings: Settings, taken: str, setting: str) -> None:
    with _instance(settings, "port") as instance:
        port = int(getattr(instance, taken))
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            with pytest.raises(infra_services.InfraError) as caught:
                infra_services.up(instance, _quiet)
        message = str(caught.value)
        assert str(port) in message and setting in message, message
        # Every port is checked before anything starts: nothing may be left running.
        assert _processes_under(instance.home) == []


SECRETS = {"KETENLOG_CHAIN_KEY": "c" * 40, "KETENLOG_AUDITOR_TOKEN": "t" * 40}


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {name: value for name, _, value in pairs}


def test_down_leaves_no_process_behind(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Secrets in our environment must not reach the broker or the server (an allow-list).
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with _instance(settings, "down") as instance:
        infra_services.up(instance, _quiet)
        kafka_pid = kafka_broker.running_pid(instance)
        pg_pid = postgres.running_pid(instance)
        assert kafka_pid is not None and pg_pid is not None
        assert infra_services.status(instance).ok
        for pid in (kafka_pid, pg_pid):
            seen = _environ(pid)
            assert not [n for n in seen if n.startswith("KETENLOG_")], (pid, sorted(seen))
            assert not set(SECRETS.values()) & set(seen.values()), pid

        infra_services.down(instance, _quiet)

        for pid in (kafka_pid, pg_pid):
            assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid), pid
        assert _processes_under(instance.home) == []
        report = infra_services.status(instance)
        assert not report.ok and not any(svc.up for svc in report.services)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "gone"


def test_up_with_existing_services_only_checks_them(
    services: RunningServices, settings: Settings
) -> None:
    with _instance(settings, "external") as instance:
        external = load(
            {
                "KETENLOG_HOME": str(instance.home),
                **kafka_env(services.settings),
                "KETENLOG_DATABASE_URL": services.dsn,
            }
        )
        lines: list[str] = []
        infra_services.up(external, lines.append)
        infra_services.down(external, lines.append)
        assert _processes_under(instance.home) == []
        assert not (instance.home / "kafka").exists() and not (instance.home / "postgres").exists()
        assert infra_services.status(services.settings).ok
