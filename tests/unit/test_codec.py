"""The single-object codec: layout, round trips, and reading an old version as the latest."""

from __future__ import annotations

import copy

import pytest

from schemas.codec import MAGIC, ContractError, decode, decode_many, encode, encode_many
from schemas.registry import default_registry
from schemas.samples import sample_record


def test_layout_is_magic_fingerprint_body() -> None:
    sv = default_registry().latest("DecisionIssued")
    data = encode("DecisionIssued", sample_record(sv))
    assert data[:2] == MAGIC == b"\xc3\x01"
    assert data[2:10] == sv.fingerprint.to_bytes(8, "little")


def test_round_trip_keeps_every_value() -> None:
    sv = default_registry().latest("DecisionIssued")
    record = sample_record(sv)
    decoded = decode(encode("DecisionIssued", record))
    assert (decoded.event_type, decoded.version, decoded.reader_version) == (
        "DecisionIssued",
        sv.version,
        sv.version,
    )
    assert decoded.fingerprint == sv.fingerprint
    assert decoded.record == record


def test_old_version_is_read_as_the_latest_with_defaults() -> None:
    registry = default_registry()
    v1 = registry.get("DecisionIssued", 1)
    assert registry.latest_version("DecisionIssued") >= 2
    record = sample_record(v1)
    decoded = decode(encode("DecisionIssued", record, version=1))
    assert decoded.version == 1
    assert decoded.fingerprint == v1.fingerprint
    assert decoded.reader_version == registry.latest_version("DecisionIssued")
    assert decoded.record["suspensive_effect"] is None
    assert {k: v for k, v in decoded.record.items() if k != "suspensive_effect"} == record


def test_batch_helpers_match_single_calls() -> None:
    sv = default_registry().latest("PlacedAtLocation")
    records = [sample_record(sv, seq=n) for n in range(1, 6)]
    encoded = encode_many("PlacedAtLocation", records)
    assert encoded == [encode("PlacedAtLocation", r) for r in records]
    assert [d.record for d in decode_many(encoded)] == records


def test_unknown_event_type_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match="NoSuchEvent: unknown event type"):
        encode("NoSuchEvent", {})


def test_unchecked_encode_still_reports_a_contract_error() -> None:
    sv = default_registry().latest("TrackAssigned")
    record = copy.deepcopy(sample_record(sv))
    record["track"] = "SIDEWAYS"
    with pytest.raises(ContractError) as caught:
        encode("TrackAssigned", record, check=False)
    assert caught.value.path == "track"
