"""The timeline gate and the resume logic, without Kafka: pure functions over raw records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from processors.batch import BatchProcessor
from processors.checks import Reason
from processors.timeline import gate, new_facts
from producers.prepare import Preparer
from producers.submission import Submission
from schemas.codec import MAGIC, default_codec, encode
from schemas.records import Raw
from schemas.registry import default_registry
from schemas.samples import sample_record

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def record(org: str, type_: str, data: dict[str, Any], ref: str) -> tuple[bytes, bytes]:
    preparer = Preparer(b"g" * 32, "urn:x", clock=lambda: NOW)
    sub = Submission(
        type=type_, v_nummer="1234567890", occurred_at=NOW - timedelta(days=1), ref=ref, data=data
    )
    prepared = preparer.prepare(org, sub)
    return prepared.key, prepared.value


def raw(topic: str, offset: int, key: bytes | None, value: bytes | None) -> Raw:
    return Raw(topic, 0, offset, key, value, [], int(NOW.timestamp() * 1000))


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
    out = gate(default_codec(), records, NOW)
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
        "keten.coa.events", 0, 0, key, good, [], int((NOW - timedelta(days=3)).timestamp() * 1000)
    )
    out = gate(default_codec(), [early], NOW)
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
    out = gate(default_codec(), records, NOW)
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
    )
    processor.positions = {("t", 0): 5, ("t", 1): 2}
    records = [raw("t", o, None, b"") for o in (3, 4, 5, 6)]
    records += [Raw("t", 1, 7, None, b"", [], 0), Raw("t", 1, 8, None, b"", [], 0)]
    fresh, gaps = processor.in_order(records)
    assert [r.offset for r in fresh] == [5, 6]
    assert gaps == {("t", 1): 2}
    assert processor.counters.skipped == 2
