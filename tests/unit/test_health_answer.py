"""The API's health resource body (ketenlog.health.answer): pass only when `ketenlog status`
would exit 0; each reason named; a fault by its kind, never its text (which may quote data);
no endpoint in it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from infra.services import ServiceState, Status, TopicRow
from ketenlog.health import Health, answer
from projections.health import STALL_AFTER, GroupHealth

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
UP = [
    ServiceState("kafka", "127.0.0.1:19092", True, "pid 1"),
    ServiceState("postgres", "postgresql://ketenlog@127.0.0.1:15432/ketenlog", True, "pid 2"),
]
TOPICS = [TopicRow("keten.ind.events", 6, "forever")]


def test_a_healthy_chain_passes_and_lists_each_group() -> None:
    groups = [
        GroupHealth("ketenlog-process", 0, NOW - timedelta(minutes=5), None, None),
        GroupHealth("other", 10, NOW - timedelta(seconds=5), None, None),
    ]
    body = answer(Health(Status(UP, TOPICS), groups, at=NOW, watched=("ketenlog-process",)))
    assert body.status == "pass" and body.problems == []
    assert [(g.group, g.watched, g.state, g.lag) for g in body.groups] == [
        ("ketenlog-process", True, "idle", 0),
        ("other", False, "working", 10),
    ]
    assert body.stall_after_seconds == STALL_AFTER.total_seconds()


def test_a_stalled_watched_group_fails_with_its_fault_kind_only() -> None:
    fault = (
        "UniqueViolation: duplicate key value violates unique constraint; Key (person_key)=(ab12)"
    )
    late = NOW - STALL_AFTER - timedelta(seconds=1)
    groups = [
        GroupHealth("ketenlog-process", 15, late, NOW - timedelta(minutes=2), fault),
        GroupHealth("old", 3, None, None, None),  # not watched: stopped, not a failure
    ]
    body = answer(Health(Status(UP, TOPICS), groups, at=NOW, watched=("ketenlog-process",)))
    assert body.status == "fail"
    assert body.problems == ["worker group ketenlog-process has stalled: 15 records waiting"]
    assert [(g.state, g.last_fault_kind) for g in body.groups] == [
        ("stalled", "UniqueViolation"),
        ("stopped", None),
    ]
    text = json.dumps(body.model_dump(mode="json"))
    assert "ab12" not in text and "127.0.0.1" not in text and "ketenlog@" not in text


def test_a_service_down_or_a_topic_amiss_fails_naming_it() -> None:
    down = [UP[0], ServiceState("postgres", "x", False, "not running")]
    body = answer(Health(Status(down, TOPICS), at=NOW))
    assert body.status == "fail" and body.problems == ["postgres is down"]
    assert [(s.name, s.up) for s in body.services] == [("kafka", True), ("postgres", False)]
    wrong = [TopicRow("keten.ind.events", 3, "forever", "3 partitions, expected 6")]
    body = answer(Health(Status(UP, wrong, ["topic keten.ind.events: 3 partitions"]), at=NOW))
    assert body.problems == ["topic keten.ind.events: 3 partitions, expected 6"]
    unknown = Health(Status(UP, TOPICS), problems=["processing health unknown: boom"], at=NOW)
    assert answer(unknown).problems == [
        "the processing's health is unknown (see `ketenlog status`)"
    ]
