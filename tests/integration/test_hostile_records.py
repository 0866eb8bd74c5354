"""Hostile records from a plain Kafka client against the real broker and PostgreSQL: each one a
dead letter with its reason, the worker finishes (`--until-idle`), and verify and replay pass on
the log that holds them. The publisher path refuses the same values before sending, naming the
field (tests/unit/test_timeline_gate.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from kafka import KafkaProducer

from processors.checks import partition_of
from producers.prepare import Prepared, Preparer
from producers.submission import Submission
from schemas.codec import default_codec
from schemas.topics import DEADLETTER, event_topic
from tests.conftest import RunningServices
from tests.integration.kafka_tools import end_offsets, read_from, signed
from tests.integration.pipeline import ketenlog, until_idle

pytestmark = pytest.mark.integration


def _hostile(prepared: Prepared, change: Any) -> bytes:
    codec = default_codec()
    decoded = codec.decode(prepared.value)
    change(decoded.record)
    return codec.encode(decoded.event_type, decoded.record, check=False)


def test_hostile_records_are_dead_letters_and_the_audit_still_passes(
    services: RunningServices, fresh_db: str
) -> None:
    preparer = Preparer(f"hostile-{uuid.uuid4().hex}".encode(), services.settings.oin_prefix)
    now = datetime.now(UTC) - timedelta(hours=1)
    partitions = services.settings.partitions

    def started(v: str) -> Prepared:
        return preparer.prepare(
            "COA",
            Submission(
                type="ReceptionStarted",
                v_nummer=v,
                occurred_at=now,
                ref=f"H-{uuid.uuid4().hex}",
                data={"reception_group": "ASYLUM_SEEKER"},
            ),
        )

    existing = started("5600000001")
    later = started("5600000001")  # the same person again: an existing person's record
    nul = started("5600000002")
    long = started("5600000003")
    liar = started("5600000004")
    topic = event_topic("COA")

    def case_id(value: str) -> Any:
        return lambda r: r["envelope"].__setitem__("case_id", value)

    right = partition_of(later.key, partitions)
    hostile: dict[str, tuple[int, bytes | None, bytes, list[tuple[str, bytes]]]] = {
        "NUL": (
            partition_of(nul.key, partitions),
            nul.key,
            _hostile(nul, case_id("C\x001")),
            nul.headers,
        ),
        "LONG": (
            partition_of(long.key, partitions),
            long.key,
            _hostile(long, case_id("C" * 9000)),
            long.headers,
        ),
        "WRONG_PARTITION": ((right + 1) % partitions, later.key, later.value, later.headers),
        "NO_KEY": (0, None, liar.value, liar.headers),
        "HEADERS": (
            partition_of(liar.key, partitions),
            liar.key,
            liar.value,
            [
                (n, b"nl.vreemdelingen.besluit-genomen.v1" if n == "ce_type" else v)
                for n, v in liar.headers
            ],
        ),
    }
    expected = {
        "NUL": "CONTRACT_VIOLATION",
        "LONG": "CONTRACT_VIOLATION",
        "WRONG_PARTITION": "WRONG_PARTITION",
        "NO_KEY": "NO_KEY",
        "HEADERS": "HEADERS_CONTRADICT_BODY",
    }
    dead_before = end_offsets(services.kafka("auditor"), DEADLETTER)
    producer = KafkaProducer(acks="all", **services.kafka("COA").kafka_python())
    producer.send(
        topic,
        key=existing.key,
        value=existing.value,
        headers=signed(
            services.signer("COA"), topic, existing.key, existing.value, existing.headers
        ),
    ).get(30)
    sent: dict[str, tuple[int, int]] = {}
    for name, (partition, key, value, headers) in hostile.items():
        meta = producer.send(topic, key=key, value=value, headers=headers, partition=partition).get(
            timeout=30
        )
        sent[name] = (meta.partition, meta.offset)
    producer.close()

    group = f"hostile-{uuid.uuid4().hex[:8]}"
    until_idle(services, fresh_db, group)

    reasons: dict[tuple[int, int], str] = {}
    for letter in read_from(services.kafka("auditor"), DEADLETTER, dead_before):
        h = dict(letter.headers)
        if h.get("dl_source_topic") == topic.encode():
            reasons[(int(h["dl_source_partition"]), int(h["dl_source_offset"]))] = h[
                "dl_reason"
            ].decode()
    assert {name: reasons.get(where) for name, where in sent.items()} == expected
    with psycopg.connect(fresh_db) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM timeline_events WHERE person_key = %s",
            (existing.key.decode(),),
        ).fetchone()
    assert stored == (1,), "the person's record on the right partition is stored, once"

    # The misplaced record used to make every replay and verify fail on a duplicate key.
    verified = ketenlog(services, fresh_db, "verify", "--no-chains", "--group", group)
    assert verified.returncode == 0, verified.stderr[-3000:]
    replayed = ketenlog(services, fresh_db, "replay", "--group", group)
    assert replayed.returncode == 0, replayed.stderr[-3000:]
