"""Unit tests of who may do what on the log (schemas.access), the client settings every client
takes (Settings.kafka), the secure broker configuration, the local CA and the ACL matrix."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from infra import kafka_broker, kafka_tls
from infra.kafka_security import AclState, matrix
from ketenlog.settings import load
from schemas.access import (
    AUDITOR,
    DISTRIBUTION,
    PROCESSOR,
    Grant,
    KafkaAccess,
    grants,
    inbox_group,
    org_principal,
    principal_of,
    principals,
)
from schemas.topics import DEADLETTER, TIMELINE, Org, catalogue, event_topic, inbox_topic

SECURED = KafkaAccess(
    "127.0.0.1:1,127.0.0.1:2", "SASL_SSL", "SCRAM-SHA-512", "ind", "s3cret-pw", "/ca.pem"
)


def writers(topic: str) -> set[str]:
    return {g.principal for g in grants() if g.name == topic and g.operation == "WRITE"}


def topics_of(org: Org, operation: str) -> set[str]:
    return {
        g.name
        for g in grants()
        if g.principal == org_principal(org) and g.resource == "TOPIC" and g.operation == operation
    }


def test_each_organisation_writes_only_its_own_topic() -> None:
    for org in Org:
        assert topics_of(org, "WRITE") == {event_topic(org)}
        assert writers(event_topic(org)) == {org_principal(org)}


def test_each_organisation_reads_its_own_topic_and_inbox_alone() -> None:
    for org in Org:
        assert topics_of(org, "READ") == {event_topic(org), inbox_topic(org)}
        readers = {
            g.principal for g in grants() if g.name == inbox_topic(org) and g.operation == "READ"
        }
        assert readers == {org_principal(org), AUDITOR}
        assert writers(inbox_topic(org)) == {DISTRIBUTION}
        assert Grant(org_principal(org), "GROUP", inbox_group(org), "PREFIXED", "READ") in grants()


def test_only_the_processor_writes_the_timeline_and_the_dead_letters() -> None:
    assert writers(TIMELINE) == {PROCESSOR}
    assert writers(DEADLETTER) == {PROCESSOR}
    processor_reads = {
        g.name for g in grants() if g.principal == PROCESSOR and g.operation == "READ"
    }
    assert processor_reads == {event_topic(org) for org in Org} | {"*"}


def test_the_auditor_reads_every_topic_and_writes_none() -> None:
    auditor = [g for g in grants() if g.principal == AUDITOR]
    assert {g.name for g in auditor} == {spec.name for spec in catalogue()}
    assert {g.operation for g in auditor} == {"READ"}


def test_no_grant_lets_anyone_create_delete_or_alter() -> None:
    assert {g.operation for g in grants()} <= {"READ", "WRITE", "IDEMPOTENT_WRITE"}
    assert "admin" not in {g.principal for g in grants()}  # a super user, not an ACL


def test_principals_are_one_per_organisation_plus_the_roles() -> None:
    assert principals()[: len(Org)] == [org.value.lower() for org in Org]
    assert principals()[len(Org) :] == ["processor", "distribution", "auditor", "admin"]
    assert principal_of("IND") == "ind" and principal_of(" Auditor ") == "auditor"
    with pytest.raises(ValueError, match="unknown principal 'XYZ'"):
        principal_of("XYZ")


def test_the_password_is_in_no_repr_or_message() -> None:
    assert "s3cret-pw" not in repr(SECURED)
    assert str(SECURED) == "127.0.0.1:1,127.0.0.1:2"
    assert f"cannot reach {SECURED}" == "cannot reach 127.0.0.1:1,127.0.0.1:2"


def test_client_keyword_arguments_for_both_libraries() -> None:
    assert SECURED.kafka_python() == {
        "bootstrap_servers": ["127.0.0.1:1", "127.0.0.1:2"],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "ind",
        "sasl_plain_password": "s3cret-pw",
        "ssl_cafile": "/ca.pem",
        "ssl_check_hostname": True,
    }
    plain = KafkaAccess("127.0.0.1:9")
    assert plain.kafka_python() == {
        "bootstrap_servers": ["127.0.0.1:9"],
        "security_protocol": "PLAINTEXT",
    }
    assert plain.aiokafka() == plain.kafka_python()
    assert plain.ssl_context() is None


def test_the_printed_settings_round_trip_and_bad_ones_are_named() -> None:
    printed = json.loads(SECURED.to_json())
    assert set(printed) == {
        "bootstrap",
        "security_protocol",
        "sasl_mechanism",
        "username",
        "password",
        "ssl_cafile",
    }
    assert KafkaAccess.from_json(SECURED.to_json()) == SECURED
    with pytest.raises(ValueError, match=r"ind\.json: not the JSON object"):
        KafkaAccess.from_json('{"user": "ind"}', "ind.json")


def test_settings_give_each_principal_its_stored_settings(tmp_path: Path) -> None:
    folder = tmp_path / "creds"
    folder.mkdir()
    (folder / "ind.json").write_text(SECURED.to_json())
    env = {
        "KETENLOG_HOME": str(tmp_path),
        "KETENLOG_KAFKA_PORT": "29999",
        "KETENLOG_KAFKA_CREDENTIALS_DIR": str(folder),
    }
    settings = load(env)
    ind = settings.kafka("ind")
    assert ind.password == "s3cret-pw" and ind.bootstrap == "127.0.0.1:29999"
    with pytest.raises(
        SystemExit, match=r"no Kafka credentials for 'coa'.*KETENLOG_KAFKA_INSECURE"
    ):
        settings.kafka("coa")
    insecure = load({**env, "KETENLOG_KAFKA_INSECURE": "1"})
    assert insecure.kafka("coa") == KafkaAccess("127.0.0.1:29999")
    assert load({"KETENLOG_HOME": str(tmp_path)}).kafka_credentials_dir == (
        tmp_path / "kafka" / "credentials"
    )
    with pytest.raises(SystemExit, match="KETENLOG_KAFKA_INSECURE"):
        load({**env, "KETENLOG_KAFKA_INSECURE": "maybe"})


def test_secure_server_properties(tmp_path: Path) -> None:
    secrets = kafka_broker.BrokerSecrets(
        "b-pw", "c-pw", tmp_path / "broker.pem", tmp_path / "ca.pem"
    )
    text = kafka_broker.render_properties(
        kafka_broker.TEMPLATE.read_text(),
        broker_port=29092,
        controller_port=29093,
        log_dir=tmp_path / "data",
        secrets=secrets,
    )
    assert "{" not in text.replace("{{", "")
    props = kafka_broker.parse_properties(text)
    assert props["listeners"] == "SASL_SSL://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["listener.security.protocol.map"] == "CONTROLLER:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:admin;User:broker;User:controller"
    assert props["ssl.keystore.type"] == "PEM"
    assert props["ssl.keystore.location"] == str(tmp_path / "broker.pem")
    assert 'password="b-pw"' in props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    assert "PLAINTEXT://" not in props["listeners"]


def test_the_local_ca_and_broker_certificate(tmp_path: Path) -> None:
    tls, made = kafka_tls.ensure(tmp_path)
    assert len(made) == 2
    assert stat.S_IMODE(tls.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(tls.broker.stat().st_mode) == 0o600
    assert stat.S_IMODE(tls.ca_cert.stat().st_mode) == 0o644
    ca = x509.load_pem_x509_certificate(tls.ca_cert.read_bytes())
    broker = x509.load_pem_x509_certificates(tls.broker.read_bytes())[0]
    public = ca.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    broker.verify_directly_issued_by(ca)
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert b"PRIVATE KEY" in tls.broker.read_bytes()
    again, made_again = kafka_tls.ensure(tmp_path)
    assert made_again == [] and again.ca_cert.read_bytes() == tls.ca_cert.read_bytes()


def test_the_matrix_marks_what_the_broker_lacks() -> None:
    write = Grant("ind", "TOPIC", "keten.ind.events", "LITERAL", "WRITE")
    read = Grant("ind", "TOPIC", "keten.ind.events", "LITERAL", "READ")
    group = Grant("distribution", "GROUP", "ketenlog-distribution", "PREFIXED", "READ")
    rows = matrix(AclState(found=[read, group], missing=[write], extra=[]))
    assert [(r.principal, r.resource, r.operations, r.missing) for r in rows] == [
        ("ind", "topic keten.ind.events", ("READ", "WRITE"), ("WRITE",)),
        ("distribution", "group ketenlog-distribution (prefixed)", ("READ",), ()),
    ]
    assert not AclState([read], [write], []).ok and AclState([read], [], []).ok
