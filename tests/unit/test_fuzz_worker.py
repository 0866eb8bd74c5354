"""The worker fuzzed (processors/batch.py over the in-memory store): one person's valid history
with hostile records slipped in anywhere — garbage, truncated or flipped values, another key,
headers gone — and some that pass the gate but the store refuses. The worker never raises;
every valid record is stored and passed on to the timeline exactly once; every record ends on
the timeline or the dead letter; the position moves past the whole batch. Bounded and
derandomized like the other fuzzers (docs/security.md, "Hostile input (fuzzing)")."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from schemas.codec import default_codec
from schemas.records import Raw
from tests.unit.memory_store import TOPIC, MemoryStore, coa, history, processor, sending

FUZZ = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
HOW = ["garbage", "truncate", "flip", "key", "headers", "refused"]


def _event_id(raw: Raw) -> str:
    return str(default_codec().decode(raw.value or b"").record["envelope"]["event_id"])


def _hostile(n: int, how: str, at: int, junk: bytes) -> Raw:
    """A record of the same person, with its own event id, made hostile."""
    raw = coa(100 + n, "ReceptionStarted", 30 + n, {"reception_group": "OTHER"})
    value = raw.value or b""
    if how == "garbage":
        return dataclasses.replace(raw, value=junk)
    if how == "truncate":
        return dataclasses.replace(raw, value=value[: at % len(value)])
    if how == "flip":
        spot = 10 + at % (len(value) - 10)
        return dataclasses.replace(raw, value=value[:spot] + junk[:1] + value[spot + 1 :])
    if how == "key":
        return dataclasses.replace(raw, key=junk or None)
    if how == "headers":
        return dataclasses.replace(raw, headers=raw.headers[: at % max(1, len(raw.headers))])
    return raw  # "refused": valid, but the store will not hold it


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),
            st.sampled_from(HOW),
            st.integers(0, 10_000),
            st.binary(max_size=80),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_hostile_records_in_a_history_never_stop_the_worker_or_cost_a_valid_record(
    hostile: list[tuple[int, str, int, bytes]],
) -> None:
    valid = history()
    records = list(valid)
    bad = []
    for n, (where, how, at, junk) in enumerate(hostile):
        raw = _hostile(n, how, at, junk)
        records.insert(min(where, len(records)), raw)
        bad.append((raw, how))
    records = [dataclasses.replace(r, offset=i) for i, r in enumerate(records)]
    store = MemoryStore()
    store.refused_events.update(_event_id(raw) for raw, how in bad if how == "refused")
    proc = processor(store)
    sent = sending(proc)
    asyncio.run(proc.handle(records))

    wanted = {_event_id(r) for r in valid}
    assert wanted <= {f.event_id for f in store.facts.values()}, "a valid record was not stored"
    passed_on = Counter(o.value for o in sent["keten.timeline"])
    assert all(n == 1 for n in passed_on.values()), "a record passed on twice"
    assert all(passed_on[r.value] == 1 for r in valid), "a valid record not passed on"
    dead = {int(dict(d.headers)["dl_source_offset"]) for d in sent["keten.deadletter"]}
    for d in sent["keten.deadletter"]:
        event(f"dead letter {dict(d.headers)['dl_reason'].decode()}")
    timeline = {r.offset for r in records if passed_on[r.value]}
    assert dead | timeline == set(range(len(records))), "a record went nowhere"
    assert store.offsets == {(TOPIC, 0): len(records)}, "the position did not move past the batch"
