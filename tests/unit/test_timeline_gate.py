"""The timeline gate and the resume logic, without Kafka: pure functions over raw records."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2

from processors.batch import RESEEK_AFTER_S, BatchProcessor
from processors.checks import Reason, partition_of
from processors.timeline import gate, new_facts
from producers.prepare import InvalidEventError
from schemas.codec import MAGIC, default_codec, encode
from schemas.records import Raw
from schemas.registry import default_registry, load_version
from schemas.samples import sample_record
from schemas.validation import limit_problems
from tests.unit.prepared_records import HEADERS, NOW, record


def raw(topic: str, offset: int, key: bytes | None, value: bytes | None) -> Raw:
    """On partition 0, with the CloudEvents headers the publisher gave the value (if any)."""
    headers = HEADERS.get(value or b"", [])
    return Raw(topic, 0, offset, key, value, headers, int(NOW.timestamp() * 1000))


def test_every_kind_of_poison_gets_its_reason_and_good_records_pass() -> None:
    key, good = record("COA", "ReceptionStarted", {"reception_group": "OTHER"}, "R1")
    ind_key, ind = record("IND", "TrackAssigned", {"track": "GENERAL"}, "T1")
    topic = "keten.coa.events"
    records = [
        raw(topic, 0, key, good),
        raw(topic, 1, key, b"garbage"),
        raw(topic, 2, key, MAGIC + b"\x02" * 8 + good[10:]),
        raw(topic, 3, ind_key, ind),
        raw(topic, 4, b"someone else", good),
        raw(topic, 5, key, good[:10] + b"\xff\xff"),
        raw(topic, 6, key, None),
        raw(topic, 7, key, good),
    ]
    out = gate(default_codec(), records, NOW, partitions=None)
    reasons = [dict(d.headers)["dl_reason"].decode() for d in out.deadletters]
    assert reasons == [
        Reason.UNDECODABLE,
        Reason.UNKNOWN_FINGERPRINT,
        Reason.WRONG_PRODUCER,
        Reason.KEY_MISMATCH,
        Reason.UNDECODABLE,
        Reason.EMPTY,
    ]
    assert [r.offset for r, _ in out.accepted] == [0, 7]
    assert out.positions == {(topic, 0): 8}
    assert out.deadletters[0].value == b"garbage"
    assert dict(out.deadletters[0].headers)["dl_source_offset"] == b"1"
    assert len(new_facts(out.accepted, set())) == 1, "the same event id is passed on once"


def test_a_record_from_the_future_is_implausible() -> None:
    key, good = record("COA", "ReceptionStarted", {"reception_group": "OTHER"}, "R2")
    early = Raw(
        "keten.coa.events",
        0,
        0,
        key,
        good,
        HEADERS[good],
        int((NOW - timedelta(days=3)).timestamp() * 1000),
    )
    out = gate(default_codec(), [early], NOW, partitions=None)
    assert [dict(d.headers)["dl_reason"] for d in out.deadletters] == [b"IMPLAUSIBLE_TIME"]


def test_ownership_of_an_open_producer_code_is_the_topic_s() -> None:
    # envelope.producer is any code of the documented pattern (schemas/CHANGELOG.md): a
    # well-formed code still speaks only on the topic its organisation owns.
    data = {"assignment_id": "TV-000000001", "matter": "ASYLUM_APPLICATION"}
    key, lawyer = record("RVR", "LawyerAssigned", data, "L1")
    # A code no organisation has yet is valid in the contract (any organisation may retract)...
    stranger = sample_record(default_registry().latest("EventRetracted"))
    stranger["envelope"]["producer"] = "ZORGVERZEKERAAR"
    stranger_value = encode("EventRetracted", stranger)
    stranger_key = str(stranger["envelope"]["person_key"]).encode()
    records = [
        raw("keten.rvr.events", 0, key, lawyer),
        raw("keten.ind.events", 0, key, lawyer),
        raw("keten.rvr.events", 1, stranger_key, stranger_value),
    ]
    out = gate(default_codec(), records, NOW, partitions=None)
    # ...but RVR's topic takes RVR's records only, and RVR speaks on no other topic.
    assert [(r.topic, r.offset) for r, _ in out.accepted] == [("keten.rvr.events", 0)]
    details = [dict(d.headers) for d in out.deadletters]
    assert [d["dl_reason"] for d in details] == [b"WRONG_PRODUCER", b"WRONG_PRODUCER"]


def test_resume_skips_what_was_applied_and_reports_a_jump_ahead() -> None:
    async def never(*_: Any) -> Any:
        raise AssertionError("no I/O in in_order")

    processor = BatchProcessor(
        "g",
        codec=default_codec(),
        store=None,  # type: ignore[arg-type]
        send=never,
        seek=never,
        earliest=never,
        partitions=None,
    )
    processor.positions = {("t", 0): 5, ("t", 1): 2}
    records = [raw("t", o, None, b"") for o in (3, 4, 5, 6)]
    records += [Raw("t", 1, 7, None, b"", [], 0), Raw("t", 1, 8, None, b"", [], 0)]
    fresh, gaps = processor.in_order(records)
    assert [r.offset for r in fresh] == [5, 6]
    assert gaps == {("t", 1): 2}
    assert processor.counters.skipped == 2


def _hostile(value: bytes, change: Any) -> bytes:
    """The record re-encoded with `change` applied to its decoded form, past the publisher's
    validation: what a plain Kafka client can send."""
    codec = default_codec()
    decoded = codec.decode(value)
    record = decoded.record
    change(record)
    return codec.encode(decoded.event_type, record, check=False)


def _reasons(records: list[Raw], partitions: int | None = None) -> list[tuple[str, str]]:
    out = gate(default_codec(), records, NOW, partitions=partitions)
    return [
        (dict(d.headers)["dl_reason"].decode(), dict(d.headers)["dl_detail"].decode())
        for d in out.deadletters
    ]


def test_strings_the_store_cannot_hold_are_dead_letters_naming_the_field() -> None:
    key, good = record("COA", "ReceptionStarted", {"reception_group": "OTHER"}, "R3")
    topic = "keten.coa.events"

    def case_id(value: str) -> Any:
        return lambda r: r["envelope"].__setitem__("case_id", value)

    nul = _hostile(good, case_id("CASE\u00001"))
    long = _hostile(good, case_id("C" * 9000))
    records = [
        Raw(topic, 0, 0, key, nul, HEADERS[good], int(NOW.timestamp() * 1000)),
        Raw(topic, 0, 1, key, long, HEADERS[good], int(NOW.timestamp() * 1000)),
    ]
    reasons = _reasons(records)
    assert [r for r, _ in reasons] == [Reason.CONTRACT_VIOLATION] * 2
    assert "envelope.case_id: holds control character U+0000" in reasons[0][1]
    assert "envelope.case_id: 9,000 characters" in reasons[1][1]


def test_the_publisher_refuses_what_the_gate_would_dead_letter() -> None:
    with pytest.raises(InvalidEventError) as refused:
        record("COA", "PlacedAtLocation", {"location_id": "AZC\u0007", "location_type": "AZC"}, "P")
    assert "location_id" in str(refused.value) and "U+0007" in str(refused.value)
    with pytest.raises(InvalidEventError) as refused:
        record("COA", "PlacedAtLocation", {"location_id": "A" * 200, "location_type": "AZC"}, "P")
    assert "location_id" in str(refused.value) and "maximum of 128" in str(refused.value)


def test_a_key_that_is_no_pseudonym_is_refused() -> None:
    _, good = record("COA", "ReceptionStarted", {"reception_group": "OTHER"}, "R4")
    raw_v = _hostile(good, lambda r: r["envelope"].__setitem__("person_key", "1234567890"))
    records = [Raw("keten.coa.events", 0, 0, b"1234567890", raw_v, HEADERS[good], 0)]
    ((reason, detail),) = _reasons(records)
    assert reason == Reason.CONTRACT_VIOLATION
    assert "envelope.person_key" in detail and "never a V-nummer" in detail


def test_no_key_and_the_wrong_partition_are_dead_letters() -> None:
    key, good = record("COA", "ReceptionStarted", {"reception_group": "OTHER"}, "R5")
    right = partition_of(key, 6)
    wrong = (right + 1) % 6
    ts = int(NOW.timestamp() * 1000)
    topic = "keten.coa.events"
    records = [
        Raw(topic, right, 0, None, good, HEADERS[good], ts),
        Raw(topic, wrong, 0, key, good, HEADERS[good], ts),
        Raw(topic, right, 1, key, good, HEADERS[good], ts),
    ]
    out = gate(default_codec(), records, NOW, partitions=6)
    reasons = [dict(d.headers)["dl_reason"].decode() for d in out.deadletters]
    assert reasons == [Reason.NO_KEY, Reason.WRONG_PARTITION]
    assert [(r.partition, r.offset) for r, _ in out.accepted] == [(right, 1)]


def test_partition_of_is_the_publishers_partitioner() -> None:
    for i in range(200):
        key = f"person-{i}".encode()
        assert partition_of(key, 6) == (murmur2(key) & 0x7FFFFFFF) % 6


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("ce_id", b"6f1c2a50-0000-5000-8000-000000000000"),
        ("ce_type", b"nl.vreemdelingen.besluit-genomen.v1"),
        ("ce_source", b"urn:x:systeem:ind"),
        ("ce_time", b"2020-01-01T00:00:00.000000Z"),
    ],
)
def test_headers_that_contradict_the_body_are_dead_letters(header: str, value: bytes) -> None:
    key, good = record("COA", "ReceptionStarted", {"reception_group": "OTHER"}, "R6")
    headers = [(n, value if n == header else v) for n, v in HEADERS[good]]
    ((reason, detail),) = _reasons([Raw("keten.coa.events", 0, 0, key, good, headers, 0)])
    assert reason == Reason.HEADERS_CONTRADICT_BODY and header in detail


def test_a_record_without_cloudevents_headers_is_a_dead_letter() -> None:
    key, good = record("COA", "ReceptionStarted", {"reception_group": "OTHER"}, "R7")
    ((reason, detail),) = _reasons([Raw("keten.coa.events", 0, 0, key, good, [], 0)])
    assert reason == Reason.HEADERS_MISSING and "ce_id" in detail


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(0, 400),
    flip=st.binary(min_size=0, max_size=8),
    key=st.one_of(st.none(), st.binary(max_size=70)),
    headers=st.lists(st.tuples(st.sampled_from(["ce_id", "ce_type", "ce_time", "x"]), st.binary())),
)
def test_fuzz_the_gate_only_ever_accepts_or_names_a_reason(
    cut: int, flip: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
) -> None:
    k, good = FUZZ_BASE
    value = good[:cut] + flip + good[cut + len(flip) :]
    records = [
        Raw("keten.coa.events", 0, 0, k if key is None else key, value, HEADERS[good], 0),
        Raw("keten.coa.events", 1, 0, key, value, headers, 0),
    ]
    out = gate(default_codec(), records, NOW, partitions=6)
    assert len(out.accepted) + len(out.deadletters) == 2
    for d in out.deadletters:
        assert dict(d.headers)["dl_reason"].decode() in set(Reason)
        assert dict(d.headers)["dl_detail"]


FUZZ_BASE = record("COA", "ReceptionStarted", {"reception_group": "OTHER"}, "FUZZ")


def test_binary_headers_that_are_not_cloudevents_are_left_alone() -> None:
    key, good = record("COA", "ReceptionStarted", {"reception_group": "OTHER"}, "R8")
    headers = [*HEADERS[good], ("ketenlog-chain", bytes(range(200, 232)))]
    out = gate(
        default_codec(),
        [Raw("keten.coa.events", 0, 0, key, good, headers, int(NOW.timestamp() * 1000))],
        NOW,
        partitions=None,
    )
    assert out.deadletters == [] and len(out.accepted) == 1


def test_a_field_that_declares_max_length_may_be_longer_and_no_longer() -> None:
    sv = default_codec().registry.latest("PolicyChanged")
    schema = json.loads(json.dumps(sv.schema))
    for fld in schema["fields"]:
        if fld["name"] == "description":
            fld["maxLength"] = 2000
    declared = load_version(sv.path, json.dumps(schema))

    def problems(text: str, version: Any) -> list[str]:
        return [p.path for p in limit_problems(version, {"description": text, "policy_id": "P"})]

    assert problems("d" * 500, sv) == ["description"], "128 characters unless declared"
    assert problems("d" * 500, declared) == []
    assert problems("d" * 2001, declared) == ["description"]


def test_a_jump_ahead_is_sought_back_once_until_the_re_read_arrives() -> None:
    """The records fetched behind a jump ahead show the same gap: one seek, not one per batch
    (each seek would throw the re-read away), and again only once the re-read is late."""
    sought: list[tuple[tuple[str, int], int]] = []

    async def seek(tp: tuple[str, int], offset: int) -> None:
        sought.append((tp, offset))

    async def earliest(tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return {tp: 0 for tp in tps}

    async def never(*_: Any) -> Any:
        raise AssertionError("nothing to apply")

    processor = BatchProcessor(
        "g",
        codec=default_codec(),
        store=None,  # type: ignore[arg-type]
        send=never,
        seek=seek,
        earliest=earliest,
        partitions=None,
    )
    processor.positions = {("t", 0): 5}
    ahead = [Raw("t", 0, o, None, b"", [], 0) for o in (9, 10)]

    async def scenario() -> None:
        await processor.handle(ahead)
        await processor.handle([Raw("t", 0, 11, None, b"", [], 0)])
        assert sought == [(("t", 0), 5)]
        # The re-read is late: a rebalance may have undone the seek.
        processor._sought[("t", 0)] = (5, time.monotonic() - RESEEK_AFTER_S - 1)
        await processor.handle([Raw("t", 0, 12, None, b"", [], 0)])
        assert sought == [(("t", 0), 5)] * 2

    asyncio.run(scenario())
    assert processor.counters.seeks == 2
