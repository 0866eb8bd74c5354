"""`publish_file` streams: chunks are sent and flushed one after another; a broker that stops
acknowledging mid-file leaves the rest — later chunks included — in the unacked file, the
acknowledged lines (and their duplicates, even later ones) in the receipts; an invalid line
stops the file before anything is sent unless `skip_invalid`. The broker side is a stand-in
publisher that fails from a chosen flush on (a unit test; the real broker's death mid-file is
in tests/integration/test_publish.py)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from producers import file_publish
from producers.file_publish import Outcome, Paths, publish_file
from producers.prepare import Prepared, Preparer
from producers.publisher import Failure, Publisher, PublishError, Receipt
from schemas.topics import Org

KEY = b"s" * 32
OIN = "urn:nld:oin:00000000000000000000"
START = datetime(2026, 3, 1, tzinfo=UTC)


class StandIn:
    """Acknowledges every flush before `fail_at` (counted from 1), none from there on."""

    def __init__(self, fail_at: int | None) -> None:
        self.fail_at = fail_at
        self.flushes = 0
        self.pending: list[Prepared] = []
        self.sent: list[str] = []
        self.offset = 0

    def send_prepared(self, prepared: Prepared) -> None:
        self.pending.append(prepared)

    def flush(self) -> list[Receipt]:
        self.flushes += 1
        pending, self.pending = self.pending, []
        if self.fail_at is not None and self.flushes >= self.fail_at:
            failures = [Failure(p.event_id, p.event_type, p.source_ref, "dead") for p in pending]
            raise PublishError(failures, [])
        receipts = []
        for p in pending:
            receipts.append(
                Receipt(p.event_id, p.event_type, "keten.coa.events", 0, self.offset, "k")
            )
            self.sent.append(p.event_id)
            self.offset += 1
        return receipts

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def row(i: int) -> str:
    return json.dumps(
        {
            "type": "ReceptionStarted",
            "v_nummer": f"{8_800_000_000 + i:010d}",
            "occurred_at": (START + timedelta(minutes=i)).isoformat(),
            "ref": f"COA-S-{i}",
            "data": {"reception_group": "ASYLUM_SEEKER"},
        }
    )


def run(
    tmp_path: Path, lines: list[str], stand_in: StandIn, *, skip_invalid: bool = False
) -> tuple[Outcome, list[str]]:
    source = tmp_path / "coa.jsonl"
    source.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    said: list[str] = []
    outcome = publish_file(
        Org.COA,
        str(source),
        Paths.beside(str(source)),
        Preparer(KEY, OIN),
        lambda: cast(Publisher, stand_in),
        skip_invalid=skip_invalid,
        say=said.append,
        progress=file_publish._Quiet,
    )
    return outcome, said


def lines_of(path: Path) -> list[Any]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_broker_that_dies_mid_file_leaves_the_rest_in_the_unacked_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_publish, "CHUNK_LINES", 5)
    rows = [row(i) for i in range(22)]
    rows.insert(7, rows[1])  # line 8 repeats line 2 (an earlier chunk)
    rows.append(rows[2])  # line 24 repeats line 3, after the broker died: it has a receipt
    stand_in = StandIn(fail_at=3)
    outcome, said = run(tmp_path, rows, stand_in)

    assert outcome.exit_code == file_publish.EXIT_UNACKED
    receipts = lines_of(tmp_path / "coa.jsonl.receipts.jsonl")
    assert [r["line"] for r in receipts] == [*range(1, 11), 24]
    assert receipts[7]["duplicate_of"] == 2 and receipts[-1]["duplicate_of"] == 3
    assert receipts[-1]["offset"] == receipts[2]["offset"]
    assert len(stand_in.sent) == 9 == outcome.published
    unacked = (tmp_path / "coa.jsonl.unacked.jsonl").read_text().splitlines()
    assert unacked == rows[10:23], "the failed chunk and every later line, each once"
    assert outcome.unacked == 13
    assert any("not acknowledged" in x for x in said)
    for name in ("coa.jsonl.receipts.jsonl", "coa.jsonl.unacked.jsonl"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_an_invalid_line_stops_the_file_before_anything_is_sent(tmp_path: Path) -> None:
    rows = [row(i) for i in range(6)]
    rows[4] = rows[4].replace("ASYLUM_SEEKER", "TOURIST")
    stand_in = StandIn(fail_at=None)
    outcome, said = run(tmp_path, rows, stand_in)
    assert outcome.exit_code == file_publish.EXIT_INVALID
    assert stand_in.flushes == 0 and stand_in.sent == []
    assert any(x.startswith(f"{tmp_path / 'coa.jsonl'}:5: ReceptionStarted: data.") for x in said)
    assert not (tmp_path / "coa.jsonl.receipts.jsonl").exists()

    outcome, _ = run(tmp_path, rows, stand_in, skip_invalid=True)
    assert outcome.exit_code == file_publish.EXIT_PARTIAL
    assert len(stand_in.sent) == 5
    (reject,) = lines_of(tmp_path / "coa.jsonl.rejects.jsonl")
    assert reject["line"] == 5 and reject["errors"][0]["field"].startswith("data.")
    assert stat.S_IMODE((tmp_path / "coa.jsonl.rejects.jsonl").stat().st_mode) == 0o600
    assert [r["line"] for r in lines_of(tmp_path / "coa.jsonl.receipts.jsonl")] == [1, 2, 3, 4, 6]
