"""Topic creation, drift repair and description from the one catalogue (schemas.topics), via
kafka-python's admin.

Sits under infra.services; works the same on the local broker and on an existing Kafka. What
counts as drift is infra.topic_drift's (pure) comparison.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from kafka.errors import KafkaError

from infra.config import ServiceConfig
from infra.errors import InfraError
from infra.topic_drift import Drift, drift
from schemas.access import ADMIN
from schemas.topics import TopicSpec, catalogue

Say = Callable[[str], None]

REPLICATION_FACTOR = 1
TOPIC_ALREADY_EXISTS = 36
UNKNOWN_TOPIC_OR_PARTITION = 3


@dataclass(frozen=True)
class TopicRow:
    """One catalogue topic as the broker has it; partitions 0 and retention 'missing' if absent."""

    name: str
    partitions: int
    retention: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def retention_text(retention_ms: str | None) -> str:
    """retention.ms as people read it: 'forever' for -1, else days/hours/ms."""
    if retention_ms is None:
        return "unknown"
    try:
        ms = int(retention_ms)
    except ValueError:
        return retention_ms
    if ms < 0:
        return "forever"
    day, hour = 86_400_000, 3_600_000
    if ms and ms % day == 0:
        return f"{ms // day}d"
    if ms and ms % hour == 0:
        return f"{ms // hour}h"
    return f"{ms}ms"


@contextlib.contextmanager
def admin(settings: ServiceConfig) -> Iterator[Any]:
    """A KafkaAdminClient on settings.bootstrap as the admin, closed afterwards."""
    try:
        client = KafkaAdminClient(
            client_id="ketenlog-infra",
            request_timeout_ms=30_000,
            bootstrap_timeout_ms=15_000,
            **settings.kafka(ADMIN).kafka_python(),
        )
    except KafkaError as exc:
        raise InfraError(
            f"cannot reach Kafka at {settings.bootstrap} ({exc!r}); start it with `ketenlog up` "
            "or check KETENLOG_KAFKA_BOOTSTRAP"
        ) from exc
    try:
        yield client
    finally:
        client.close()


def _partition_counts(client: Any, names: list[str]) -> dict[str, int]:
    """Partition count of each existing topic among names."""
    counts: dict[str, int] = {}
    for info in client.describe_topics(names):
        if info.get("error_code", 0) == 0:
            counts[info["name"]] = len(info.get("partitions") or [])
    return counts


def _configs(client: Any, names: list[str], keys: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, name, keys) for name in names]
    result = client.describe_configs(resources, config_filter="all")
    topics: dict[str, dict[str, dict[str, Any]]] = result.get("topic", {})
    return {
        name: {key: str(entry.get("value")) for key, entry in configs.items()}
        for name, configs in topics.items()
    }


def ensure(settings: ServiceConfig, say: Say, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create every missing catalogue topic and repair the drift of existing ones: configs the
    catalogue sets are set back (incremental alter, other configs untouched), partitions are
    added when a topic has fewer than settings.partitions. Says what it changed.

    Returns the problems it could not repair (a topic with more partitions than
    settings.partitions: partitions are never removed); an empty list means every topic is as
    the catalogue wants it.
    """
    specs = catalogue() if specs is None else specs
    names = [spec.name for spec in specs]
    problems: list[str] = []
    try:
        with admin(settings) as client:
            existing = _partition_counts(client, names)
            missing = [spec for spec in specs if spec.name not in existing]
            if missing:
                _create(client, settings, missing, say)
            present = [spec for spec in specs if spec.name in existing]
            drifts = _drifts(client, settings, present, existing)
            for found in drifts:
                problems += _repair(client, settings, found, say)
            if present:
                clean = len(present) - len(drifts)
                say(f"topics: {clean} already existed as the catalogue says, left as they are")
    except KafkaError as exc:
        raise InfraError(
            f"talking to Kafka at {settings.bootstrap} failed while creating topics: {exc!r}"
        ) from exc
    return problems


def _create(client: Any, settings: ServiceConfig, missing: list[TopicSpec], say: Say) -> None:
    request = {
        spec.name: {
            "num_partitions": settings.partitions,
            "replication_factor": REPLICATION_FACTOR,
            "configs": dict(spec.config),
        }
        for spec in missing
    }
    response = client.create_topics(request, raise_errors=False)
    for topic in response["topics"]:
        code = topic.get("error_code", 0)
        if code not in (0, TOPIC_ALREADY_EXISTS):
            raise InfraError(
                f"creating topic {topic['name']} on {settings.bootstrap} failed: "
                f"{topic.get('error_message') or f'error code {code}'}"
            )
    client.wait_for_topics([spec.name for spec in missing], timeout_ms=60_000)
    say(
        f"topics: created {len(missing)} ({settings.partitions} partitions each): "
        + ", ".join(spec.name for spec in missing)
    )


def _drifts(
    client: Any, settings: ServiceConfig, specs: list[TopicSpec], counts: dict[str, int]
) -> list[Drift]:
    keys = sorted({key for spec in specs for key in spec.config})
    configs = _configs(client, [spec.name for spec in specs], keys)
    found = [
        drift(spec, counts[spec.name], configs.get(spec.name, {}), settings.partitions)
        for spec in specs
    ]
    return [d for d in found if d.any]


def _repair(client: Any, settings: ServiceConfig, found: Drift, say: Say) -> list[str]:
    """Set the drifted configs back and add missing partitions; the problems left."""
    if found.configs:
        wanted = {key: want for key, (_have, want) in found.configs.items()}
        result = client.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, found.topic, wanted)]
        )
        _raise_on_error(result, found.topic)
        say(
            f"topics: {found.topic}: repaired drift: "
            + "; ".join(f"{key} {have} -> {want}" for key, (have, want) in found.configs.items())
        )
    if found.partitions is None:
        return []
    have, want = found.partitions
    if not found.repairable_partitions:
        return [
            f"topic {found.topic} has {have} partitions, KETENLOG_PARTITIONS is {want}: "
            "partitions are never removed; all topics must be partitioned alike, so recreate the "
            f"topic (losing its data) or set KETENLOG_PARTITIONS={have}"
        ]
    client.create_partitions({found.topic: want})
    say(
        f"topics: {found.topic}: added partitions {have} -> {want}. This moves keys: a person "
        "key's new records may land on another partition than its earlier ones, so their order "
        "relative to the earlier ones is no longer the partition's order"
    )
    return []


def _raise_on_error(result: dict[str, dict[str, str]], topic: str) -> None:
    """alter_configs answers 'OK' or the error's text per resource."""
    answer = result.get("topic", {}).get(topic)
    if answer != "OK":
        raise InfraError(f"repairing the configuration of topic {topic} failed: {answer}")


def describe(settings: ServiceConfig, specs: list[TopicSpec] | None = None) -> list[TopicRow]:
    """Each catalogue topic with its partitions and retention, and what is wrong with it."""
    specs = catalogue() if specs is None else specs
    names = [spec.name for spec in specs]
    try:
        with admin(settings) as client:
            counts = _partition_counts(client, names)
            keys = sorted({"retention.ms", *(key for spec in specs for key in spec.config)})
            configs = _configs(client, [n for n in names if n in counts], keys)
    except KafkaError as exc:
        raise InfraError(f"describing topics on {settings.bootstrap} failed: {exc!r}") from exc
    rows = []
    for spec in specs:
        if spec.name not in counts:
            rows.append(TopicRow(spec.name, 0, "missing", "missing (`ketenlog up` creates it)"))
            continue
        have = configs.get(spec.name, {})
        # Without the time bounds the record timestamp is the publisher's word ("as known at").
        found = drift(spec, counts[spec.name], have, settings.partitions)
        problem = None
        if found.any:
            repair = (
                "`ketenlog up` repairs it"
                if not found.partitions or found.repairable_partitions
                else "partitions are never removed"
            )
            problem = "drift: " + "; ".join(found.describe()) + f" ({repair})"
        rows.append(
            TopicRow(
                spec.name, counts[spec.name], retention_text(have.get("retention.ms")), problem
            )
        )
    return rows


def end_offsets(
    settings: ServiceConfig, names: list[str], principal: str = ADMIN
) -> dict[tuple[str, int], int]:
    """The end offset of every partition of `names` now (for --until-idle and lag)."""
    consumer = KafkaConsumer(enable_auto_commit=False, **settings.kafka(principal).kafka_python())
    try:
        parts = [
            TopicPartition(name, p)
            for name in names
            for p in sorted(consumer.partitions_for_topic(name) or [])
        ]
        return {(tp.topic, tp.partition): off for tp, off in consumer.end_offsets(parts).items()}
    except KafkaError as exc:
        raise InfraError(
            f"cannot read the end offsets from Kafka at {settings.bootstrap}: {exc}"
        ) from exc
    finally:
        consumer.close()
