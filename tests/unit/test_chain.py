"""The producers' hash chain without a broker: links cover key, value and time; the walker
names each kind of tampering once, at its offset, and goes on without a cascade."""

from __future__ import annotations

from schemas import chain
from schemas.records import Raw

TOPIC = "keten.coa.events"
ALTERED = (
    "chain link does not match: this record was altered, or one before it was removed or slipped in"
)
UNCHAINED = "no chain link: not sent by the publisher"


def chained(n: int, partition: int = 0, prev: bytes = chain.GENESIS) -> list[Raw]:
    out = []
    for offset in range(n):
        key, value, ts = f"k{offset % 3}".encode(), f"value {offset}".encode(), 1_700_000 + offset
        prev = chain.link(prev, key, value, ts)
        out.append(
            Raw(TOPIC, partition, offset, key, value, [("ce_id", b"x"), (chain.HEADER, prev)], ts)
        )
    return out


def renumbered(records: list[Raw]) -> list[Raw]:
    """As the broker would store them: offsets in order, whatever was slipped in."""
    return [
        Raw(r.topic, r.partition, i, r.key, r.value, r.headers, r.timestamp_ms)
        for i, r in enumerate(records)
    ]


def breaks(records: list[Raw], prev: bytes = chain.GENESIS) -> list[tuple[int, str]]:
    return [(b.offset, b.reason) for b in chain.walk(records, prev)[0]]


def test_the_link_is_sha256_over_prev_lengths_key_value_and_time() -> None:
    import hashlib  # noqa: PLC0415

    expected = hashlib.sha256(
        bytes(32)
        + (1).to_bytes(8, "big")
        + b"k"
        + (2).to_bytes(8, "big")
        + b"vv"
        + (1_700_000_000_000).to_bytes(8, "big")
    ).digest()
    assert chain.link(chain.GENESIS, b"k", b"vv", 1_700_000_000_000) == expected
    assert len(expected) == 32


def test_links_cover_key_value_and_time() -> None:
    base = chain.link(chain.GENESIS, b"k", b"v", 1)
    assert base != chain.link(chain.GENESIS, b"k", b"v", 2)
    assert base != chain.link(chain.GENESIS, b"kv", b"", 1)
    assert base != chain.link(chain.GENESIS, None, b"kv", 1)
    assert base != chain.link(bytes([1]) * 32, b"k", b"v", 1)
    assert base == chain.link(chain.GENESIS, b"k", b"v", 1)


def test_an_intact_chain_walks_clean_and_ends_at_its_last_link() -> None:
    records = chained(20)
    found, head = chain.walk(records)
    assert found == []
    assert head == chain.link_of(records[-1])


def test_a_chain_continues_from_a_given_link() -> None:
    first = chained(5)
    head = chain.link_of(first[-1])
    assert head is not None
    later = [
        Raw(r.topic, r.partition, r.offset + 5, r.key, r.value, r.headers, r.timestamp_ms)
        for r in chained(5, prev=head)
    ]
    assert breaks(later, head) == []
    assert breaks(later) == [(5, ALTERED)]


def test_a_changed_byte_is_one_break_at_its_record() -> None:
    records = chained(20)
    r = records[7]
    records[7] = Raw(r.topic, r.partition, r.offset, r.key, b"value 7!", r.headers, r.timestamp_ms)
    assert breaks(records) == [(7, ALTERED)]


def test_a_changed_timestamp_is_one_break() -> None:
    records = chained(20)
    r = records[3]
    records[3] = Raw(r.topic, r.partition, 3, r.key, r.value, r.headers, r.timestamp_ms + 1)
    assert breaks(records) == [(3, ALTERED)]


def test_a_removed_record_names_the_gap_and_the_record_after_it() -> None:
    records = chained(20)
    assert breaks(records[:12] + records[13:]) == [
        (12, "offsets 12..12 are missing"),
        (13, ALTERED),
    ]


def test_a_record_removed_and_offsets_closed_up_is_still_named() -> None:
    records = chained(20)
    assert breaks(renumbered(records[:12] + records[13:])) == [(12, ALTERED)]


def test_a_slipped_in_record_is_one_break_whether_or_not_it_carries_a_link() -> None:
    records = chained(20)
    stranger = Raw(TOPIC, 0, 0, b"k", b"forged", [], 1_700_000_009)
    assert breaks(renumbered([*records[:9], stranger, *records[9:]])) == [(9, UNCHAINED)]
    forged = Raw(TOPIC, 0, 0, b"k", b"forged", [(chain.HEADER, bytes(32))], 1_700_000_009)
    assert breaks(renumbered([*records[:9], forged, *records[9:]])) == [(9, ALTERED)]
    # One slipped in right after the first ends the chain's start, and is named alone too.
    assert breaks(renumbered([*records[:1], forged, *records[1:]])) == [(1, ALTERED)]


def test_records_after_a_slipped_in_link_that_chain_from_it_are_sound() -> None:
    # The publisher continues from the last link on the log, a forged one included.
    records = chained(5)
    forged = Raw(TOPIC, 0, 5, b"k", b"forged", [(chain.HEADER, bytes(32))], 1_700_000_009)
    after = [
        Raw(r.topic, r.partition, r.offset + 6, r.key, r.value, r.headers, r.timestamp_ms)
        for r in chained(3, prev=bytes(32))
    ]
    assert breaks([*records, forged, *after]) == [(5, ALTERED)]


def test_records_out_of_order_are_named() -> None:
    records = chained(6)
    swapped = [records[0], records[2], records[1], *records[3:]]
    found = breaks(swapped)
    assert (1, "out of order: follows offset 2") in found
    assert found[0] == (1, "offsets 1..1 are missing")


def test_the_walk_counts_records_and_chained_ones() -> None:
    walk = chain.ChainWalk()
    records = [*chained(4), Raw(TOPIC, 0, 4, None, b"x", [], 1)]
    for r in records:
        walk.step(r)
    assert (walk.records, walk.chained) == (5, 4)
