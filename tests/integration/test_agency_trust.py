"""What one organisation cannot do to another's figures through the normal `ketenlog publish`:
retract or correct another organisation's events (refused: a dead letter and an anomaly, no
figure moves, replay equals live), and backdate what the chain knew (as known at rests on the
broker's time, not on `recorded_at`)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from producers.identity import event_id
from producers.pseudonym import person_key
from projections import as_known_at, checksums, queries
from projections.db import ANALYST, LIVE
from schemas.topics import DEADLETTER, TIMELINE, event_topic
from tests.conftest import RunningServices
from tests.integration.kafka_tools import end_offsets, read_from
from tests.integration.pipeline import ketenlog, until_idle

pytestmark = pytest.mark.integration
# Every timeline read declares why (the read log records it).
PURPOSE = ("--purpose", "integration test of the auditors' timeline")

# Valid time in a year before 2020, drawn per run, where no other test's data lives.
YEAR = 1995 + uuid.uuid4().int % 25
# The refusals are recorded as anomalies: these tables move (anomalies_daily is the per-day
# count of the anomalies, migration 017), no other figure may.
FIGURES = {"timeline_events", "anomalies", "anomalies_daily", "person_state", "consumer_positions"}


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _publish(services: RunningServices, dsn: str, org: str, path: Path, key: str) -> None:
    done = ketenlog(
        services, dsn, "publish", "--org", org, str(path), env={"KETENLOG_CHAIN_KEY": key}
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _figures(dsn: str) -> list[checksums.Checksum]:
    """Every derived table but those that hold the facts and anomalies themselves."""
    with psycopg.connect(dsn) as conn:
        return [c for c in checksums.checksums(conn, LIVE) if c.table not in FIGURES]


def _decisions(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        _, rows = queries.run(
            conn,
            "decisions",
            period="year",
            by=["outcome"],
            start=date(YEAR, 1, 1),
            end=date(YEAR, 12, 31),
            views=ANALYST,
        )
    return rows


def test_coa_cannot_retract_or_correct_an_ind_decision(
    services: RunningServices, fresh_db: str, tmp_path: Path
) -> None:
    key = f"trust-{uuid.uuid4().hex}"
    tag = uuid.uuid4().hex[:8]

    def at(day: int) -> str:
        return datetime(YEAR, 3, day, 10, tzinfo=UTC).isoformat()

    ind: list[dict[str, Any]] = []
    for i in range(5):
        v, case = f"57000000{i:02d}", f"ZK-TRUST-{tag}-{i}"
        common = {"v_nummer": v, "case_id": case}
        ind += [
            {
                **common,
                "type": "AsylumApplicationLodged",
                "occurred_at": at(1),
                "ref": f"IND-{tag}-lodged-{i}",
                "data": {"application_type": "FIRST", "unaccompanied_minor": False},
            },
            {
                **common,
                "type": "TrackAssigned",
                "occurred_at": at(2),
                "ref": f"IND-{tag}-track-{i}",
                "data": {"track": "GENERAL"},
            },
            {
                **common,
                "type": "DecisionIssued",
                "occurred_at": at(20),
                "ref": f"IND-{tag}-decision-{i}",
                "data": {"outcome": "GRANTED", "status": "A"},
            },
        ]
    _publish(services, fresh_db, "IND", _write(tmp_path / "ind.jsonl", ind), key)
    group = f"trust-{uuid.uuid4().hex[:8]}"
    until_idle(services, fresh_db, group)
    before, decided = _figures(fresh_db), _decisions(fresh_db)
    assert [(r[1], r[2]) for r in decided] == [("A", 5)], "five GRANTED, status A"

    # COA retracts four decisions and "corrects" the fifth with an event of its own.
    coa: list[dict[str, Any]] = [
        {
            "type": "EventRetracted",
            "v_nummer": f"57000000{i:02d}",
            "case_id": f"ZK-TRUST-{tag}-{i}",
            "occurred_at": at(21),
            "ref": f"COA-{tag}-r-{i}",
            "retracts": event_id("IND", f"IND-{tag}-decision-{i}"),
            "data": {"reason": "RECORDED_IN_ERROR"},
        }
        for i in range(4)
    ]
    coa.append(
        {
            "type": "ReceptionStarted",
            "v_nummer": "5700000004",
            "case_id": f"ZK-TRUST-{tag}-4",
            "occurred_at": at(20),
            "ref": f"COA-{tag}-c-4",
            "corrects": event_id("IND", f"IND-{tag}-decision-4"),
            "data": {"reception_group": "ASYLUM_SEEKER"},
        }
    )
    refused = {event_id("COA", line["ref"]) for line in coa}
    dead_before = end_offsets(services.kafka("auditor"), DEADLETTER)
    timeline_before = end_offsets(services.kafka("auditor"), TIMELINE)
    _publish(services, fresh_db, "COA", _write(tmp_path / "coa.jsonl", coa), key)
    until_idle(services, fresh_db, group)

    assert _figures(fresh_db) == before, "no figure moved"
    assert _decisions(fresh_db) == decided
    persons = [person_key(f"57000000{i:02d}", key.encode()) for i in range(5)]
    with psycopg.connect(fresh_db) as conn:
        kinds = conn.execute(
            "SELECT event_id::text, kind, detail FROM anomalies WHERE person_key = ANY(%s)"
            " AND kind = 'FOREIGN_CORRECTION'",
            (persons,),
        ).fetchall()
    assert {e for e, _, _ in kinds} == refused
    assert all("an event of IND" in detail for _, _, detail in kinds)

    coa_topic = event_topic("COA").encode()
    letters = [
        dict(d.headers)
        for d in read_from(services.kafka("auditor"), DEADLETTER, dead_before)
        if dict(d.headers).get("dl_source_topic") == coa_topic
    ]
    assert {h["ce_id"].decode() for h in letters} == refused
    assert {h["dl_reason"] for h in letters} == {b"FOREIGN_CORRECTION"}
    on_timeline = {
        dict(r.headers)["ce_id"].decode()
        for r in read_from(services.kafka("auditor"), TIMELINE, timeline_before)
    }
    assert not on_timeline & refused, "a refused correction never reaches keten.timeline"
    listed = ketenlog(services, fresh_db, "deadletter", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("FOREIGN_CORRECTION") >= len(refused)

    timeline = ketenlog(services, fresh_db, "timeline", persons[0], "--format", "json", *PURPOSE)
    statuses = [e["status"] for e in json.loads(timeline.stdout)["events"]]
    assert any(s.startswith("refused: retracts ") for s in statuses), statuses

    # Replay equals live: the same facts, figures and anomalies, and the timeline audit holds.
    verified = ketenlog(services, fresh_db, "verify", "--no-chains", "--group", group)
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]


def test_a_backdated_record_does_not_reach_into_the_past_of_as_known_at(
    services: RunningServices, fresh_db: str, tmp_path: Path
) -> None:
    key = f"backdated-{uuid.uuid4().hex}"
    tag = uuid.uuid4().hex[:8]
    location = f"AZC-{tag}"
    year_ago = datetime.now(UTC) - timedelta(days=365)
    valid = datetime(YEAR, 6, 1, 10, tzinfo=UTC)
    lines: list[dict[str, Any]] = []
    for i in range(5):
        common = {
            "v_nummer": f"58000000{i:02d}",
            "case_id": f"ZK-BACK-{tag}-{i}",
            "occurred_at": valid.isoformat(),
            "recorded_at": year_ago.isoformat(),
        }
        lines += [
            {
                **common,
                "type": "ReceptionStarted",
                "ref": f"COA-{tag}-s-{i}",
                "data": {"reception_group": "ASYLUM_SEEKER"},
            },
            {
                **common,
                "type": "PlacedAtLocation",
                "ref": f"COA-{tag}-p-{i}",
                "data": {"location_id": location, "location_type": "AZC"},
            },
            # Ended the next day, so no other test's figure of a later day counts them.
            {
                **common,
                "occurred_at": (valid + timedelta(days=1)).isoformat(),
                "type": "ReceptionEnded",
                "ref": f"COA-{tag}-e-{i}",
                "data": {"reason": "DEPARTED"},
            },
        ]
    before_publication = datetime.now(UTC)
    time.sleep(0.05)
    _publish(services, fresh_db, "COA", _write(tmp_path / "late.jsonl", lines), key)
    until_idle(services, fresh_db, f"backdated-{uuid.uuid4().hex[:8]}")

    def residents(known_at: datetime | None) -> int:
        """Persons at the location at the end of the valid day."""
        with psycopg.connect(fresh_db) as conn, conn.transaction(force_rollback=True):
            views = ANALYST if known_at is None else as_known_at.prepare(conn, known_at)
            columns, rows = queries.run(
                conn,
                "residents",
                period="day",
                by=["location_id"],
                start=valid.date(),
                end=valid.date(),
                views=views,
            )
        at = columns.index("location_id")
        return sum(int(r[at + 1]) for r in rows if r[at] == location)

    assert residents(None) == 5
    assert residents(year_ago + timedelta(days=1)) == 0, "recorded_at is not the system time"
    assert residents(before_publication) == 0

    args = ["query", "residents", "--by", "day,location_id", "--format", "json"]
    args += ["--from", valid.date().isoformat(), "--to", valid.date().isoformat()]
    # The published figure without the cell key's noise, so that 5 is shown as 5: the test is
    # about system time, not disclosure control.
    exact = {"KETENLOG_DISCLOSURE_NOISE": "0"}
    then = ketenlog(
        services, fresh_db, *args, "--as-known-at", before_publication.isoformat(), env=exact
    )
    now = ketenlog(services, fresh_db, *args, env=exact)
    assert then.returncode == 0 and now.returncode == 0, then.stderr + now.stderr

    def ours(out: str) -> list[Any]:
        return [r["persons"] for r in json.loads(out) if r["location_id"] == location]

    assert ours(then.stdout) == []
    assert ours(now.stdout) == [5]
