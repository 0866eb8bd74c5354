"""The broker's own security, on the session's real broker: without credentials nothing gets in,
an organisation writes only its own topic, credentials rotate, and `status` finds ACL drift."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from infra import services as infra_services
from schemas.access import KafkaAccess
from schemas.topics import TIMELINE, event_topic
from tests.conftest import RunningServices

pytestmark = pytest.mark.integration

# Give up in seconds, not the default minute, when the broker will not let a client in.
FAST = {"max_block_ms": 8_000, "request_timeout_ms": 8_000, "bootstrap_timeout_ms": 8_000}
FAST_READ = {"bootstrap_timeout_ms": 8_000}


@pytest.fixture(autouse=True)
def secured(services: RunningServices) -> None:
    if services.settings.kafka_insecure:
        pytest.skip("KETENLOG_KAFKA_INSECURE=1: the broker has no authentication to test")


def ketenlog(services: RunningServices, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **services.kafka_env, "KETENLOG_DATABASE_URL": services.dsn}
    return subprocess.run(
        [sys.executable, "-m", "ketenlog.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def credentials(services: RunningServices, org: str, *extra: str) -> KafkaAccess:
    done = ketenlog(services, "credentials", org, *extra)
    assert done.returncode == 0, done.stderr
    access = KafkaAccess.from_json(done.stdout)
    assert access.password and access.password not in done.stderr
    return access


@pytest.fixture
def producer_of(services: RunningServices) -> Iterator[Any]:
    opened: list[Any] = []

    def make(access: KafkaAccess) -> Any:
        producer = KafkaProducer(acks="all", **FAST, **access.kafka_python())
        opened.append(producer)
        return producer

    yield make
    for producer in opened:
        producer.close(timeout=5)


def test_a_client_without_credentials_can_neither_produce_nor_consume(
    services: RunningServices,
) -> None:
    plain = KafkaAccess(services.bootstrap)
    with pytest.raises(KafkaError):
        producer = KafkaProducer(**FAST, **plain.kafka_python())
        try:
            producer.send(event_topic("IND"), b"anonymous").get(timeout=8)
        finally:
            producer.close(timeout=1)
    with pytest.raises(KafkaError):
        consumer = KafkaConsumer(**FAST_READ, **plain.kafka_python())
        try:
            consumer.assign([TopicPartition(event_topic("IND"), 0)])
            consumer.seek_to_beginning()
            consumer.poll(timeout_ms=5_000)
        finally:
            consumer.close()
    # TLS alone, or a wrong password, is not enough either.
    ind = services.kafka("IND")
    forged = KafkaAccess(
        services.bootstrap,
        "SASL_SSL",
        ind.sasl_mechanism,
        "ind",
        "not-the-password",
        ind.ssl_cafile,
    )
    with pytest.raises(KafkaError):
        producer = KafkaProducer(**FAST, **forged.kafka_python())
        try:
            producer.send(event_topic("IND"), b"guessed").get(timeout=8)
        finally:
            producer.close(timeout=1)


def test_ind_writes_its_own_topic_and_nothing_else(
    services: RunningServices, producer_of: Any
) -> None:
    ind = credentials(services, "IND")
    assert (ind.security_protocol, ind.sasl_mechanism, ind.username) == (
        "SASL_SSL",
        "SCRAM-SHA-512",
        "ind",
    )
    assert ind.ssl_cafile is not None and os.path.exists(ind.ssl_cafile)
    producer = producer_of(ind)
    # A record no processor will take for an event: dead-lettered, never a fact.
    sent = producer.send(event_topic("IND"), b"not an event").get(timeout=30)
    assert sent.topic == event_topic("IND")
    for topic in (event_topic("COA"), TIMELINE):
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(topic, b"forged").get(timeout=30)
    reader = KafkaConsumer(enable_auto_commit=False, **FAST_READ, **ind.kafka_python())
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            reader.end_offsets([TopicPartition(event_topic("COA"), 0)])
    finally:
        reader.close()


def test_rotating_a_credential_locks_out_the_old_password(
    services: RunningServices, producer_of: Any
) -> None:
    old = credentials(services, "RVR")
    new = credentials(services, "RVR", "--rotate")
    assert new.password != old.password
    assert credentials(services, "RVR").password == new.password
    assert services.kafka("RVR").password == new.password
    producer_of(new).send(event_topic("RVR"), b"after rotation").get(timeout=30)
    with pytest.raises(KafkaError):
        producer_of(old).send(event_topic("RVR"), b"with the old password").get(timeout=8)


def _acl(principal: str, operation: Any, topic: str) -> Any:
    return ACL(
        principal=f"User:{principal}",
        host="*",
        operation=operation,
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL),
    )


def _as_filter(acl: Any) -> Any:
    pattern = acl.resource_pattern
    return ACLFilter(
        principal=acl.principal,
        host=acl.host,
        operation=acl.operation,
        permission_type=acl.permission_type,
        resource_pattern=ResourcePatternFilter(
            pattern.resource_type, pattern.resource_name, pattern.pattern_type
        ),
    )


def test_status_shows_the_acl_matrix_and_fails_on_drift_which_up_repairs(
    services: RunningServices,
) -> None:
    # The services' health without the worker groups (other tests leave groups behind).
    assert infra_services.status(services.settings).ok
    shown = ketenlog(services, "status")
    assert "PRINCIPAL" in shown.stdout and "super user" in shown.stdout
    assert "processor      topic keten.timeline" in shown.stdout
    assert "ACL" not in "\n".join(ln for ln in shown.stdout.splitlines() if "problem" in ln)

    admin = KafkaAdminClient(**services.kafka("admin").kafka_python())
    granted = _acl("distribution", ACLOperation.READ, TIMELINE)
    rogue = _acl("ind", ACLOperation.WRITE, TIMELINE)
    try:
        admin.delete_acls([_as_filter(granted)])
        assert not admin.create_acls([rogue])["failed"]
        assert not infra_services.status(services.settings).ok
        drifted = ketenlog(services, "status")
        assert drifted.returncode == 1, drifted.stdout
        assert "distribution   topic keten.timeline" in drifted.stdout
        assert "READ(MISSING)" in drifted.stdout
        assert "problem: ACL missing: distribution may READ on topic keten.timeline" in (
            drifted.stdout
        )
        assert "ACL the catalogue does not grant: ALLOW User:ind" in drifted.stdout
        assert "WRITE on TOPIC keten.timeline" in drifted.stdout

        repaired = ketenlog(services, "up")
        assert repaired.returncode == 0, repaired.stderr
        assert "removed an ACL the catalogue does not grant: ALLOW User:ind" in repaired.stderr
        assert "created 1 ACLs" in repaired.stderr
        assert infra_services.status(services.settings).ok
        after = ketenlog(services, "status")
        assert "MISSING" not in after.stdout
        assert "does not grant" not in after.stdout
    finally:
        admin.delete_acls([_as_filter(rogue)])
        admin.create_acls([granted])
        admin.close()
