"""infra.topic_drift: what counts as drift of a catalogue topic, and how it is named."""

from __future__ import annotations

from infra.topic_drift import drift
from schemas.topics import TopicSpec

SPEC = TopicSpec("keten.x.events", "test", {"retention.ms": "-1", "cleanup.policy": "delete"})


def test_a_topic_as_the_catalogue_says_has_no_drift() -> None:
    found = drift(SPEC, 6, {"retention.ms": "-1", "cleanup.policy": "delete", "other": "1"}, 6)
    assert not found.any


def test_a_changed_config_is_drift_with_both_values() -> None:
    found = drift(SPEC, 6, {"retention.ms": "3600000", "cleanup.policy": "delete"}, 6)
    assert found.configs == {"retention.ms": ("3600000", "-1")}
    assert found.describe() == ["retention.ms 3600000, catalogue says -1"]


def test_a_missing_config_is_drift() -> None:
    assert drift(SPEC, 6, {"retention.ms": "-1"}, 6).configs == {"cleanup.policy": (None, "delete")}


def test_fewer_partitions_can_be_repaired_more_cannot() -> None:
    fewer = drift(SPEC, 3, {"retention.ms": "-1", "cleanup.policy": "delete"}, 6)
    more = drift(SPEC, 8, {"retention.ms": "-1", "cleanup.policy": "delete"}, 6)
    assert fewer.partitions == (3, 6) and fewer.repairable_partitions
    assert more.partitions == (8, 6) and not more.repairable_partitions
    assert more.describe() == ["8 partitions, KETENLOG_PARTITIONS is 6"]
