"""`ketenlog publish` writes a receipt per published line, and each receipt names the record that
is on the topic: its partition and offset hold that event id and person key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.codec import decode
from schemas.topics import event_topic
from tests.conftest import RunningServices
from tests.integration.kafka_tools import end_offsets, read_from
from tests.integration.pipeline import ketenlog as run_ketenlog

pytestmark = pytest.mark.integration

CHAIN_KEY = "r" * 40
START = datetime(2026, 3, 1, tzinfo=UTC)


def ketenlog(services: RunningServices, *args: str) -> subprocess.CompletedProcess[str]:
    return run_ketenlog(services, services.dsn, *args, env={"KETENLOG_CHAIN_KEY": CHAIN_KEY})


def reception(i: int, ref: str | None) -> dict[str, object]:
    row: dict[str, object] = {
        "type": "ReceptionStarted",
        "v_nummer": f"{8_800_000_000 + i:010d}",
        "occurred_at": (START + timedelta(minutes=i)).isoformat(),
        "data": {"reception_group": "ASYLUM_SEEKER"},
    }
    if ref is not None:
        row["ref"] = ref
    return row


def test_receipts_name_the_partition_and_offset_of_each_published_line(
    services: RunningServices, tmp_path: Path
) -> None:
    run = datetime.now(UTC).strftime("%H%M%S%f")
    rows = [reception(i, f"COA-RCPT-{run}-{i}") for i in range(40)]
    rows.insert(10, rows[3])  # line 11 repeats line 4: sent once
    rows.append(reception(99, None))  # no ref: a random id, known only from the receipt
    events = tmp_path / "coa.jsonl"
    events.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    topic = event_topic("COA")
    before = end_offsets(services.kafka("auditor"), topic)

    done = ketenlog(services, "publish", "--org", "COA", str(events))
    assert done.returncode == 0, done.stderr
    receipts_path = tmp_path / "coa.jsonl.receipts.jsonl"
    assert str(receipts_path) in done.stderr
    receipts = [json.loads(x) for x in receipts_path.read_text().splitlines()]
    assert [r["line"] for r in receipts] == list(range(1, len(rows) + 1))
    assert receipts[10]["duplicate_of"] == 4
    assert {k: v for k, v in receipts[10].items() if k not in ("line", "duplicate_of")} == {
        k: v for k, v in receipts[3].items() if k != "line"
    }

    landed = {
        (r.partition, r.offset): r for r in read_from(services.kafka("auditor"), topic, before)
    }
    assert len(landed) == len(rows) - 1
    placed = {(r["partition"], r["offset"]) for r in receipts}
    assert placed == set(landed), "every record on the topic has a receipt and vice versa"
    for receipt in receipts:
        record = landed[(receipt["partition"], receipt["offset"])]
        envelope = decode(record.value or b"").record["envelope"]
        assert receipt["topic"] == topic
        assert str(envelope["event_id"]) == receipt["event_id"]
        assert envelope["source_ref"] == receipt["ref"]
        assert (record.key or b"").decode() == receipt["person_key"] == envelope["person_key"]
        assert receipt["event_type"] == "ReceptionStarted"

    # The helper gives an agency the same ids without the receipts.
    first = receipts[0]
    ids = ketenlog(
        services,
        "ids",
        "--org",
        "COA",
        "--ref",
        first["ref"],
        "--v-nummer",
        str(rows[0]["v_nummer"]),
        "--format",
        "json",
    )
    assert ids.returncode == 0, ids.stderr
    assert json.loads(ids.stdout) == {
        "event_id": first["event_id"],
        "person_key": first["person_key"],
    }


def test_receipts_path_can_be_chosen_and_invalid_files_get_none(
    services: RunningServices, tmp_path: Path
) -> None:
    run = datetime.now(UTC).strftime("%H%M%S%f")
    events = tmp_path / "coa.jsonl"
    rows = [reception(i, f"COA-RCPT2-{run}-{i}") for i in range(3)]
    events.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    chosen = tmp_path / "elsewhere" / "receipts.jsonl"
    chosen.parent.mkdir()
    done = ketenlog(services, "publish", "--org", "COA", "--receipts", str(chosen), str(events))
    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["line"] for x in chosen.read_text().splitlines()] == [1, 2, 3]
    assert not (tmp_path / "coa.jsonl.receipts.jsonl").exists()

    rows[1]["data"] = {"reception_group": "TOURIST"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    refused = ketenlog(services, "publish", "--org", "COA", str(bad))
    assert refused.returncode == 1, refused.stderr
    assert not (tmp_path / "bad.jsonl.receipts.jsonl").exists(), "nothing published, no receipts"


def test_standard_input_is_published_with_receipts_and_duplicates_sent_once(
    services: RunningServices, tmp_path: Path
) -> None:
    run = datetime.now(UTC).strftime("%H%M%S%f")
    rows = [reception(i, f"COA-STDIN-{run}-{i}") for i in range(4)]
    rows.append(rows[1])  # line 5 repeats line 2
    text = "".join(json.dumps(r) + "\n" for r in rows)
    topic = event_topic("COA")
    before = end_offsets(services.kafka("auditor"), topic)
    done = subprocess.run(
        [sys.executable, "-m", "ketenlog.cli", "publish", "--org", "COA", "-"],
        input=text,
        cwd=tmp_path,
        env={
            **os.environ,
            **services.kafka_env,
            "KETENLOG_DATABASE_URL": services.dsn,
            "KETENLOG_CHAIN_KEY": CHAIN_KEY,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    receipts = [
        json.loads(x) for x in (tmp_path / "ketenlog-stdin.receipts.jsonl").read_text().splitlines()
    ]
    assert [(r["line"], r.get("duplicate_of")) for r in receipts] == [
        (1, None),
        (2, None),
        (3, None),
        (4, None),
        (5, 2),
    ]
    assert receipts[4]["offset"] == receipts[1]["offset"]
    assert len(read_from(services.kafka("auditor"), topic, before)) == 4
