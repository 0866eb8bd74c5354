"""`ketenlog ids` and the receipts' rows: the ids an agency refers to are the ones the publisher
puts on the wire, and docs/publish-format.md's derivation (recomputed here with the standard
library only) gives the same."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest

from ketenlog import cli
from producers.file_publish import Line, receipt_rows
from producers.identity import ids_of
from producers.prepare import Preparer
from producers.publisher import Receipt
from producers.submission import Submission
from schemas.codec import decode
from schemas.topics import Org

CHAIN_KEY = "an-agency-chain-key-of-40-characters-xyz"
OIN = "urn:nld:oin:00000000000000000000"


def lodged(ref: str, v_nummer: str) -> Submission:
    return Submission.model_validate(
        {
            "type": "AsylumApplicationLodged",
            "v_nummer": v_nummer,
            "occurred_at": "2026-03-02T09:30:00+01:00",
            "ref": ref,
            "data": {"application_type": "FIRST", "unaccompanied_minor": False},
        }
    )


def on_the_wire(ref: str, v_nummer: str) -> tuple[str, str, str]:
    """(event id, envelope person key, record key) of the record the publisher would send."""
    prepared = Preparer(CHAIN_KEY.encode(), OIN).prepare(Org.IND, lodged(ref, v_nummer))
    envelope = decode(prepared.value).record["envelope"]
    return str(envelope["event_id"]), envelope["person_key"], prepared.key.decode()


@pytest.mark.parametrize(
    ("ref", "v_nummer"), [("IND-2026-000123", "1234.567.890"), ("zaak 7/ü", "0000 000 001")]
)
def test_ids_of_equals_what_the_publisher_sends(ref: str, v_nummer: str) -> None:
    wire_id, wire_person, wire_key = on_the_wire(ref, v_nummer)
    ids = ids_of(org="IND", ref=ref, v_nummer=v_nummer, chain_key=CHAIN_KEY.encode())
    assert ids == {"event_id": wire_id, "person_key": wire_person}
    assert wire_key == wire_person


def test_the_documented_derivation_gives_the_wire_ids() -> None:
    """As docs/publish-format.md states it, with uuid and hmac alone."""
    wire_id, wire_person, _ = on_the_wire("IND-2026-000123", "1234.567.890")
    namespace = uuid.uuid5(uuid.NAMESPACE_DNS, "events.ketenlog.nl")
    assert str(uuid.uuid5(namespace, "IND:IND-2026-000123")) == wire_id
    digest = hmac.new(CHAIN_KEY.encode(), b"1234567890", hashlib.sha256).hexdigest()
    assert digest == wire_person


def test_the_ids_command_prints_the_wire_ids(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KETENLOG_HOME", str(tmp_path))
    monkeypatch.setenv("KETENLOG_CHAIN_KEY", CHAIN_KEY)
    wire_id, wire_person, _ = on_the_wire("IND-9", "9876.543.210")
    argv = ["ids", "--org", "IND", "--ref", "IND-9", "--v-nummer", "9876.543.210"]
    assert cli.main([*argv, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"event_id": wire_id, "person_key": wire_person}
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.split() == ["event_id", wire_id, "person_key", wire_person]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ids", "--ref", "IND-9"], "--org and --ref go together"),
        (["ids"], "give --org ORG --ref REF"),
        (["ids", "--v-nummer", "12.34"], "v_nummer must be 10 digits"),
    ],
)
def test_the_ids_command_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("KETENLOG_HOME", str(tmp_path))
    monkeypatch.setenv("KETENLOG_CHAIN_KEY", CHAIN_KEY)
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_short_chain_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KETENLOG_HOME", str(tmp_path))
    monkeypatch.setenv("KETENLOG_CHAIN_KEY", "x" * 31)
    assert cli.main(["ids", "--v-nummer", "1234567890"]) == 1
    assert "at least 32 bytes" in capsys.readouterr().err


def test_receipt_rows_follow_the_lines_and_duplicates_point_at_their_first() -> None:
    preparer = Preparer(CHAIN_KEY.encode(), OIN)

    def line(number: int, ref: str, duplicate_of: int | None = None) -> Line:
        prepared = preparer.prepare(Org.IND, lodged(ref, "1234567890"))
        return Line(number, "", prepared=prepared, duplicate_of=duplicate_of)

    # A chunk: lines 1, 2 and 5 sent (5 not acknowledged), 3 and 6 repeat 1 and 5 of this
    # chunk, 7 repeats line 0 of an earlier chunk, stored at partition 4, offset 40.
    chunk = [line(1, "R1"), line(2, "R2"), line(3, "R1", 1), line(5, "R5"), line(6, "R5", 5)]
    chunk.append(line(7, "R0", 0))
    earlier = {ids_of(org="IND", ref="R0")["event_id"]: ("keten.ind.events", 4, 40)}
    acked = {
        ln.prepared.event_id: Receipt(
            event_id=ln.prepared.event_id,
            event_type=ln.prepared.event_type,
            topic="keten.ind.events",
            partition=ln.number % 2,
            offset=100 + ln.number,
            person_key=ln.prepared.key.decode(),
        )
        for ln in chunk[:2]
        if ln.prepared is not None
    }
    rows = receipt_rows(chunk, acked, earlier.get)
    assert [(r["line"], r["partition"], r["offset"], r.get("duplicate_of")) for r in rows] == [
        (1, 1, 101, None),
        (2, 0, 102, None),
        (3, 1, 101, 1),
        (7, 4, 40, 0),
    ]
    assert rows[1]["event_id"] == ids_of(org="IND", ref="R2")["event_id"]
    assert rows[1]["ref"] == "R2"


def test_without_a_chain_key_publish_and_ids_stop_and_say_how_to_set_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KETENLOG_HOME", str(tmp_path))
    monkeypatch.delenv("KETENLOG_CHAIN_KEY", raising=False)
    monkeypatch.delenv("KETENLOG_CHAIN_KEY_FILE", raising=False)
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n")
    for argv in (["ids", "--v-nummer", "1234567890"], ["publish", "--org", "COA", str(events)]):
        assert cli.main(argv) == 1
        assert "no chain key: set KETENLOG_CHAIN_KEY" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl"], "no key was made"
