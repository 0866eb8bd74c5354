"""A batch the store refuses, or the fold fails on, does not stop the worker: the one record
responsible becomes a dead letter with the error as its reason, everything else is applied, and
no record reaches the timeline or the dead letter twice because of the retries."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from domain.derive import derive as derive_row
from processors import batch
from schemas.codec import default_codec
from schemas.records import Raw
from tests.unit.memory_store import MemoryStore, MemoryTx, history, processor, sending

POISON = 3  # the offset of the record the store refuses


def _event_id(raw: Raw) -> str:
    return str(default_codec().decode(raw.value or b"").record["envelope"]["event_id"])


def test_the_refused_record_is_a_dead_letter_and_the_rest_is_applied_once() -> None:
    records = history()
    store = MemoryStore()
    store.refused_events.add(_event_id(records[POISON]))
    proc = processor(store)
    sent = sending(proc)
    asyncio.run(proc.handle(records))

    dead = sent["keten.deadletter"]
    assert [dict(d.headers)["dl_source_offset"] for d in dead] == [str(POISON).encode()]
    assert dict(dead[0].headers)["dl_reason"] == b"STORE_REFUSED"
    assert b"index row requires" in dict(dead[0].headers)["dl_detail"]
    timeline = Counter(d.value for d in sent["keten.timeline"])
    assert sorted(timeline.values()) == [1] * (len(records) - 1), "each passed on once"
    assert len(store.facts) == len(records) - 1
    assert store.offsets == {(records[0].topic, 0): len(records)}
    assert proc.counters.isolations > 0


def test_a_fold_that_fails_isolates_the_record_that_made_it_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = history()
    poison = _event_id(records[POISON])
    real = derive_row

    def derive(key: str, facts: list[Any]) -> Any:
        if any(f.event_id == poison for f in facts):
            raise KeyError("a field the fold did not foresee")
        return real(key, facts)

    monkeypatch.setattr(batch, "derive", derive)
    store = MemoryStore()
    proc = processor(store)
    sent = sending(proc)
    asyncio.run(proc.handle(records))
    (dead,) = sent["keten.deadletter"]
    assert dict(dead.headers)["dl_source_offset"] == str(POISON).encode()
    assert b"lifecycle fold failed" in dict(dead.headers)["dl_detail"]
    assert len(sent["keten.timeline"]) == len(records) - 1


def test_a_fault_of_the_store_itself_is_not_taken_for_bad_data() -> None:
    class Down(MemoryStore):
        def refusal(self, error: BaseException) -> str | None:
            return None

        async def positions(self, consumer: str) -> dict[tuple[str, int], int]:
            return {}

    store = Down()

    class Broken(MemoryTx):
        async def add_facts(self, facts: list[Any]) -> None:
            raise ConnectionError("server closed the connection unexpectedly")

    store.transaction = lambda: _broken(store, Broken)  # type: ignore[method-assign]
    proc = processor(store)
    sent = sending(proc)
    with pytest.raises(ConnectionError):
        asyncio.run(proc.handle(history()))
    assert sent == {"keten.timeline": [], "keten.deadletter": []}, "nothing sent, nothing lost"


def _broken(store: MemoryStore, tx_type: type[MemoryTx]) -> Any:
    class _Ctx:
        async def __aenter__(self) -> MemoryTx:
            return tx_type(store)

        async def __aexit__(self, *exc: Any) -> None:
            return None

    return _Ctx()


def test_a_store_that_comes_back_is_waited_for_and_the_batch_applied_once() -> None:
    store = MemoryStore()
    failures = [ConnectionError("server closed the connection unexpectedly")] * 2
    reconnects: list[int] = []
    real_tx = store.transaction

    def flaky() -> Any:
        if failures:
            raise failures.pop()
        return real_tx()

    async def reconnect() -> None:
        reconnects.append(1)

    store.transaction = flaky  # type: ignore[method-assign]
    store.reconnect = reconnect  # type: ignore[method-assign]
    proc = processor(store)
    sent = sending(proc)
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    said: list[str] = []
    kept: list[str] = []

    async def on_fault(at: Any, error: str) -> None:
        if failures:  # the store is still down: keeping the fault fails too
            raise ConnectionError("still down")
        kept.append(error)

    records = history()
    asyncio.run(proc.handle_surviving(records, said.append, sleep=sleep, on_fault=on_fault))
    assert slept == [1.0, 2.0] and len(reconnects) == 2
    assert kept == ["ConnectionError: server closed the connection unexpectedly"] * 2
    assert len(sent["keten.timeline"]) == len(records), "applied once, after the store came back"
    assert store.offsets == {(records[0].topic, 0): len(records)}
    assert proc.counters.faults == 2 and proc.last_error is not None
    assert "server closed the connection" in said[0] and "recovered" in said[-1]


def test_the_timeline_is_at_least_once_a_lost_commit_repeats_the_same_event_ids() -> None:
    """The promise keten.timeline keeps: a commit lost after the broker acknowledged the sends
    repeats them with the same ce_id (consumers de-duplicate by it); the store keeps one."""
    store = MemoryStore()
    real_tx = store._tx
    lost = [True]

    def losing_commit() -> Any:
        inner = real_tx()

        class _Ctx:
            async def __aenter__(self) -> MemoryTx:
                return await inner.__aenter__()

            async def __aexit__(self, *exc: Any) -> None:
                if lost and exc[0] is None:
                    lost.pop()
                    await inner.__aexit__(ConnectionError, ConnectionError("lost"), None)
                    raise ConnectionError("connection lost during COMMIT")
                await inner.__aexit__(*exc)

        return _Ctx()

    store.transaction = losing_commit  # type: ignore[method-assign]
    proc = processor(store)
    sent = sending(proc)

    async def no_wait(_: float) -> None:
        return None

    records = history()
    asyncio.run(proc.handle_surviving(records, lambda _: None, sleep=no_wait))
    ids = Counter(dict(o.headers)["ce_id"] for o in sent["keten.timeline"])
    assert set(ids.values()) == {2}, "every event sent twice, with the same event id"
    assert len(ids) == len(records) == len(store.facts), "and stored once"
