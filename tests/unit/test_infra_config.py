"""Unit tests of the pure parts of infra/: rendered configuration, paths, names, status logic."""

from __future__ import annotations

import re
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest
from psycopg.conninfo import conninfo_to_dict

from infra import kafka_broker, pg_passfile, pg_roles, postgres, procs, topics
from infra.errors import InfraError
from infra.services import InfraError as ServicesInfraError
from infra.services import ServiceState, Status, redact
from infra.topics import TopicRow
from ketenlog.settings import load
from projections import db

INFRA = Path(kafka_broker.__file__).resolve().parent


def _rendered(tmp_path: Path) -> dict[str, str]:
    text = kafka_broker.render_properties(
        kafka_broker.TEMPLATE.read_text(),
        broker_port=29092,
        controller_port=29093,
        log_dir=tmp_path / "data-4.1.1",
    )
    assert "{" not in text and "}" not in text
    return kafka_broker.parse_properties(text)


def test_server_properties_take_ports_and_log_dir(tmp_path: Path) -> None:
    props = _rendered(tmp_path)
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"].startswith("PLAINTEXT://127.0.0.1:29092")
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:29093"
    assert props["log.dirs"] == str(tmp_path / "data-4.1.1")
    assert props["process.roles"] == "broker,controller"
    assert "controller.quorum.voters" not in props  # would conflict with --standalone


def test_server_properties_suit_one_node(tmp_path: Path) -> None:
    props = _rendered(tmp_path)
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"


def test_paths_are_keyed_by_version(tmp_path: Path) -> None:
    p411 = kafka_broker.paths(load({"KETENLOG_HOME": str(tmp_path)}))
    p420 = kafka_broker.paths(
        load({"KETENLOG_HOME": str(tmp_path), "KETENLOG_KAFKA_VERSION": "4.2.0"})
    )
    assert p411.data == tmp_path / "kafka" / "data-4.1.1"
    assert p411.libs == tmp_path / "kafka" / "cache" / "kafka-4.1.1-log4j-2.24.3" / "libs"
    assert p420.data != p411.data and p420.libs != p411.libs
    assert p411.pid_file.parent == p411.log_file.parent == tmp_path / "kafka" / "run"


@pytest.mark.parametrize(
    ("version", "log4j"), [("4.0.0", "2.24.3"), ("4.1.1", "2.24.3"), ("4.2.0", "2.25.3")]
)
def test_log4j_follows_the_kafka_release(version: str, log4j: str) -> None:
    assert kafka_broker.log4j_version(version) == log4j


@pytest.mark.parametrize("version", ["3.9.1", "latest", ""])
def test_unsupported_kafka_versions_are_refused(version: str) -> None:
    with pytest.raises(InfraError, match="KETENLOG_KAFKA_VERSION"):
        kafka_broker.log4j_version(version)


def test_pom_matches_the_default_settings() -> None:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(kafka_broker.POM).getroot()
    assert root.findtext("m:properties/m:kafka.version", namespaces=ns) == load({}).kafka_version
    artifacts = {
        d.findtext("m:artifactId", namespaces=ns) for d in root.iterfind(".//m:dependency", ns)
    }
    assert {"kafka_2.13", "log4j-slf4j-impl", "log4j-core", "slf4j-api"} <= artifacts


def test_compose_file_uses_the_same_ports_and_names() -> None:
    text = (INFRA / "compose.yaml").read_text()
    defaults = load({})
    assert f"127.0.0.1:{defaults.kafka_port}:" in text
    assert f"127.0.0.1:{defaults.postgres_port}:5432" in text
    major_minor = ".".join(defaults.kafka_version.split(".")[:2])
    assert re.search(rf"image: apache/kafka:{re.escape(major_minor)}", text)
    assert "POSTGRES_USER: ketenlog" in text and "POSTGRES_DB: ketenlog" in text


def test_cluster_ids_look_like_kafka_uuids() -> None:
    ids = {kafka_broker.new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cid in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cid) and not cid.startswith("-")


def test_postgres_conf_listens_on_loopback_only(tmp_path: Path) -> None:
    conf = postgres.render_conf(port=25432, socket_dir=tmp_path / "it's")
    assert "listen_addresses = '127.0.0.1'" in conf
    assert "port = 25432" in conf
    assert f"unix_socket_directories = '{tmp_path}/it''s'" in conf
    assert "unix_socket_directories = ''" in postgres.render_conf(port=1, socket_dir=None)
    hba = [line.split() for line in postgres.render_hba().splitlines() if line[0] != "#"]
    assert not [row for row in hba if "trust" in row]
    assert {(row[3], row[4]) for row in hba if row[0] == "host"} == {
        ("127.0.0.1/32", "scram-sha-256"),
        ("::1/128", "scram-sha-256"),
    }
    # The socket admits only the superuser, and only the OS users of the ident map.
    assert [row for row in hba if row[0] == "local"] == [
        ["local", "all", postgres.SUPERUSER, "peer", f"map={postgres.IDENT_MAP}"]
    ]
    ident = postgres.render_ident(["postgres", "root", "postgres"]).splitlines()[1:]
    assert ident == [
        f"{postgres.IDENT_MAP} postgres postgres",
        f"{postgres.IDENT_MAP} root postgres",
    ]


def test_postgres_paths_and_dsn_agree(tmp_path: Path) -> None:
    s = load({"KETENLOG_HOME": str(tmp_path), "KETENLOG_POSTGRES_PORT": "25432"})
    assert postgres.paths(s).data == tmp_path / "postgres" / "data"
    passfile = quote(str(tmp_path / "postgres.pgpass"), safe="")
    assert s.dsn == (
        f"postgresql://{postgres.ROLE}@127.0.0.1:25432/{postgres.DATABASE}?passfile={passfile}"
    )
    assert s.dsn_for("analyst").startswith(f"postgresql://{pg_roles.ANALYST}@127.0.0.1:25432/")
    # libpq reads the same: the passfile, and no password anywhere in the DSN.
    parsed = conninfo_to_dict(s.dsn_for("auditor"))
    assert parsed["passfile"] == str(tmp_path / "postgres.pgpass") and "password" not in parsed
    assert parsed["user"] == pg_roles.AUDITOR and s.analyst_role_enforced


def test_an_external_server_takes_a_url_per_role(tmp_path: Path) -> None:
    owner, analyst = "postgresql://o:x@h/db", "postgresql://a:y@h/db"
    only_owner = load({"KETENLOG_HOME": str(tmp_path), "KETENLOG_DATABASE_URL": owner})
    assert only_owner.dsn_for("analyst") == owner and not only_owner.analyst_role_enforced
    both = load(
        {
            "KETENLOG_HOME": str(tmp_path),
            "KETENLOG_DATABASE_URL": owner,
            "KETENLOG_ANALYST_DATABASE_URL": analyst,
        }
    )
    assert (both.dsn, both.dsn_for("analyst")) == (owner, analyst) and both.analyst_role_enforced


def test_the_views_are_granted_to_the_role_up_makes() -> None:
    assert db.ANALYST_ROLE == pg_roles.ANALYST and db.ANALYST == pg_roles.ANALYST_SCHEMA


def test_the_passfile_is_made_once_owner_only_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "pgpass"
    said: list[str] = []
    first = pg_passfile.ensure_passwords(path, ["a", "b"], said.append)
    assert first.made == {"a", "b"} and len(said) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = pg_passfile.ensure_passwords(path, ["a", "b", "c"], said.append)
    assert again.made == {"c"} and again["a"] == first["a"] and again["b"] == first["b"]
    assert pg_passfile.read(path) == again.values
    assert len({first["a"], first["b"], again["c"]}) == 3


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("-1", "forever"),
        ("604800000", "7d"),
        ("7200000", "2h"),
        ("1500", "1500ms"),
        (None, "unknown"),
    ],
)
def test_retention_reads_as_people_say_it(value: str | None, text: str) -> None:
    assert topics.retention_text(value) == text


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("h:1", ("h", 1)),
        ("h", ("h", 9092)),
        ("[::1]:5", ("::1", 5)),
        (" 1.2.3.4:7 ", ("1.2.3.4", 7)),
    ],
)
def test_split_host_port(address: str, expected: tuple[str, int]) -> None:
    assert procs.split_host_port(address, 9092) == expected


def test_redact_hides_passwords_only() -> None:
    assert redact("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact("postgresql://ketenlog@127.0.0.1:1/k") == "postgresql://ketenlog@127.0.0.1:1/k"


def test_status_ok_needs_every_service_and_topic() -> None:
    up = [ServiceState("kafka", "k", True, ""), ServiceState("postgres", "p", True, "")]
    good = [TopicRow("t", 6, "forever")]
    assert Status(up, good).ok
    assert not Status([up[0], ServiceState("postgres", "p", False, "")], good).ok
    assert not Status(up, [TopicRow("t", 0, "missing", "missing")]).ok
    assert not Status(up, []).ok
    assert not Status(up, good, ["boom"]).ok


def test_services_error_is_the_drivers_error() -> None:
    assert ServicesInfraError is InfraError


def test_a_bound_port_is_not_free() -> None:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not procs.port_free("127.0.0.1", port)
        assert procs.port_open("127.0.0.1", port)


def test_a_dead_brokers_reason_is_its_exception() -> None:
    log = (
        "[t] INFO starting (kafka.Kafka$)\n"
        "[t] ERROR Exiting Kafka due to fatal exception (kafka.Kafka$)\n"
        "java.lang.IllegalArgumentException: requirement failed: listeners clash\n"
        "\tat kafka.Kafka.main(Kafka.scala)\n"
    )
    assert "listeners clash" in kafka_broker.death_reason(log)
    assert "ERROR Exiting" in kafka_broker.death_reason(log.splitlines()[1])
    assert kafka_broker.death_reason("[t] INFO fine") == ""


def test_equal_kafka_ports_are_refused(tmp_path: Path) -> None:
    s = load(
        {
            "KETENLOG_HOME": str(tmp_path),
            "KETENLOG_KAFKA_PORT": "29092",
            "KETENLOG_KAFKA_CONTROLLER_PORT": "29092",
        }
    )
    with pytest.raises(InfraError, match="KETENLOG_KAFKA_CONTROLLER_PORT"):
        kafka_broker.check_ports(s)


def test_child_processes_get_only_the_allow_listed_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KETENLOG_CHAIN_KEY", "k" * 40)
    monkeypatch.setenv("KETENLOG_AUDITOR_TOKEN", "t" * 40)
    monkeypatch.setenv("KETENLOG_DATABASE_URL", "postgresql://u:secret@h/db")
    monkeypatch.setenv("JAVA_HOME", "/opt/java")
    env = procs.child_env({"DEBIAN_FRONTEND": "noninteractive"})
    assert not [name for name in env if name.startswith("KETENLOG_")]
    assert env["JAVA_HOME"] == "/opt/java" and env["DEBIAN_FRONTEND"] == "noninteractive"
    assert set(env) <= {*procs.CHILD_ENV, "DEBIAN_FRONTEND"}
