"""The replay's batch path against the live path, without Kafka or PostgreSQL: a noisy
simulation (re-sends, corrections, retractions, late facts) plus poison records, cut into
organisation topics and partitions as the publisher cuts them, folded once by the live
BatchProcessor in small interleaved batches and once by processors.replay per partition group.
Both must store the same facts, states, changes, anomalies and positions."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, date, datetime

from kafka.partitioner.default import murmur2

from processors.replay import fold_records
from processors.timeline import Outgoing
from producers.prepare import Preparer
from producers.simulator import SimParams, simulate
from schemas.codec import default_codec
from schemas.records import Raw
from schemas.topics import DEADLETTER, TIMELINE, event_topic
from tests.unit.memory_store import MemoryStore, processor, sending

PARTITIONS = 3
LATER = datetime(2100, 1, 1, tzinfo=UTC)
KEY = b"replay-fold-test-chain-key-0123456789"


def log() -> list[Raw]:
    """The simulated period as records, each partition numbered from offset 0."""
    sim = simulate(
        SimParams(seed=5, scale=0.002, start=date(2026, 3, 1), end=date(2026, 4, 30)), KEY
    )
    prep = Preparer(KEY, "00000001", clock=lambda: LATER)
    next_offset: Counter[tuple[str, int]] = Counter()
    records = []
    ms = int(LATER.timestamp() * 1000)
    for i, (org, sub) in enumerate(sim.submissions()):
        p = prep.prepare(org, sub)
        topic = event_topic(org)
        partition = (murmur2(p.key) & 0x7FFFFFFF) % PARTITIONS
        value = p.value if i % 997 else b"\xc3\x01not an event"  # a poison record now and then
        offset = next_offset[(topic, partition)]
        next_offset[(topic, partition)] += 1
        records.append(Raw(topic, partition, offset, p.key, value, p.headers, ms))
    return records


def test_the_batch_path_stores_what_the_live_path_stores() -> None:
    records = log()
    assert len(records) > 2000

    store = MemoryStore()
    live = processor(store, PARTITIONS)
    rng = random.Random(3)

    async def feed() -> None:
        # Arrival order as a consumer sees it: partitions interleaved, batches of any size.
        queues: dict[tuple[str, int], list[Raw]] = {}
        for r in records:
            queues.setdefault((r.topic, r.partition), []).append(r)
        while queues:
            batch = []
            for tp in rng.sample(sorted(queues), k=min(4, len(queues))):
                take = rng.randint(1, 60)
                batch += queues[tp][:take]
                queues[tp] = queues[tp][take:]
                if not queues[tp]:
                    del queues[tp]
            await live.handle(batch)

    asyncio.run(feed())

    seen: set[tuple[str, str]] = set()
    codec = default_codec()
    persons, facts, positions, dead = {}, set(), {}, Counter[str]()
    for partition in range(PARTITIONS):
        group = sorted(
            (r for r in records if r.partition == partition), key=lambda r: (r.topic, r.offset)
        )
        folded = fold_records(codec, group, seen, partitions=PARTITIONS, now=LATER)
        persons.update({row.person_key: (row, n) for row, n in folded.persons})
        facts |= {f.key for f in folded.facts}
        positions.update(folded.positions)
        dead.update(folded.deadletters)

    assert facts == set(store.facts)
    assert positions == store.offsets
    assert dead == Counter(live.counters.by_reason) and dead["UNKNOWN_FINGERPRINT"] > 0
    assert live.counters.duplicates > 0, "the simulation re-sends events"
    assert set(persons) == set(store.states)
    for key, (row, n) in persons.items():
        assert row.state_json == store.states[key], key
        assert row.changes == store.changes[key], key
        assert row.anomalies == store.anomalies[key], key
        assert n == store.counts[key], key


def _comparable(
    outs: list[Outgoing],
) -> Counter[tuple[bytes | None, bytes | None, tuple[tuple[str, bytes], ...]]]:
    # dl_at is the moment of judging; everything else must be what the live path sends.
    return Counter((o.key, o.value, tuple(h for h in o.headers if h[0] != "dl_at")) for o in outs)


def test_the_catch_up_sends_what_the_live_path_sends_from_where_it_stopped() -> None:
    records = log()
    ends = Counter[tuple[str, int]]()
    for r in records:
        ends[(r.topic, r.partition)] = max(ends[(r.topic, r.partition)], r.offset + 1)
    cut = {tp: end // 2 for tp, end in ends.items()}

    live = processor(MemoryStore(), PARTITIONS)

    async def feed(part: list[Raw]) -> None:
        for i in range(0, len(part), 50):
            await live.handle(part[i : i + 50])

    # The live path stopped at `cut`; what it sends from there is what a catch-up owes.
    asyncio.run(feed([r for r in records if r.offset < cut[(r.topic, r.partition)]]))
    sent = sending(live)
    asyncio.run(feed([r for r in records if r.offset >= cut[(r.topic, r.partition)]]))

    emitted: dict[str, list[Outgoing]] = {TIMELINE: [], DEADLETTER: []}

    def emit(timeline: list[Outgoing], deadletters: list[Outgoing]) -> None:
        emitted[TIMELINE].extend(timeline)
        emitted[DEADLETTER].extend(deadletters)

    seen: set[tuple[str, str]] = set()
    for partition in range(PARTITIONS):
        group = sorted(
            (r for r in records if r.partition == partition), key=lambda r: (r.topic, r.offset)
        )
        fold_records(
            default_codec(),
            group,
            seen,
            partitions=PARTITIONS,
            now=LATER,
            emit=emit,
            emit_from=cut,
        )
    assert sent[TIMELINE] and sent[DEADLETTER], "both kinds are sent past the cut"
    for topic in (TIMELINE, DEADLETTER):
        assert _comparable(emitted[topic]) == _comparable(sent[topic]), topic
