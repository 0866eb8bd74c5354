"""Helpers for the hash-chain tests: a topic of the test's own, and reception events
published onto it with the real publisher."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from infra import topics
from producers.prepare import Preparer
from producers.publisher import Publisher, Receipt
from producers.submission import Submission
from schemas.topics import RETAIN_FOREVER, TopicSpec
from tests.conftest import RunningServices


def fresh_topic(services: RunningServices) -> str:
    name = f"test.chain.{uuid.uuid4().hex[:8]}"
    spec = TopicSpec(name, "chain test", dict(RETAIN_FOREVER))
    assert topics.ensure(services.settings, lambda _: None, [spec]) == []
    return name


def publish(services: RunningServices, topic: str, key: bytes, refs: range) -> list[Receipt]:
    with Publisher(
        "COA",
        Preparer(key, services.settings.oin_prefix),
        services.kafka("admin"),
        topic=topic,
        signer=services.signer("COA"),
    ) as pub:
        for i in refs:
            pub.publish(
                Submission(
                    type="ReceptionStarted",
                    v_nummer=f"{6700000000 + i}",
                    occurred_at=datetime(2026, 1, 10, tzinfo=UTC),
                    ref=f"vc-{uuid.uuid4().hex[:8]}-{i}",
                    data={"reception_group": "ASYLUM_SEEKER"},
                )
            )
        return pub.flush()
