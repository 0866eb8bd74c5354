"""The webhook sender's work for one registered endpoint (issue 15, `ketenlog webhooks run`):
its organisation's inbox records in, signed CloudEvents batches out, positions after each
batch is acknowledged (2xx) or parked. No Kafka client and no HTTP client here: the worker
(processors.webhook_worker) hands in an `InboxSource` and a `Post`, the store
(projections.webhook_store) keeps positions, dead letters and counters.

Order per person: records are sent in inbox order (one partition per person, as the inbox is
keyed by the person key), one request at a time. A batch that fails every try is parked, and
while a person has a parked delivery their later events are parked behind it without being
tried, so a redelivery (`ketenlog webhooks redeliver`) sends each person's events in order.
Delivery is at least once: a request that timed out may have been received, and a crash after
the receiver's 2xx but before the commit sends the batch again; the event id is the key to
de-duplicate on.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from domain.webhook_signing import backoff_delay, secret_key, signature_headers
from processors.webhook_events import (
    CONTENT_TYPE_BATCH,
    Outgoing,
    UnreadableRecordError,
    is_for,
    outgoing,
    unreadable,
)
from schemas.codec import Codec
from schemas.records import Raw

Say = Callable[[str], None]
WAITS_BEHIND = "waits behind an earlier parked delivery of the same person"


class StoppedError(Exception):
    """The sender was asked to stop in the middle of a batch; nothing of it is committed."""


@dataclass(frozen=True)
class Webhook:
    id: int
    org: str
    gemeente: str | None
    url: str
    secret: str

    @property
    def name(self) -> str:
        who = f"{self.org}:{self.gemeente}" if self.gemeente else self.org
        return f"webhook {self.id} ({who})"


@dataclass(frozen=True)
class Parked:
    """A delivery for the dead letter, after `attempts` tries that ended in `error`."""

    item: Outgoing
    attempts: int
    error: str
    status: str = "parked"


# A dead letter's delivery as the store gives it: (partition, offset, event id, person, event).
DeadLetterRow = tuple[int, int, str, str, dict[str, Any]]


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after_s: float | None = None


# POSTs a body with headers within a timeout; raises on a connection error or timeout.
Post = Callable[[str, bytes, dict[str, str], float], Awaitable[Answer]]


@dataclass(frozen=True)
class SenderOptions:
    batch: int = 100
    max_attempts: int = 8
    timeout_s: float = 10.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 300.0
    until_idle: bool = False
    poll_ms: int = 500


class InboxSource(Protocol):
    async def fetch(self, max_records: int, timeout_ms: int) -> list[Raw]: ...
    def caught_up(self) -> bool:
        """Everything the inbox held when the source started has been fetched."""
        ...


class WebhookStore(Protocol):
    async def blocked(self, webhook_id: int) -> set[str]: ...
    async def requeued(self, webhook_id: int, limit: int) -> list[DeadLetterRow]: ...
    async def handled(
        self,
        webhook_id: int,
        *,
        positions: dict[int, int],
        delivered: int = 0,
        parked: Sequence[Parked] = (),
        redelivered: Sequence[tuple[int, int]] = (),
    ) -> None: ...
    async def attempted(self, webhook_id: int, error: str | None) -> None: ...


@dataclass
class Counters:
    delivered: int = 0
    parked: int = 0
    redelivered: int = 0
    requests: int = 0
    failures: int = 0
    skipped: int = field(default=0)
    """Records of the inbox that are another endpoint's (another municipality's)."""


class WebhookSender:
    def __init__(
        self,
        hook: Webhook,
        *,
        codec: Codec,
        store: WebhookStore,
        post: Post,
        options: SenderOptions,
        say: Say,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hook = hook
        self._key = secret_key(hook.secret)
        self._codec = codec
        self._store = store
        self._post = post
        self._options = options
        self._say = say
        self._sleep = sleep
        self._clock = clock
        self._blocked: set[str] = set()
        self._stopping = False
        self.counters = Counters()

    def request_stop(self) -> None:
        """Stop before the next request (the endpoint was removed or changed): what is not
        committed yet is sent again by the next sender, from the stored positions."""
        self._stopping = True

    async def run(self, source: InboxSource) -> None:
        """Until cancelled, or (until_idle) until the inbox as it was at start is handled and
        nothing requeued is left."""
        self._blocked = await self._store.blocked(self.hook.id)
        try:
            while not self._stopping:
                if await self.redeliver_once():
                    continue
                raws = await source.fetch(self._options.batch, self._options.poll_ms)
                if raws:
                    await self.handle(raws)
                elif self._options.until_idle and source.caught_up():
                    return
        except StoppedError:
            return

    async def redeliver_once(self) -> bool:
        """Send the next requeued batch of the dead letter; whether there was one that went
        through (a failing one goes back to parked, so the caller moves on)."""
        rows = await self._store.requeued(self.hook.id, self._options.batch)
        if not rows:
            return False
        items = [Outgoing(*r) for r in rows]
        ok, attempts, error = await self._deliver(items)
        if ok:
            await self._store.handled(
                self.hook.id,
                positions={},
                delivered=len(items),
                redelivered=[(i.partition, i.offset) for i in items],
            )
            self.counters.redelivered += len(items)
            self._blocked = await self._store.blocked(self.hook.id)
            return True
        await self._store.handled(
            self.hook.id, positions={}, parked=[Parked(i, attempts, error) for i in items]
        )
        # Everything else requeued would fail the same way now: back to parked with it.
        rest = await self._store.requeued(self.hook.id, 1_000_000)
        await self._store.handled(
            self.hook.id,
            positions={},
            parked=[Parked(Outgoing(*r), 0, error) for r in rest],
        )
        return False

    async def handle(self, raws: list[Raw]) -> None:
        """Records of the inbox in their order: this endpoint's in batches of at most `batch`,
        each batch committed (with the positions of every record up to it) once sent or
        parked."""
        segment: list[Raw] = []
        mine: list[Raw] = []
        for raw in raws:
            segment.append(raw)
            if not is_for(raw, self.hook.gemeente):
                self.counters.skipped += 1
                continue
            mine.append(raw)
            if len(mine) == self._options.batch:
                await self._handle_segment(segment, mine)
                segment, mine = [], []
        if segment:
            await self._handle_segment(segment, mine)

    async def _handle_segment(self, segment: list[Raw], mine: list[Raw]) -> None:
        positions: dict[int, int] = {}
        for raw in segment:
            positions[raw.partition] = max(positions.get(raw.partition, 0), raw.offset + 1)
        items: list[Outgoing] = []
        parked: list[Parked] = []
        for raw in mine:
            try:
                item = outgoing(raw, self._codec)
            except UnreadableRecordError as exc:
                self._say(f"{self.hook.name}: {exc}; parked")
                item = unreadable(raw, exc)
                parked.append(Parked(item, 0, str(exc)))
                # Its person's later events wait behind it, as behind any parked event.
                self._blocked.add(item.person_key)
                continue
            if item.person_key in self._blocked:
                parked.append(Parked(item, 0, WAITS_BEHIND))
            else:
                items.append(item)
        delivered = 0
        if items:
            ok, attempts, error = await self._deliver(items)
            if ok:
                delivered = len(items)
            else:
                parked += [Parked(i, attempts, error) for i in items]
                self._blocked |= {i.person_key for i in items}
                self._say(f"{self.hook.name}: {len(items)} events parked after {attempts} tries")
        parked.sort(key=lambda p: (p.item.partition, p.item.offset))
        await self._store.handled(
            self.hook.id, positions=positions, delivered=delivered, parked=parked
        )
        self.counters.delivered += delivered
        self.counters.parked += len(parked)

    async def _deliver(self, items: list[Outgoing]) -> tuple[bool, int, str]:
        """POST one batch, trying up to max_attempts times: (delivered, tries, last error)."""
        body = orjson.dumps([i.event for i in items])
        # The same batch keeps its message id across tries (Standard Webhooks' idempotency
        # key for the request; each event's own id is the key for the event).
        msg_id = "msg_" + hashlib.sha256("\n".join(i.event_id for i in items).encode()).hexdigest()
        msg_id = msg_id[:36]
        error = ""
        o = self._options
        for attempt in range(1, o.max_attempts + 1):
            if self._stopping:
                raise StoppedError
            headers = signature_headers(self._key, msg_id, int(self._clock()), body)
            headers["content-type"] = CONTENT_TYPE_BATCH
            retry_after: float | None = None
            try:
                answer = await self._post(self.hook.url, body, headers, o.timeout_s)
                retry_after = answer.retry_after_s
                failed = None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
            except TimeoutError:
                failed = f"no answer within {o.timeout_s:g} s"
            except Exception as exc:
                failed = f"{type(exc).__name__}: {exc}"
            self.counters.requests += 1
            await self._store.attempted(self.hook.id, failed)
            if failed is None:
                return True, attempt, ""
            self.counters.failures += 1
            error = failed
            if attempt == o.max_attempts:
                break
            delay = backoff_delay(attempt, o.backoff_base_s, o.backoff_cap_s)
            if retry_after is not None:
                delay = min(o.backoff_cap_s, max(delay, retry_after))
            self._say(
                f"{self.hook.name}: try {attempt} of {o.max_attempts} failed ({failed}); "
                f"again in {delay:.1f} s"
            )
            while delay > 0 and not self._stopping:
                await self._sleep(min(delay, 1.0))
                delay -= 1.0
        return False, o.max_attempts, error
