"""CloudEvents headers (NL GOV profile, Kafka binary mode): attributes, round trip, and no personal
identifier in any header."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from schemas.cloudevents import (
    DEFAULT_OIN_PREFIX,
    HeaderError,
    build_headers,
    format_sequence,
    parse_headers,
)
from schemas.registry import SchemaVersion, default_registry
from schemas.samples import sample_record

# Reverse DNS, named after the domain, kebab-case event name, one `v` version.
CE_TYPE = re.compile(r"^nl\.[a-z]+\.[a-z0-9]+(-[a-z0-9]+)*\.v[1-9][0-9]*$")


def _latest() -> list[SchemaVersion]:
    registry = default_registry()
    return [registry.latest(t) for t in registry.event_types()]


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_headers_for_a_decision() -> None:
    sv = default_registry().latest("DecisionIssued")
    record = sample_record(sv, seq=42)
    headers = dict(build_headers("DecisionIssued", record))
    assert headers == {
        "content-type": b"application/avro",
        "ce_specversion": b"1.0",
        "ce_id": str(record["envelope"]["event_id"]).encode(),
        "ce_source": f"{DEFAULT_OIN_PREFIX}:systeem:ind".encode(),
        "ce_type": f"nl.vreemdelingen.asielbeschikking-afgegeven.v{sv.version}".encode(),
        "ce_time": b"2026-03-02T09:30:15.123456Z",
        "ce_dataschema": f"urn:ketenlog:schema:ind/DecisionIssued.v{sv.version}.avsc".encode(),
        "ce_sequence": b"0000000000000000042",
    }


def test_headers_are_kafka_python_tuples() -> None:
    sv = default_registry().latest("TrackAssigned")
    for name, value in build_headers("TrackAssigned", sample_record(sv)):
        assert isinstance(name, str)
        assert isinstance(value, bytes)


def test_oin_prefix_is_a_parameter() -> None:
    sv = default_registry().latest("ReceptionStarted")
    prefix = "urn:nld:oin:00000001003214345000"
    headers = dict(build_headers("ReceptionStarted", sample_record(sv), oin_prefix=prefix))
    assert headers["ce_source"] == f"{prefix}:systeem:coa".encode()


def test_ce_time_is_utc_whatever_the_input_zone() -> None:
    sv = default_registry().latest("ReceptionStarted")
    record = sample_record(sv)
    amsterdam = dt.timezone(dt.timedelta(hours=1))
    record["envelope"]["recorded_at"] = dt.datetime(2026, 1, 1, 13, 0, tzinfo=amsterdam)
    assert dict(build_headers("ReceptionStarted", record))["ce_time"] == (
        b"2026-01-01T12:00:00.000000Z"
    )


@pytest.mark.parametrize("sv", _latest(), ids=lambda sv: sv.event_type)
def test_round_trip_and_no_personal_identifier_in_headers(sv: SchemaVersion) -> None:
    record = sample_record(sv)
    record["envelope"]["case_id"] = "case-7f3a"
    record["envelope"]["source_ref"] = "ref-99812"
    headers = build_headers(sv.event_type, record)
    attributes = parse_headers(headers)
    assert attributes.id == str(record["envelope"]["event_id"])
    assert attributes.type == sv.ce_type
    assert CE_TYPE.match(attributes.type), attributes.type
    assert attributes.time == record["envelope"]["recorded_at"]
    assert attributes.producer_seq == record["envelope"]["producer_seq"]
    assert attributes.org is not None
    assert attributes.org.value == record["envelope"]["producer"]
    joined = b"\n".join(value for _, value in headers).decode()
    envelope = record["envelope"]
    personal = [envelope["person_key"], "case-7f3a", "ref-99812"]
    payload = {k: v for k, v in record.items() if k != "envelope"}
    for value in personal + [s for s in _strings(payload) if len(s) > 3]:
        assert value not in joined, f"{value!r} leaked into a header"
    assert {name for name, _ in headers} <= {
        "content-type",
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_dataschema",
        "ce_sequence",
    }


def test_sequences_sort_like_numbers() -> None:
    numbers = [0, 7, 10, 99, 100, 12345, 2**63 - 1]
    assert sorted(format_sequence(n) for n in numbers) == [format_sequence(n) for n in numbers]


def test_parse_requires_the_core_attributes() -> None:
    with pytest.raises(HeaderError, match="ce_id, ce_source"):
        parse_headers([("ce_specversion", b"1.0"), ("ce_type", b"x"), ("ce_time", b"x")])


def test_parse_rejects_other_spec_versions() -> None:
    sv = default_registry().latest("TrackAssigned")
    headers = [
        (n, b"0.3" if n == "ce_specversion" else v)
        for n, v in build_headers("TrackAssigned", sample_record(sv))
    ]
    with pytest.raises(HeaderError, match="ce_specversion"):
        parse_headers(headers)


def test_parse_ignores_binary_headers_that_are_no_cloudevents_attribute() -> None:
    sv = default_registry().latest("TrackAssigned")
    headers = [*build_headers("TrackAssigned", sample_record(sv)), ("ketenlog-chain", b"\xff" * 32)]
    assert parse_headers(headers).type == sv.ce_type
    with pytest.raises(HeaderError, match="ce_type is not UTF-8"):
        parse_headers([*headers[:-1], ("ce_type", b"\xff")])
