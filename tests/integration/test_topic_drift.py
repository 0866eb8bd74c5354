"""Topic drift on the real broker: `status` names it, `up`'s topic step repairs and reports it."""

from __future__ import annotations

import dataclasses
import time
import uuid

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from infra import services as infra_services
from infra import topics
from ketenlog.settings import Settings
from schemas.access import ADMIN
from schemas.topics import RETAIN_FOREVER, TopicSpec, catalogue
from tests.conftest import RunningServices

pytestmark = pytest.mark.integration


def _retention(settings: Settings, topic: str) -> str:
    admin = KafkaAdminClient(**settings.kafka(ADMIN).kafka_python())
    try:
        result = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, ["retention.ms"])]
        )
    finally:
        admin.close()
    return str(result["topic"][topic]["retention.ms"]["value"])


def _settled_retention(settings: Settings, topic: str, value: str) -> str:
    """The topic's retention once it reads `value`, or what it reads after 20 s: an alter goes
    through the controller and reaches the broker's metadata a moment later."""
    deadline = time.monotonic() + 20
    while (seen := _retention(settings, topic)) != value and time.monotonic() < deadline:
        time.sleep(0.2)
    return seen


def _set_retention(settings: Settings, topic: str, value: str) -> None:
    admin = KafkaAdminClient(**settings.kafka(ADMIN).kafka_python())
    try:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": value})]
        )
    finally:
        admin.close()
    assert _settled_retention(settings, topic, value) == value


def test_changed_retention_is_named_by_status_and_restored_by_up(services: RunningServices) -> None:
    settings = services.settings
    topic = catalogue()[0].name
    _set_retention(settings, topic, "3600000")
    try:
        report = infra_services.status(settings)
        assert not report.ok
        named = [p for p in report.problems if p.startswith(f"topic {topic}:")]
        assert named == [
            f"topic {topic}: drift: retention.ms 3600000, catalogue says -1 "
            "(`ketenlog up` repairs it)"
        ]
        said: list[str] = []
        assert topics.ensure(settings, said.append) == []
    finally:
        restored = _settled_retention(settings, topic, "-1")
        if restored != "-1":
            _set_retention(settings, topic, "-1")
    assert restored == "-1"
    assert f"topics: {topic}: repaired drift: retention.ms 3600000 -> -1" in said
    assert infra_services.status(settings).ok


def test_fewer_partitions_are_added_and_the_key_move_is_said(services: RunningServices) -> None:
    settings = services.settings
    spec = TopicSpec(f"ketenlog-test-drift-{uuid.uuid4().hex[:8]}", "test", dict(RETAIN_FOREVER))
    small = dataclasses.replace(settings, partitions=2)
    assert topics.ensure(small, lambda _: None, [spec]) == []
    said: list[str] = []
    assert topics.ensure(settings, said.append, [spec]) == []
    assert [row.partitions for row in topics.describe(settings, [spec])] == [settings.partitions]
    assert any("added partitions 2 -> " in line and "moves keys" in line for line in said), said
    # Never fewer: back on 2 it is a problem, not a repair.
    problems = topics.ensure(small, lambda _: None, [spec])
    assert len(problems) == 1 and "partitions are never removed" in problems[0]
