"""The distribution processor's batch (processors.distribution) over an in-memory store: what
reaches each inbox, with which headers and bytes, and that each (recipient, event) goes out
once however often the timeline repeats a record, a batch is sent again after a crash before
the commit, or the processor restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.subscriptions import POLICY
from processors.distribution import (
    HEADER_GEMEENTE,
    HEADER_POLICY,
    HEADER_RECIPIENT,
    HEADER_RULE,
    BatchFaultError,
    DistributionBatch,
    InboxRecord,
    Received,
    Sent,
    receive,
)
from producers.prepare import Preparer
from producers.submission import Submission
from schemas.codec import default_codec
from schemas.records import Raw
from schemas.sealing import SEALED, new_key
from schemas.topics import TIMELINE, inbox_topic

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
T0 = NOW - timedelta(days=100)
PREPARER = Preparer(b"d" * 32, "urn:x", clock=lambda: NOW)


class CrashError(ConnectionError):
    """The store's connection is lost between the broker's acknowledgement and the commit."""


class MemoryTx:
    def __init__(self, store: MemoryStore) -> None:
        self.s = store
        self.records: dict[tuple[str, str], Received] = dict(store.records)
        self.sent: set[Sent] = set(store.sent)
        self.positions: dict[tuple[str, int], int] = dict(store.stored)

    async def lock_persons(self, person_keys: list[str]) -> None:
        return None

    async def add_records(self, records: list[Received]) -> None:
        for r in records:
            self.records.setdefault((r.fact.event_id, r.fact.person_key), r)

    async def histories(self, person_keys: list[str]) -> dict[str, list[Received]]:
        out: dict[str, list[Received]] = {k: [] for k in person_keys}
        for (_, person), r in self.records.items():
            if person in out:
                # Through the store's own serialisation of the headers, as PostgreSQL keeps them.
                out[person].append(Received.stored(r.fact, r.key, r.value, r.headers_json()))
        return out

    async def delivered(self, person_keys: list[str]) -> set[Sent]:
        return {s for s in self.sent if s[2] in person_keys}

    async def add_deliveries(self, records: list[InboxRecord], policy_label: str) -> None:
        for r in records:
            key = (r.delivery.recipient, r.delivery.event_id, r.person_key)
            assert key not in self.sent, f"{key} stored twice"
            self.sent.add(key)

    async def advance(self, consumer: str, positions: dict[tuple[str, int], int]) -> None:
        if self.s.refuse is not None:
            raise self.s.refuse
        for tp, o in positions.items():
            self.positions[tp] = max(self.positions.get(tp, 0), o)
        if self.s.crash_before_commit:
            self.s.crash_before_commit = False
            raise CrashError("killed before the commit")


class MemoryStore:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], Received] = {}
        self.sent: set[Sent] = set()
        self.stored: dict[tuple[str, int], int] = {}
        self.crash_before_commit = False
        self.refuse: Exception | None = None
        self.reconnects = 0

    async def positions(self, consumer: str) -> dict[tuple[str, int], int]:
        return dict(self.stored)

    def transaction(self) -> AbstractAsyncContextManager[MemoryTx]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[MemoryTx]:
        tx = MemoryTx(self)
        yield tx
        self.records, self.sent, self.stored = tx.records, tx.sent, tx.positions

    async def reconnect(self) -> None:
        self.reconnects += 1

    async def close(self) -> None:
        return None


class Wire:
    """What the broker acknowledged, in order."""

    def __init__(self) -> None:
        self.records: list[InboxRecord] = []

    async def send(self, records: list[InboxRecord]) -> None:
        self.records.extend(records)


def timeline(offset: int, org: str, type_: str, days: int, data: dict[str, Any], **kw: Any) -> Raw:
    sub = Submission(
        type=type_,
        v_nummer="1234567890",
        occurred_at=T0 + timedelta(days=days),
        ref=f"r{offset}",
        data=data,
        **kw,
    )
    p = PREPARER.prepare(org, sub)
    return Raw(TIMELINE, 0, offset, p.key, p.value, p.headers, int(NOW.timestamp() * 1000))


def status_holder() -> list[Raw]:
    """Lodged, granted, then linked to GM0344: the municipality receives the decision when
    the link arrives (the rule is retroactive), and the link."""
    return [
        timeline(
            0,
            "IND",
            "AsylumApplicationLodged",
            1,
            {"application_type": "FIRST", "unaccompanied_minor": False},
            case_id="ZK1",
        ),
        timeline(
            1,
            "IND",
            "DecisionIssued",
            30,
            {"outcome": "GRANTED", "status": "A", "departure_deadline": None},
            case_id="ZK1",
        ),
        timeline(
            2,
            "COA",
            "LinkedToMunicipality",
            40,
            {"municipality_code": "GM0344", "task_period": "2026-I"},
        ),
    ]


def batch(store: MemoryStore, wire: Wire) -> DistributionBatch:
    return DistributionBatch("test", codec=default_codec(), store=store, send=wire.send)


def to_gm0344(wire: Wire) -> list[InboxRecord]:
    return [r for r in wire.records if dict(r.headers)[HEADER_RECIPIENT] == b"GEMEENTE:GM0344"]


def test_the_link_delivers_the_earlier_decision_with_the_signed_bytes_and_why() -> None:
    store, wire = MemoryStore(), Wire()
    records = status_holder()
    b = batch(store, wire)
    asyncio.run(b.handle(records[:2]))
    assert to_gm0344(wire) == []
    asyncio.run(b.handle(records[2:]))
    got = to_gm0344(wire)
    assert [r.delivery.event_type for r in got] == ["DecisionIssued", "LinkedToMunicipality"]
    decision = records[1]
    sent = got[0]
    assert sent.topic == inbox_topic("GEMEENTE")
    assert (sent.key, sent.value) == (decision.key, decision.value)
    headers = dict(sent.headers)
    assert headers["ce_id"] == dict(decision.headers)["ce_id"]
    assert headers[HEADER_RULE] == b"gemeente-housing-of-linked"
    assert headers[HEADER_POLICY] == POLICY.label.encode()
    assert headers[HEADER_GEMEENTE] == b"GM0344"
    # Only the municipalities' inbox records name a municipality.
    others = [r for r in wire.records if not r.delivery.recipient.startswith("GEMEENTE:")]
    assert others and all(HEADER_GEMEENTE not in dict(r.headers) for r in others)
    # Every header of the timeline record is passed on as it was.
    assert set(decision.headers) <= set(sent.headers)


def test_each_delivery_once_across_repeats_restarts_and_a_crash_before_the_commit() -> None:
    records = status_holder()
    clean, clean_wire = MemoryStore(), Wire()
    asyncio.run(batch(clean, clean_wire).handle(records))
    once = sorted((r.delivery.recipient, r.delivery.event_id) for r in clean_wire.records)
    ids = [r.fact.event_id for r in receive(default_codec(), records)[0]]
    assert {("GEMEENTE:GM0344", ids[1]), ("GEMEENTE:GM0344", ids[2])} <= set(once)

    store, wire = MemoryStore(), Wire()
    store.crash_before_commit = True
    with pytest.raises(CrashError):
        asyncio.run(batch(store, wire).handle(records))
    assert store.sent == set() and store.stored == {}
    on_wire_before_restart = len(wire.records)
    assert on_wire_before_restart == len(once)

    # After the restart the batch comes again, and the timeline repeats a record.
    again = batch(store, wire)
    asyncio.run(again.load_positions())
    asyncio.run(again.handle([*records, records[1]]))
    asyncio.run(again.handle(records))
    restarted = batch(store, wire)
    asyncio.run(restarted.load_positions())
    asyncio.run(restarted.handle(records))
    # A worker given the partition in a rebalance before it read the stored position.
    asyncio.run(batch(store, wire).handle(records))

    # At least once on the wire (the crashed batch went out twice, with the same ce_id) ...
    assert len(wire.records) == 2 * len(once)
    resent = [dict(r.headers)["ce_id"] for r in wire.records]
    assert sorted(resent[:on_wire_before_restart]) == sorted(resent[on_wire_before_restart:])
    # ... once in the table, the same as a run without a crash.
    assert sorted((r, e) for r, e, _ in store.sent) == once
    assert store.stored == {(TIMELINE, 0): 3}


def test_a_record_that_carries_no_fact_is_counted_not_delivered() -> None:
    good = status_holder()[0]
    junk = Raw(TIMELINE, 0, 7, b"k", b"not avro", [], 0)
    received, bad = receive(default_codec(), [good, junk])
    assert [r.fact.event_type for r in received] == ["AsylumApplicationLodged"]
    assert bad == [junk]


def test_a_fault_before_the_commit_is_ridden_out_sending_again_but_storing_once() -> None:
    records = status_holder()
    store, wire = MemoryStore(), Wire()
    store.crash_before_commit = True
    said: list[str] = []
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    b = batch(store, wire)
    asyncio.run(b.handle_surviving(records, said.append, sleep=sleep))
    assert b.counters.faults == 1 and waits == [1.0] and store.reconnects == 1
    assert "CrashError" in said[0]
    # The failed try's records went out, and the retry's again: same ids, once in the table.
    ids = [dict(r.headers)["ce_id"] for r in wire.records]
    half = len(ids) // 2
    assert half > 0 and sorted(ids[:half]) == sorted(ids[half:])
    assert len(store.sent) == half
    assert store.stored == {(TIMELINE, 0): 3}


def test_an_error_that_would_come_back_stops_naming_the_records_and_moves_nothing() -> None:
    records = status_holder()
    store, wire = MemoryStore(), Wire()
    store.refuse = ValueError("value too long for type character varying(64)")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    b = batch(store, wire)
    with pytest.raises(BatchFaultError) as stopped:
        asyncio.run(b.handle_surviving(records, lambda _: None, sleep=sleep))
    assert f"{TIMELINE}[0] offsets 0..2" in str(stopped.value)
    assert "ValueError: value too long" in str(stopped.value)
    # Not retried for ever, and nothing of the batch committed: a restart resumes there.
    assert waits == [] and b.counters.faults == 0
    assert store.stored == {} and store.sent == set()
    store.refuse = None
    asyncio.run(b.handle_surviving(records, lambda _: None, sleep=sleep))
    assert store.stored == {(TIMELINE, 0): 3} and len(store.sent) > 0


def test_a_sealed_record_is_received_with_its_personal_fields_still_sealed() -> None:
    """A record the publisher sealed (`ketenlog publish` seals): the distribution stores its
    fact as JSON and forwards the record's own bytes; it never opens or stores ciphertext. (A
    `sealed` map in the fact once made every batch fail and retry for ever.)"""
    keys = new_key()
    sealing = Preparer(b"d" * 32, "urn:x", clock=lambda: NOW, person_keys=lambda _: keys)
    sub = Submission(
        type="IdentityRegistered",
        v_nummer="1234567890",
        occurred_at=T0,
        ref="AVIM-sealed",
        data={"nationality": "ERI", "birth_year": 1991, "sex": "F", "documents_presented": True},
    )
    p = sealing.prepare("AVIM", sub)
    raw = Raw(TIMELINE, 0, 7, p.key, p.value, p.headers, int(NOW.timestamp() * 1000))
    (received,), bad = receive(default_codec(), [raw])
    assert bad == []
    assert received.value == p.value, "the recipient gets the signed, sealed bytes"
    assert SEALED not in received.fact.data
    assert "ERI" not in received.fact.to_json() and received.fact.data["nationality"] != "ERI"
    assert SEALED in default_codec().decode(p.value).record, "the record was sealed"
