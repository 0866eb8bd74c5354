"""Replay and audit against a real broker and PostgreSQL: `ketenlog verify` proves live equals
a fresh replay and names a tampered table; `ketenlog replay` swaps in a rebuild while a live
worker keeps processing, and the worker carries on on the new tables; figures and a person's
timeline as known at a moment, on the command line and the API.

Each test processes the whole shared log (what every test published) into its own database.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from producers.prepare import Preparer
from producers.pseudonym import person_key
from producers.publisher import Publisher
from producers.submission import Submission
from projections import as_known_at, checksums, queries
from projections.as_known_at import parse_moment
from projections.db import ANALYST, LIVE
from schemas.topics import event_topics
from tests.conftest import RunningServices
from tests.integration.kafka_tools import end_offsets
from tests.integration.pipeline import Published, ketenlog, process, until_idle
from tests.integration.serving import get, post, serving, tokens

pytestmark = pytest.mark.integration
# Every timeline read declares why (the read log records it).
PURPOSE = ("--purpose", "integration test of the auditors' timeline")


def live_checksums(dsn: str) -> list[checksums.Checksum]:
    with psycopg.connect(dsn) as conn:
        return checksums.checksums(conn, LIVE)


def test_verify_proves_live_equals_replay_and_names_a_tampered_table(
    services: RunningServices, published: Published, fresh_db: str
) -> None:
    group = f"verify-{uuid.uuid4().hex[:8]}"
    until_idle(services, fresh_db, group)
    done = ketenlog(services, fresh_db, "verify", "--no-chains", "--group", group)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "live projections equal a fresh replay" in done.stderr
    assert "timeline_events" in done.stdout and "coa_stays" in done.stdout

    with psycopg.connect(fresh_db) as conn:
        day, _ = conn.execute(
            "UPDATE inflow_items SET kind = CASE kind WHEN 'FIRST' THEN 'REPEAT' ELSE 'FIRST' END"
            " WHERE ctid = (SELECT min(ctid) FROM inflow_items) RETURNING day, kind"
        ).fetchone() or (None, None)
    assert day is not None, "the published period holds applications"
    tampered = ketenlog(services, fresh_db, "verify", "--no-chains", "--group", group)
    assert tampered.returncode == 1
    assert f"differs: inflow_items {day:%Y-%m}" in tampered.stderr
    # The aggregate the views read follows the items (its trigger): it differs there too.
    assert f"differs: inflow_daily {day:%Y-%m}" in tampered.stderr
    assert "2 table period(s) differ" in tampered.stderr


def test_replay_swaps_in_while_a_live_worker_runs_and_the_worker_carries_on(
    services: RunningServices, fresh_db: str
) -> None:
    group = f"swap-{uuid.uuid4().hex[:8]}"
    until_idle(services, fresh_db, group)
    before = live_checksums(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        inflow_before = conn.execute("SELECT applications FROM analyst.inflow").fetchall()

    worker = process(services, fresh_db, group)
    try:
        key = f"swap-{uuid.uuid4().hex}".encode()
        preparer = Preparer(key, services.settings.oin_prefix)
        # Published while the replay runs: the live worker takes them, the replay must not
        # lose them when it swaps.
        with Publisher(
            "IND", preparer, services.kafka("IND"), signer=services.signer("IND")
        ) as pub:
            for i in range(40):
                pub.publish(
                    Submission(
                        type="AsylumApplicationLodged",
                        v_nummer=f"{7100000000 + i}",
                        case_id=f"ZK-SWAP-{i}",
                        occurred_at=datetime(2026, 2, 1 + i % 20, 9, tzinfo=UTC),
                        ref=f"swap-{i}",
                        data={"application_type": "FIRST", "unaccompanied_minor": False},
                    )
                )
            pub.flush()
        replayed = ketenlog(services, fresh_db, "replay", "--group", group)
        assert replayed.returncode == 0, replayed.stderr[-3000:]
        assert "swapped in" in replayed.stderr
        assert "rebuilding" in replayed.stderr and "records" in replayed.stderr
        # After the swap, more events: the worker must write them into the swapped-in tables.
        with Publisher(
            "IND", preparer, services.kafka("IND"), signer=services.signer("IND")
        ) as pub:
            pub.publish(
                Submission(
                    type="AsylumApplicationLodged",
                    v_nummer="7199999999",
                    case_id="ZK-SWAP-LAST",
                    occurred_at=datetime(2026, 2, 25, 9, tzinfo=UTC),
                    ref="swap-last",
                    data={"application_type": "FIRST", "unaccompanied_minor": False},
                )
            )
            pub.flush()
        _wait_for_positions(fresh_db, group, services)
    finally:
        worker.terminate()
        out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, out[-3000:]

    keys = {person_key(f"{7100000000 + i}", key) for i in range(40)}
    keys.add(person_key("7199999999", key))
    with psycopg.connect(fresh_db) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM inflow_items WHERE person_key = ANY(%s)", (sorted(keys),)
        ).fetchone()
        inflow_after = conn.execute("SELECT applications FROM analyst.inflow").fetchall()
        leftovers = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ketenlog_%'"
        ).fetchall()
    assert stored == (41,), "every application published around the swap is counted once"
    # Through the analysts' view too: exactly the 41 applications were added (the view groups
    # by dimensions, so compare its counts, not its rows).
    assert _applications(inflow_after) - _applications(inflow_before) == 41
    assert leftovers == [], "the replay schema was swapped in, not left behind"
    assert before != live_checksums(fresh_db), "the new events are in the live tables"

    # And the result is what a replay of the whole log gives: verify passes.
    verified = ketenlog(services, fresh_db, "verify", "--no-chains", "--group", group)
    assert verified.returncode == 0, verified.stderr[-3000:]


def _applications(rows: list[tuple[int]]) -> int:
    return sum(n for (n,) in rows)


def _wait_for_positions(dsn: str, group: str, services: RunningServices) -> None:

    ends = {
        (t, p): o
        for t in event_topics()
        for p, o in end_offsets(services.kafka("auditor"), t).items()
    }
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(
                "SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer = %s",
                (group,),
            ).fetchall()
        stored = {(t, p): o for t, p, o in rows}
        if all(stored.get(tp, 0) >= end for tp, end in ends.items() if end > 0):
            return
        time.sleep(1)
    pytest.fail("the live worker did not reach the end of the log after the swap")


# The example: occupancy on 1 March as reported on 2 March differs from occupancy on
# 1 March as known today when a late placement was published on 5 March. Set in a year before
# 2020, where no other test's data lives, drawn per run: a log that already holds an earlier
# run (a developer's) would count that run's persons too. System time is the broker's, not the
# events' recorded_at: the three publications (on time, late, the correction) are made one
# after the other, and the moments between them stand for 2 March and 5 March 10:59.
YEAR = 1995 + uuid.uuid4().int % 25
DAY = date(YEAR, 3, 1)


def _placements(key: bytes) -> list[tuple[Submission, bool]]:
    """Five persons placed in an AZC on 20 February (published then), five more placed on 27
    February but published only on 5 March (late: True)."""
    out: list[tuple[Submission, bool]] = []

    def at(day: int, month: int = 2) -> datetime:
        return datetime(YEAR, month, day, 10, tzinfo=UTC)

    for i in range(10):
        late = i >= 5
        occurred = at(27) if late else at(20)
        recorded = at(5, 3) if late else occurred
        v = f"{5500000000 + i}"
        out.append(
            (
                Submission(
                    type="ReceptionStarted",
                    v_nummer=v,
                    case_id=f"ZK-ASOF-{i}",
                    occurred_at=occurred,
                    recorded_at=recorded,
                    ref=f"asof-start-{i}",
                    data={"reception_group": "ASYLUM_SEEKER"},
                ),
                late,
            )
        )
        out.append(
            (
                Submission(
                    type="PlacedAtLocation",
                    v_nummer=v,
                    case_id=f"ZK-ASOF-{i}",
                    occurred_at=occurred,
                    recorded_at=recorded,
                    ref=f"asof-place-{i}",
                    data={"location_id": "AZC-TEST", "location_type": "AZC"},
                ),
                late,
            )
        )
    return out


def _between() -> datetime:
    """A moment after everything published so far and before anything published next (the
    broker's clock has millisecond steps)."""
    time.sleep(0.05)
    moment = datetime.now(UTC)
    time.sleep(0.05)
    return moment


def _publish_as_known_at_example(
    services: RunningServices,
) -> tuple[bytes, str, datetime, datetime]:
    """The chain key, the first person's key, and the moments standing for 2 March (after the
    on-time placements) and 5 March 10:59 (after the late ones, before the correction)."""
    key = f"asof-{uuid.uuid4().hex}".encode()
    preparer = Preparer(key, services.settings.oin_prefix)
    placements = _placements(key)
    with Publisher("COA", preparer, services.kafka("COA"), signer=services.signer("COA")) as pub:
        ids = [pub.publish(sub) for sub, late in placements if not late]
        pub.flush()
        reported = _between()
        for sub, late in placements:
            if late:
                pub.publish(sub)
        pub.flush()
        before_correction = _between()
        pub.publish(
            Submission(
                type="PlacedAtLocation",
                v_nummer="5500000000",
                case_id="ZK-ASOF-0",
                occurred_at=datetime(YEAR, 2, 20, 10, tzinfo=UTC),
                recorded_at=datetime(YEAR, 3, 5, 11, tzinfo=UTC),
                ref="asof-place-0-c",
                corrects=ids[1],
                data={"location_id": "POL-TEST", "location_type": "POL"},
            )
        )
        pub.flush()
    return key, person_key("5500000000", key), reported, before_correction


def occupancy(dsn: str, known_at: datetime | None) -> dict[str, int]:
    with psycopg.connect(dsn) as conn, conn.transaction(force_rollback=True):
        views = ANALYST if known_at is None else as_known_at.prepare(conn, known_at)
        _, rows = queries.run(
            conn, "occupancy", period="day", by=["location_type"], start=DAY, end=DAY, views=views
        )
    return {str(r[1]): int(r[2]) for r in rows}


def test_occupancy_as_known_at_a_moment_and_the_auditors_timeline(
    services: RunningServices, fresh_db: str, tmp_path: Path
) -> None:
    _, first, reported, before_correction = _publish_as_known_at_example(services)
    until_idle(services, fresh_db, f"asof-{uuid.uuid4().hex[:8]}")

    assert occupancy(fresh_db, reported) == {"AZC": 5}
    assert occupancy(fresh_db, None) == {"AZC": 9, "POL": 1}
    assert occupancy(fresh_db, before_correction) == {"AZC": 10}
    # The events' own recorded_at (20 February, 5 March) is the publisher's word, not when
    # the chain knew them: as known on 2 March of their year, nothing was known yet.
    assert occupancy(fresh_db, parse_moment(f"{YEAR}-03-02")) == {}
    moment = reported.isoformat().replace("+00:00", "Z")

    # The same on the command line, with disclosure control: 5 with a noise of at most 2 is 3
    # to 7, so suppressed (the row left out) or 5; 9 is 7 to 11, so 5 or 10; 1 is suppressed.
    args = ["query", "occupancy", "--by", "day,location_type", "--from", f"{YEAR}-03-01"]
    args += ["--to", f"{YEAR}-03-01", "--format", "json"]
    then = ketenlog(services, fresh_db, *args, "--as-known-at", moment)
    now = ketenlog(services, fresh_db, *args)
    assert then.returncode == 0 and now.returncode == 0, then.stderr + now.stderr
    assert _by_type(json.loads(then.stdout)) in ({"AZC": 5}, {})
    shown = _by_type(json.loads(now.stdout))
    assert set(shown) == {"AZC"} and shown["AZC"] in (5, 10)

    timeline = ketenlog(services, fresh_db, "timeline", first, "--format", "json", *PURPOSE)
    assert timeline.returncode == 0, timeline.stderr
    seen = json.loads(timeline.stdout)
    statuses = [e["status"] for e in seen["events"]]
    assert any(s.startswith("corrected by ") for s in statuses)
    assert any(s.startswith("corrects ") for s in statuses)
    assert [s["to"] for s in seen["states"] if s["lifecycle"] == "RECEPTION"]
    earlier = ketenlog(
        services, fresh_db, "timeline", first, "--format", "json", "--as-known-at", moment, *PURPOSE
    )
    assert [e["status"] for e in json.loads(earlier.stdout)["events"]] == ["as recorded"] * 2

    store, token = tokens(tmp_path, "auditor", "analyst")
    with serving(fresh_db, **store) as base:
        url = f"{base}/v1/bezetting?periode=dag&indeling=location_type&van={YEAR}-03-01"
        url += f"&tot={YEAR}-03-01"
        status, _, body = get(f"{url}&bekend-op={moment}")
        assert status == 200, body
        assert _by_type(json.loads(body)["resultaten"]) == _by_type(json.loads(then.stdout))
        status, _, body = get(url)
        # The API publishes what `ketenlog query` does: one method, one server key.
        assert _by_type(json.loads(body)["resultaten"]) == shown
        status, _, body = get(f"{url}&bekend-op=gisteren")
        assert status == 400 and json.loads(body)["invalidParams"][0]["name"] == "bekend-op"

        request = json.dumps({"persoon": first, "doel": "replay test"}).encode()
        json_type = {"Content-Type": "application/json"}
        assert post(f"{base}/v1/audit/tijdlijn", request, **json_type)[0] == 401
        wrong = {**json_type, "Authorization": "Bearer guess"}
        assert post(f"{base}/v1/audit/tijdlijn", request, **wrong)[0] == 401
        analyst = {**json_type, "Authorization": token["analyst"]}
        assert post(f"{base}/v1/audit/tijdlijn", request, **analyst)[0] == 403
        auditor = {**json_type, "Authorization": token["auditor"]}
        status, headers, body = post(f"{base}/v1/audit/tijdlijn", request, **auditor)
        assert status == 200, body
        assert json.loads(body) == seen, "the API gives the auditor what the command line gives"
        assert first not in url and "API-Version" in headers


def _by_type(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {r["location_type"]: r["persons"] for r in rows}
