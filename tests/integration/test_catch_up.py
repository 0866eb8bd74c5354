"""The timeline processor's catch-up at batch speed against a real broker and PostgreSQL: a
processor far behind the log rebuilds with the replay's path, sends what the live path would
have sent (the timeline, the dead letters), swaps the tables in and carries on live. Checked
against a live-only processor of the same log, checksum for checksum, before and after more
records arrive (no gap, no double count).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from kafka import KafkaProducer

from producers.prepare import Preparer
from producers.publisher import Publisher
from producers.submission import Submission
from projections import checksums, replay_store
from projections.db import LIVE
from schemas.topics import DEADLETTER, TIMELINE, event_topic
from tests.conftest import RunningServices
from tests.integration.kafka_tools import end_offsets, read_from
from tests.integration.pipeline import Published, until_idle
from tests.integration.scratch_db import scratch_database

pytestmark = pytest.mark.integration
CATCH_UP_LINE = "catching up at batch speed"


def _sums(dsn: str, group: str) -> tuple[list[checksums.Checksum], dict[tuple[str, int], int]]:
    """Every table's checksums but the positions' (they name the group), and the positions."""
    with psycopg.connect(dsn) as conn:
        sums = [c for c in checksums.checksums(conn, LIVE) if c.table != "consumer_positions"]
        return sums, replay_store.positions(conn, LIVE, group)


def _lodged(preparer: Preparer, services: RunningServices, tag: str, n: int) -> set[str]:
    """`n` new applications on the IND topic; their event ids."""
    with Publisher("IND", preparer, services.kafka("IND"), signer=services.signer("IND")) as pub:
        ids = [
            pub.publish(
                Submission(
                    type="AsylumApplicationLodged",
                    v_nummer=f"{7300000000 + i}",
                    case_id=f"ZK-{tag}-{i}",
                    occurred_at=datetime(2026, 3, 1 + i % 25, 9, tzinfo=UTC),
                    ref=f"{tag}-{i}",
                    data={"application_type": "FIRST", "unaccompanied_minor": False},
                )
            )
            for i in range(n)
        ]
        pub.flush()
    return set(ids)


def test_a_processor_far_behind_catches_up_at_batch_speed_then_continues_live(
    services: RunningServices, published: Published, fresh_db: str
) -> None:
    preparer = Preparer(f"catch-up-{uuid.uuid4().hex}".encode(), services.settings.oin_prefix)
    auditor = services.kafka("auditor")
    timeline_before = end_offsets(auditor, TIMELINE)
    dead_before = end_offsets(auditor, DEADLETTER)
    # Records no processor has seen yet: one to the timeline per event, and one dead letter.
    fresh = _lodged(preparer, services, "CU", 30)
    producer = KafkaProducer(acks="all", **services.kafka("IND").kafka_python())
    empty = producer.send(event_topic("IND"), key=b"c" * 64, value=b"").get(timeout=30)
    producer.close()

    group = f"catch-up-{uuid.uuid4().hex[:8]}"
    out = until_idle(services, fresh_db, group, "--catch-up-over", "1")
    assert CATCH_UP_LINE in out, out[-3000:]
    assert "caught up; the rebuilt projections are live" in out

    sent = [
        dict(r.headers).get("ce_id", b"").decode()
        for r in read_from(auditor, TIMELINE, timeline_before)
    ]
    assert fresh <= set(sent), "every new event reached the timeline"
    letters = [dict(r.headers) for r in read_from(auditor, DEADLETTER, dead_before)]
    assert any(
        h.get("dl_source_topic") == event_topic("IND").encode()
        and h.get("dl_source_offset") == str(empty.offset).encode()
        and h.get("dl_reason") == b"EMPTY"
        for h in letters
    ), "the empty record became a dead letter, as on the live path"

    with scratch_database(services.dsn) as live_db:
        live_group = f"live-{uuid.uuid4().hex[:8]}"
        live_out = until_idle(services, live_db, live_group)
        assert CATCH_UP_LINE not in live_out
        sums, positions = _sums(fresh_db, group)
        assert positions, "the catch-up stored its positions"
        assert (sums, positions) == _sums(live_db, live_group), "equal to the live path's"

        # More records, a small share of the log: processed live, from the swapped-in state.
        more = _lodged(preparer, services, "CU2", 5)
        again = until_idle(services, fresh_db, group, "--catch-up-over", "1")
        assert CATCH_UP_LINE not in again, "a small backlog goes the live path"
        until_idle(services, live_db, live_group)
        assert _sums(fresh_db, group) == _sums(live_db, live_group), "no gap, no double count"
    with psycopg.connect(fresh_db) as conn:
        stored = {
            str(e)
            for (e,) in conn.execute(
                "SELECT event_id FROM timeline_events WHERE event_id = ANY(%s::uuid[])",
                (sorted(fresh | more),),
            )
        }
    assert stored == fresh | more
