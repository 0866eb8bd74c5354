"""Tamper evidence on the wire: every record an organisation publishes carries, in the Kafka
header `ketenlog-chain`, a SHA-256 link over the record (key, value, timestamp) and the link of
the record before it on the same topic-partition. Pure: the publisher adds links, `verify`
and the archive reader walk them.

The link covers the encoded bytes as published. Personal fields that are erased later are
erased by deleting their key (crypto-shredding) while the ciphertext stays, so an erasure
never breaks a chain; rewriting a record, removing one or slipping one in does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

HEADER = "ketenlog-chain"
GENESIS = bytes(32)


class Record(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> list[tuple[str, bytes]]: ...
    @property
    def timestamp_ms(self) -> int: ...


def link(prev: bytes, key: bytes | None, value: bytes | None, timestamp_ms: int) -> bytes:
    """The link of a record that follows the record whose link is `prev`."""
    h = hashlib.sha256(prev)
    for part in (key, value):
        # Length-prefixed, and -1 for absent, so no two (key, value) pairs hash alike.
        h.update((-1 if part is None else len(part)).to_bytes(8, "big", signed=True))
        h.update(part or b"")
    h.update(timestamp_ms.to_bytes(8, "big", signed=True))
    return h.digest()


def link_of(record: Record) -> bytes | None:
    """The link the record carries, if any."""
    for name, value in record.headers:
        if name == HEADER:
            return bytes(value)
    return None


@dataclass(frozen=True)
class Break:
    topic: str
    partition: int
    offset: int
    reason: str
    # "unchained" (no link), "mismatch", "missing" (offsets), "order", "truncated" (the log's
    # first records deleted), "unsigned" / "signature" (no valid signature of the topic's
    # owner, schemas/signature.py): a live log shows "unchained" and "mismatch" when a client
    # other than the publisher wrote to the topic, "truncated" when someone deleted records.
    kind: str = "mismatch"

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}] offset {self.offset}: {self.reason}"


class ChainWalk:
    """The walk over one topic-partition, a record at a time (for streams that are also
    written elsewhere, like an export). `records` and `chained` count what it has seen."""

    def __init__(self, prev: bytes = GENESIS) -> None:
        self.prev = prev
        self.records = 0
        self.chained = 0
        self._next_offset: int | None = None
        # After a mismatch, the link before the suspect record: if the next record chains
        # from it, the suspect was slipped in and the next record is sound.
        self._before: bytes | None = None

    def step(self, r: Record) -> list[Break]:
        """The breaks this record shows. After a break the walk goes on from the record's own
        link, so one altered (or slipped-in) record is one break, not thousands."""
        breaks = []
        self.records += 1
        expected_offset = self._next_offset
        if expected_offset is not None and r.offset > expected_offset:
            missing = f"offsets {expected_offset}..{r.offset - 1} are missing"
            breaks.append(Break(r.topic, r.partition, expected_offset, missing, "missing"))
        elif expected_offset is not None and r.offset < expected_offset:
            disorder = f"out of order: follows offset {expected_offset - 1}"
            breaks.append(Break(r.topic, r.partition, r.offset, disorder, "order"))
        self._next_offset = max(r.offset + 1, expected_offset or 0)
        carried = link_of(r)
        if carried is None:
            reason = "no chain link: not sent by the publisher"
            return [*breaks, Break(r.topic, r.partition, r.offset, reason, "unchained")]
        self.chained += 1
        if carried != link(self.prev, r.key, r.value, r.timestamp_ms):
            resumes = self._before is not None and carried == link(
                self._before, r.key, r.value, r.timestamp_ms
            )
            if not resumes:
                reason = (
                    "chain link does not match: this record was altered, or one before it was "
                    "removed or slipped in"
                )
                breaks.append(Break(r.topic, r.partition, r.offset, reason))
                self._before, self.prev = self.prev, carried
                return breaks
        self._before, self.prev = None, carried
        return breaks


def walk(records: Iterable[Record], prev: bytes = GENESIS) -> tuple[list[Break], bytes]:
    """Check the links of one topic-partition's records in offset order, starting after a
    record whose link is `prev`; returns the breaks and the last link."""
    state = ChainWalk(prev)
    breaks = [b for r in records for b in state.step(r)]
    return breaks, state.prev
