"""The publisher's pure half: pseudonymisation, ids, checks and encoding of submissions."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.file_publish import Line, SeenIds, check_lines
from producers.format_doc import DOC_PATH, render
from producers.identity import Sequence, event_id
from producers.prepare import InvalidEventError, Preparer
from producers.pseudonym import ChainKeyError, demo_chain_key, load_chain_key, person_key
from producers.submission import Submission
from schemas.cloudevents import build_headers, parse_headers
from schemas.codec import decode
from schemas.registry import default_registry
from schemas.topics import Org

KEY = b"k" * 32
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
OIN = "urn:nld:oin:00000000000000000000"


def check_file(prep: Preparer, org: Org, stream: io.BytesIO) -> list[Line]:
    with SeenIds() as seen:
        return list(check_lines(prep, org, stream, seen))


def preparer() -> Preparer:
    return Preparer(KEY, OIN, clock=lambda: NOW)


def lodged(**changes: object) -> Submission:
    base: dict[str, object] = {
        "type": "AsylumApplicationLodged",
        "v_nummer": "1234.567.890",
        "occurred_at": "2026-03-02T09:30:00+01:00",
        "ref": "IND-1",
        "data": {"application_type": "FIRST", "unaccompanied_minor": False},
    }
    base.update(changes)
    return Submission.model_validate(base)


def test_person_key_is_keyed_and_ignores_formatting() -> None:
    assert person_key("1234.567.890", KEY) == person_key("1234567890", KEY)
    assert person_key("1234567890", KEY) != person_key("1234567890", b"o" * 32)
    assert "1234567890" not in person_key("1234567890", KEY)


def test_chain_key_must_be_long_enough(tmp_path: object) -> None:
    with pytest.raises(ChainKeyError, match="at least 32 bytes"):
        load_chain_key("short", None)


def test_without_a_chain_key_the_error_says_how_to_set_one_and_nothing_is_made_up(
    tmp_path: Path,
) -> None:
    with pytest.raises(ChainKeyError) as missing:
        load_chain_key(None, None)
    assert "KETENLOG_CHAIN_KEY" in str(missing.value) and "KETENLOG_CHAIN_KEY_FILE" in str(
        missing.value
    )
    assert list(tmp_path.iterdir()) == []
    key, made = demo_chain_key(tmp_path / "demo.key")
    assert made and len(key) >= 32 and demo_chain_key(tmp_path / "demo.key") == (key, False)


def test_event_id_is_deterministic_with_a_reference_only() -> None:
    assert event_id("IND", "R1") == event_id("IND", "R1")
    assert event_id("IND", "R1") != event_id("COA", "R1")
    assert event_id("IND", None) != event_id("IND", None)


def test_sequence_is_strictly_monotonic() -> None:
    seq = Sequence()
    values = [seq.next() for _ in range(1000)]
    assert values == sorted(set(values))


def test_prepared_record_decodes_and_carries_no_v_nummer() -> None:
    prepared = preparer().prepare("IND", lodged())
    decoded = decode(prepared.value)
    envelope = decoded.record["envelope"]
    assert decoded.event_type == "AsylumApplicationLodged"
    assert envelope["person_key"] == person_key("1234567890", KEY)
    assert str(envelope["event_id"]) == event_id("IND", "IND-1") == prepared.event_id
    assert envelope["producer"] == "IND"
    assert prepared.key == envelope["person_key"].encode()
    everything = prepared.value + b"".join(v for _, v in prepared.headers) + prepared.key
    assert b"1234567890" not in everything and b"1234.567.890" not in everything
    attributes = parse_headers(prepared.headers)
    assert attributes.id == prepared.event_id


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        (
            {"data": {"application_type": "FRIST", "unaccompanied_minor": False}},
            "data.application_type",
            "unknown enum symbol",
        ),
        ({"data": {"application_type": "FIRST"}}, "data.unaccompanied_minor", "missing"),
        (
            {"data": {"application_type": "FIRST", "unaccompanied_minor": "no"}},
            "data.unaccompanied_minor",
            "wrong type",
        ),
        ({"occurred_at": (NOW + timedelta(days=1)).isoformat()}, "occurred_at", "future"),
        ({"v_nummer": "12345"}, "v_nummer", "10 digits"),
        ({"v_nummer": None, "person_key": "1234567890"}, "person_key", "never a V-nummer"),
        ({"type": "NoSuchEvent"}, "type", "unknown event type"),
        ({"type": "ReceptionStarted"}, "type", "published by COA"),
    ],
)
def test_invalid_submission_names_type_field_and_reason(
    changes: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(InvalidEventError) as caught:
        preparer().prepare("IND", lodged(**changes))
    assert any(f == field and reason in r for f, r in caught.value.problems), caught.value
    assert str(caught.value).startswith(str(changes.get("type", "AsylumApplicationLodged")))


def test_check_file_reports_every_invalid_line_and_counts_duplicates() -> None:
    good = lodged().model_dump_json(exclude_none=True)
    other = lodged(ref="IND-2").model_dump_json(exclude_none=True)
    bad = json.loads(good)
    bad["data"]["application_type"] = "NOPE"
    conflict = json.loads(good)
    conflict["data"]["unaccompanied_minor"] = True
    # Line 4 repeats line 1 with its keys in another order: the same content, a duplicate.
    again = json.dumps(dict(reversed(list(json.loads(good).items()))))
    text = "\n".join([good, "{not json", json.dumps(bad), again, other, json.dumps(conflict)])
    lines = check_file(preparer(), Org.IND, io.BytesIO(text.encode()))
    invalid = {line.number: line.problems for line in lines if line.problems}
    assert set(invalid) == {2, 3, 6}
    problems_3, problems_6 = invalid[3] or [], invalid[6] or []
    assert [field for field, _ in problems_3] == ["data.application_type"]
    assert "already used on line 1" in problems_6[0][1]
    assert [(line.number, line.duplicate_of) for line in lines if line.duplicate_of] == [(4, 1)]
    assert [line.number for line in lines if line.prepared and not line.duplicate_of] == [1, 5]


def test_publish_format_doc_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(default_registry()), (
        "docs/publish-format.md is stale: run python -m producers.format_doc"
    )


def test_cached_headers_equal_the_full_cloudevents_headers() -> None:
    prep = preparer()
    for ref in ("IND-1", "IND-2"):
        prepared = prep.prepare("IND", lodged(ref=ref))
        decoded = decode(prepared.value)
        record = decoded.record
        record["envelope"]["event_id"] = str(record["envelope"]["event_id"])
        # Without person keys the preparer writes the last version before sealing.
        expected = build_headers(
            "AsylumApplicationLodged", record, version=decoded.version, oin_prefix=OIN
        )
        assert sorted(prepared.headers) == sorted(expected)


def test_dates_in_json_lines_become_avro_dates() -> None:
    line = {
        "type": "DecisionIssued",
        "v_nummer": "1234567890",
        "occurred_at": "2026-05-01T10:00:00Z",
        "ref": "IND-D-1",
        "data": {"outcome": "REJECTED", "status": None, "departure_deadline": "2026-05-29"},
    }
    prepared = preparer().prepare("IND", Submission.model_validate(line))
    assert str(decode(prepared.value).record["departure_deadline"]) == "2026-05-29"
    line["data"] = {"outcome": "REJECTED", "departure_deadline": "29-05-2026"}
    with pytest.raises(InvalidEventError, match=r"data\.departure_deadline"):
        preparer().prepare("IND", Submission.model_validate(line))


def test_hostile_lines_are_clear_errors_naming_the_line() -> None:
    good = lodged().model_dump_json(exclude_none=True)
    deep = "[" * 20_000 + "]" * 20_000
    huge = json.dumps({**json.loads(good), "ref": "X" * (10 * 1024 * 1024)})
    nul = json.loads(good)
    nul["data"]["application_type"] = "FIRST\u0000"
    stream = b"\n".join(
        [
            good.encode(),
            deep.encode(),
            b"\xff\xfe not utf-8",
            huge.encode(),
            json.dumps(nul).encode(),
        ]
    )
    checked = check_file(preparer(), Org.IND, io.BytesIO(stream))
    invalid = {line.number: line.problems for line in checked if line.problems}
    assert set(invalid) == {2, 3, 4, 5}
    assert invalid[2] == [("(line)", "JSON nested too deeply to be an event")]
    assert invalid[3] == [("(line)", "not UTF-8 text")]
    assert (
        "10,485," in (invalid[4] or [])[0][1]
        and "the most an event may be" in (invalid[4] or [])[0][1]
    )
    assert any("application_type" in f for f, _ in invalid[5] or [])
    assert [line.number for line in checked if line.prepared] == [1]
    assert len(checked[3].text) <= 201, "an over-long line keeps only its start"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=300).map(str.encode))
def test_fuzz_the_parser_only_ever_accepts_or_names_a_problem(blob: bytes) -> None:
    for line in check_file(preparer(), Org.IND, io.BytesIO(blob)):
        assert (line.prepared is None) == bool(line.problems)
        for name, reason in line.problems or []:
            assert name and reason
