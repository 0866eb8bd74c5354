"""The distribution processor's batch (issue 15): `keten.timeline` in, each organisation's inbox
`keten.<org>.inbox` out, by the pure decision of domain.distribution. No Kafka client and no
SQL here: the worker (processors.distribution_worker) hands batches in, the store (a
`DistributionStore`, projections.distribution_store) keeps the records, the deliveries and the
positions in one transaction.

Per batch: keep the new timeline records of every touched person, recompute the person's
deliveries from their whole history, subtract the (recipient, event id) pairs already in the
deliveries table, send the rest (waiting for the broker) and only then commit them with the
positions. A crash between send and commit sends the same records again (same `ce_id`): at
least once on the wire, once in the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from domain.distribution import Delivery, deliveries
from domain.facts import Fact
from domain.subscriptions import POLICY, Policy
from processors.faults import is_transient
from schemas.codec import Codec
from schemas.errors import DecodeError
from schemas.records import Headers, Raw
from schemas.sealing import SEALED
from schemas.topics import Org, inbox_topic

TopicPartition = tuple[str, int]
Sent = tuple[str, str, str]
"""(recipient, event id, person key): one delivery's identity."""

HEADER_RULE = "sub_rule"
HEADER_RULE_VERSION = "sub_rule_version"
HEADER_POLICY = "sub_policy"
HEADER_RECIPIENT = "sub_recipient"
HEADER_DUE_WITH = "sub_due_with"
# On gemeente inbox records only: the one inbox serves every municipality, a filter picks theirs.
HEADER_GEMEENTE = "ketenlog-gemeente"
OWN_HEADERS = {
    HEADER_RULE,
    HEADER_RULE_VERSION,
    HEADER_POLICY,
    HEADER_RECIPIENT,
    HEADER_DUE_WITH,
    HEADER_GEMEENTE,
}


@dataclass(frozen=True, slots=True)
class Received:
    """A timeline record as it came, and the fact it carries."""

    fact: Fact
    key: bytes | None
    value: bytes
    headers: Headers

    def headers_json(self) -> str:
        return json.dumps([[name, bytes(value).hex()] for name, value in self.headers])

    @classmethod
    def stored(cls, fact: Fact, key: bytes | None, value: bytes, headers_json: str) -> Received:
        """As the store gives it back (headers as `headers_json` wrote them)."""
        headers = [(str(name), bytes.fromhex(v)) for name, v in json.loads(headers_json)]
        return cls(fact, key, value, headers)


@dataclass(frozen=True, slots=True)
class InboxRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers
    delivery: Delivery
    person_key: str


class DistributionTx(Protocol):
    async def lock_persons(self, person_keys: list[str]) -> None: ...
    async def add_records(self, records: list[Received]) -> None:
        """Keep each (event id, person key) once: a repeated timeline record is ignored."""
        ...

    async def histories(self, person_keys: list[str]) -> dict[str, list[Received]]: ...
    async def delivered(self, person_keys: list[str]) -> set[Sent]: ...
    async def add_deliveries(self, records: list[InboxRecord], policy_label: str) -> None: ...
    async def advance(self, consumer: str, positions: dict[TopicPartition, int]) -> None: ...


class DistributionStore(Protocol):
    async def positions(self, consumer: str) -> dict[TopicPartition, int]: ...
    def transaction(self) -> AbstractAsyncContextManager[DistributionTx]: ...
    async def reconnect(self) -> None:
        """Drop the connection and open a new one (after a fault)."""
        ...

    async def close(self) -> None: ...


# Sends the records and returns once the broker acknowledged every one of them.
SendInbox = Callable[[list[InboxRecord]], Awaitable[None]]


@dataclass
class Counters:
    records: int = 0
    persons: int = 0
    delivered: int = 0
    undecodable: int = 0
    skipped: int = 0
    faults: int = 0
    """Times a batch failed for a fault of the store or the broker, and was tried again."""
    by_org: dict[str, int] = field(default_factory=dict)


def receive(codec: Codec, records: Iterable[Raw]) -> tuple[list[Received], list[Raw]]:
    """The facts of timeline records, and the records that carry none. The timeline holds only
    what the timeline processor accepted (signature checked there), so the second list stays
    empty unless something else wrote to the topic."""
    good: list[Received] = []
    bad: list[Raw] = []
    for raw in records:
        if raw.value is None:
            bad.append(raw)
            continue
        try:
            record = codec.decode(raw.value).record
            # Personal fields stay sealed: no rule needs them, and the recipient gets the
            # record's own bytes. The fact keeps their neutral placeholders, not the ciphertext.
            envelope_and_case = {k: v for k, v in record.items() if k != SEALED}
            fact = Fact.from_record(envelope_and_case, raw.topic, raw.partition, raw.offset, None)
        except (DecodeError, KeyError, TypeError, ValueError):
            bad.append(raw)
            continue
        good.append(Received(fact, raw.key, bytes(raw.value), list(raw.headers)))
    return good, bad


def due(history: list[Received], sent: set[Sent], policy: Policy = POLICY) -> list[InboxRecord]:
    """The inbox records a person's history entitles that were not sent before, per recipient
    in the valid-time order of the events; each carries the timeline record's bytes untouched."""
    if not history:
        return []
    by_id = {r.fact.event_id: r for r in history}
    person_key = history[0].fact.person_key
    out: list[InboxRecord] = []
    for d in deliveries((r.fact for r in history), policy):
        if (d.recipient, d.event_id, person_key) in sent:
            continue
        record = by_id[d.event_id]
        out.append(
            InboxRecord(
                inbox_topic(d.org),
                record.key,
                record.value,
                inbox_headers(record.headers, d, policy.label),
                d,
                person_key,
            )
        )
    return out


def inbox_headers(headers: Headers, d: Delivery, label: str) -> Headers:
    """The timeline record's headers (ce_id and the rest, as signed) and why it was delivered."""
    kept = [(k, v) for k, v in headers if k not in OWN_HEADERS]
    if not any(k == "ce_id" for k, _ in kept):
        kept.append(("ce_id", d.event_id.encode()))
    return [
        *kept,
        (HEADER_RULE, d.rule.encode()),
        (HEADER_RULE_VERSION, str(d.rule_version).encode()),
        (HEADER_POLICY, label.encode()),
        (HEADER_RECIPIENT, d.recipient.encode()),
        (HEADER_DUE_WITH, d.due_with.encode()),
        *gemeente_header(d),
    ]


def gemeente_header(d: Delivery) -> Headers:
    """`ketenlog-gemeente: GM0344` when the recipient is a municipality (the audience part of
    `GEMEENTE:GM0344`: the municipality the person is linked to), else nothing."""
    org, _, audience = d.recipient.partition(":")
    if org != Org.GEMEENTE.value or not audience:
        return []
    return [(HEADER_GEMEENTE, audience.encode())]


class BatchFaultError(Exception):
    """A batch failed for a reason that trying it again would not change (a defect, or a record
    the store refuses): the message names the batch's records and the cause."""

    def __init__(self, records: list[Raw], cause: BaseException) -> None:
        spans: dict[tuple[str, int], tuple[int, int]] = {}
        for r in records:
            low, high = spans.get((r.topic, r.partition), (r.offset, r.offset))
            spans[(r.topic, r.partition)] = (min(low, r.offset), max(high, r.offset))
        where = ", ".join(
            f"{t}[{p}] offsets {lo}..{hi}" for (t, p), (lo, hi) in sorted(spans.items())
        )
        super().__init__(
            f"distribution stopped on {where}: {type(cause).__name__}: {cause}; nothing of "
            "this batch was committed, so a restart after the cause is fixed resumes there"
        )
        self.cause = cause


class DistributionBatch:
    """Everything the distribution worker does with a batch; I/O through `store` and `send`."""

    def __init__(
        self,
        consumer: str,
        *,
        codec: Codec,
        store: DistributionStore,
        send: SendInbox,
        policy: Policy = POLICY,
    ) -> None:
        self.consumer = consumer
        self._codec = codec
        self._store = store
        self._send = send
        self._policy = policy
        self.positions: dict[TopicPartition, int] = {}
        self.counters = Counters()

    async def load_positions(self) -> dict[TopicPartition, int]:
        self.positions = await self._store.positions(self.consumer)
        return self.positions

    async def handle_surviving(
        self,
        records: list[Raw],
        say: Callable[[str], None],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_delay_s: float = 30.0,
    ) -> None:
        """`handle`, riding out faults of the store or the broker: wait (doubling, up to
        `max_delay_s`), reconnect, reload the positions (a commit may have gone through before
        the fault was seen) and try the same records again until they are applied. What the
        failed try sent goes out again with the same `ce_id`; the table keeps it once. Any
        other error would come back on every try: it stops the worker with `BatchFaultError`,
        naming the records, before their positions move (nothing is lost; a restart resumes
        at the same records)."""
        delay = 1.0
        while True:
            try:
                await self.handle(records)
            except Exception as exc:
                if not is_transient(exc):
                    raise BatchFaultError(records, exc) from exc
                self.counters.faults += 1
                say(f"distribute: {type(exc).__name__}: {exc}; trying again in {delay:.0f} s")
                await sleep(delay)
                delay = min(delay * 2, max_delay_s)
                with contextlib.suppress(Exception):
                    await self._store.reconnect()
                    await self.load_positions()
                continue
            if delay > 1.0:
                say("distribute: recovered; carrying on where the store's positions end")
            return

    async def handle(self, records: list[Raw]) -> None:
        # Below the stored position: done before (a redelivery after a crash or rebalance).
        fresh = [r for r in records if r.offset >= self.positions.get((r.topic, r.partition), 0)]
        self.counters.skipped += len(records) - len(fresh)
        if not fresh:
            return
        positions: dict[TopicPartition, int] = {}
        for r in fresh:
            tp = (r.topic, r.partition)
            positions[tp] = max(positions.get(tp, 0), r.offset + 1)
        received, bad = receive(self._codec, fresh)
        persons = sorted({r.fact.person_key for r in received})
        async with self._store.transaction() as tx:
            await tx.lock_persons(persons)
            await tx.add_records(received)
            histories = await tx.histories(persons)
            sent = await tx.delivered(persons)
            outgoing = [rec for key in persons for rec in due(histories[key], sent, self._policy)]
            if outgoing:
                await self._send(outgoing)
            await tx.add_deliveries(outgoing, self._policy.label)
            await tx.advance(self.consumer, positions)
        for tp, offset in positions.items():
            self.positions[tp] = max(self.positions.get(tp, 0), offset)
        c = self.counters
        c.records += len(fresh)
        c.persons += len(persons)
        c.undecodable += len(bad)
        c.delivered += len(outgoing)
        for rec in outgoing:
            c.by_org[rec.delivery.org.value] = c.by_org.get(rec.delivery.org.value, 0) + 1
