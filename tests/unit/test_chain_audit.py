"""The live-log chain audit's pure part: one partition's walk with its counts and head, a log
whose start was deleted, and the per-topic summary `verify-chains` prints."""

from __future__ import annotations

from infra.chain_audit import ChainAudit, audit_records
from schemas import chain
from schemas.records import Raw

TOPIC = "keten.ind.events"


def chained(n: int, partition: int = 0) -> list[Raw]:
    out, prev = [], chain.GENESIS
    for offset in range(n):
        value, ts = f"v{offset}".encode(), 1_700_000 + offset
        prev = chain.link(prev, b"k", value, ts)
        out.append(Raw(TOPIC, partition, offset, b"k", value, [(chain.HEADER, prev)], ts))
    return out


def test_a_partition_walk_counts_and_ends_at_its_head() -> None:
    records = [*chained(5), Raw(TOPIC, 0, 5, b"k", b"stranger", [], 1)]
    audit = audit_records(TOPIC, 0, 0, 6, records)
    assert (audit.records, audit.chained) == (6, 5)
    assert [(b.offset, b.kind) for b in audit.breaks] == [(5, "unchained")]
    assert audit.head == chain.link_of(records[4])


def test_a_log_whose_start_was_deleted_is_a_break_and_its_first_link_is_trusted() -> None:
    records = chained(10)
    tail = records[4:]
    truncated = audit_records(TOPIC, 0, 4, 10, tail).breaks
    assert [(b.offset, b.kind) for b in truncated] == [(4, "truncated")]
    assert "offsets 0..3 were deleted" in truncated[0].reason
    r = tail[3]
    tail[3] = Raw(r.topic, 0, r.offset, r.key, b"altered", r.headers, r.timestamp_ms)
    assert [b.offset for b in audit_records(TOPIC, 0, 4, 10, tail).breaks] == [4, 7]


def test_the_summary_adds_up_per_topic() -> None:
    audit = ChainAudit(
        [
            audit_records(TOPIC, 0, 0, 5, chained(5, 0)),
            audit_records(TOPIC, 1, 0, 3, [*chained(2, 1), Raw(TOPIC, 1, 2, None, b"x", [], 1)]),
            audit_records("keten.coa.events", 0, 0, 0, []),
        ]
    )
    assert [(t.topic, t.records, t.chained, t.breaks) for t in audit.by_topic()] == [
        (TOPIC, 8, 7, 1),
        ("keten.coa.events", 0, 0, 0),
    ]
    assert [str(b) for b in audit.breaks] == [
        f"{TOPIC}[1] offset 2: no chain link: not sent by the publisher"
    ]


def test_an_offset_without_a_record_is_no_break_on_the_live_log() -> None:
    # A transaction marker at offset 3; the publisher's chain goes on after it.
    records = chained(5)
    gapped = [
        *records[:3],
        *(
            Raw(r.topic, 0, r.offset + 1, r.key, r.value, r.headers, r.timestamp_ms)
            for r in records[3:]
        ),
    ]
    assert audit_records(TOPIC, 0, 0, 6, gapped).breaks == []
