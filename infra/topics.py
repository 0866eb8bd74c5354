"""Topic creation and description from the one catalogue (schemas.topics), via kafka-python's admin.

Sits under infra.services; works the same on the local broker and on an existing Kafka.
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
from schemas.access import ADMIN
from schemas.topics import BROKER_TIME, TopicSpec, catalogue

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
    """Create every missing catalogue topic; existing topics are left untouched.

    Returns the problems found (an existing topic whose partition count differs from
    settings.partitions); an empty list means every topic is as the catalogue wants it.
    """
    specs = catalogue() if specs is None else specs
    names = [spec.name for spec in specs]
    problems: list[str] = []
    try:
        with admin(settings) as client:
            existing = _partition_counts(client, names)
            missing = [spec for spec in specs if spec.name not in existing]
            if missing:
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
                    f"topics: created {len(missing)} "
                    f"({settings.partitions} partitions each): "
                    + ", ".join(spec.name for spec in missing)
                )
            present = len(specs) - len(missing)
            if present:
                say(f"topics: {present} already existed, left as they are")
            for name, count in existing.items():
                if count != settings.partitions:
                    problems.append(
                        f"topic {name} has {count} partitions, KETENLOG_PARTITIONS is "
                        f"{settings.partitions}: all topics must be partitioned alike; "
                        "recreate the topic (losing its data) or set KETENLOG_PARTITIONS="
                        f"{count}"
                    )
    except KafkaError as exc:
        raise InfraError(
            f"talking to Kafka at {settings.bootstrap} failed while creating topics: {exc!r}"
        ) from exc
    return problems


def describe(settings: ServiceConfig, specs: list[TopicSpec] | None = None) -> list[TopicRow]:
    """Each catalogue topic with its partitions and retention, and what is wrong with it."""
    specs = catalogue() if specs is None else specs
    names = [spec.name for spec in specs]
    try:
        with admin(settings) as client:
            counts = _partition_counts(client, names)
            keys = sorted({"retention.ms", *BROKER_TIME})
            configs = _configs(client, [n for n in names if n in counts], keys)
    except KafkaError as exc:
        raise InfraError(f"describing topics on {settings.bootstrap} failed: {exc!r}") from exc
    rows = []
    for spec in specs:
        if spec.name not in counts:
            rows.append(TopicRow(spec.name, 0, "missing", "missing (`ketenlog up` creates it)"))
            continue
        count = counts[spec.name]
        retention_ms = configs.get(spec.name, {}).get("retention.ms")
        problem = None
        if count != settings.partitions:
            problem = f"{count} partitions, KETENLOG_PARTITIONS is {settings.partitions}"
        elif "retention.ms" in spec.config and retention_ms != spec.config["retention.ms"]:
            problem = f"retention.ms {retention_ms}, catalogue says {spec.config['retention.ms']}"
        else:
            # Without the bounds the record timestamp is the publisher's word ("as known at").
            have = configs.get(spec.name, {})
            drift = [k for k in BROKER_TIME if k in spec.config and have.get(k) != spec.config[k]]
            if drift:
                problem = ", ".join(
                    f"{k} {have.get(k)}, catalogue says {spec.config[k]}" for k in drift
                )
        rows.append(TopicRow(spec.name, count, retention_text(retention_ms), problem))
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
