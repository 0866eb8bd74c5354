"""The agency publisher: validate, pseudonymise, encode and produce one organisation's events to
its own topic, keyed by person. With producers/sender.py (its producer in a process of its
own, for `ketenlog publish`), the only modules that import kafka-python's producer.

An event counts as published only once the broker acknowledged it (acks from all in-sync
replicas, idempotent producer). When the broker cannot be reached within the bounded time,
`flush` raises `PublishError` listing every event that was not acknowledged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from producers.prepare import Prepared, Preparer
from producers.sender import Outcome, SenderGoneError, SendingProcess, abandon
from producers.submission import Submission
from schemas import chain, signature
from schemas.access import KafkaAccess
from schemas.signature import Signer
from schemas.topics import Org, event_topic

CHUNK = 500
"""Records chained and signed together before they are handed to the producer."""


@dataclass(frozen=True)
class Receipt:
    """Proof of publication: where the broker stored the event."""

    event_id: str
    event_type: str
    topic: str
    partition: int
    offset: int
    # The record's key: the person key, or the subject key (`location:...`) of a non-person event.
    person_key: str


@dataclass(frozen=True)
class Failure:
    event_id: str
    event_type: str
    source_ref: str | None
    reason: str


class PublishError(Exception):
    """Some events were not acknowledged; `failures` names each, `receipts` the ones that were."""

    def __init__(self, failures: list[Failure], receipts: list[Receipt]) -> None:
        self.failures = failures
        self.receipts = receipts
        first = failures[0].reason if failures else "unknown"
        super().__init__(
            f"{len(failures)} event(s) not acknowledged by the broker (first reason: {first}); "
            "they were not published — publish them again once the broker is reachable: "
            "their ids are deterministic when they carry a source reference, so nothing is doubled"
        )


@dataclass(frozen=True)
class DeliverySettings:
    """Producer settings; the benchmark records them next to its figures."""

    timeout_s: float = 30.0
    linger_ms: int = 20
    batch_size: int = 256 * 1024
    max_in_flight: int = 5

    def producer_config(self, kafka: KafkaAccess) -> dict[str, Any]:
        timeout_ms = int(self.timeout_s * 1000)
        # kafka-python insists delivery_timeout_ms >= linger_ms + request_timeout_ms.
        request_ms = max(500, min(10_000, timeout_ms - self.linger_ms - 1))
        delivery_ms = max(timeout_ms, request_ms + self.linger_ms)
        return {
            **kafka.kafka_python(),
            "acks": "all",
            "enable_idempotence": True,
            # Bounded: retries stop when delivery_timeout_ms runs out, then the future fails.
            "retries": 2**31 - 1,
            "delivery_timeout_ms": delivery_ms,
            "request_timeout_ms": request_ms,
            "max_block_ms": timeout_ms,
            "bootstrap_timeout_ms": timeout_ms,
            "linger_ms": self.linger_ms,
            "batch_size": self.batch_size,
            "max_in_flight_requests_per_connection": self.max_in_flight,
            "allow_auto_create_topics": False,
        }


def open_producer(kafka: KafkaAccess, delivery: DeliverySettings, client_id: str) -> Any:
    """A kafka-python producer; failure to reach the broker becomes a PublishError-friendly text."""
    try:
        return KafkaProducer(client_id=client_id, **delivery.producer_config(kafka))
    except KafkaError as exc:
        raise ConnectionError(
            f"cannot reach Kafka at {kafka} within {delivery.timeout_s:.0f}s ({exc!r}); "
            "is it running (`ketenlog status`)?"
        ) from exc


class Publisher:
    """Publish one organisation's events. Use as a context manager, or call `close()`.

    >>> with Publisher(Org.IND, preparer, settings.kafka("ind")) as pub:
    ...     pub.publish(submission)
    ...     receipts = pub.flush()
    """

    def __init__(
        self,
        org: Org | str,
        preparer: Preparer,
        kafka: KafkaAccess,
        delivery: DeliverySettings | None = None,
        *,
        on_ack: Callable[[Receipt], None] | None = None,
        topic: str | None = None,
        producer: Any | None = None,
        signer: Signer | None = None,
        sending_process: bool = False,
    ) -> None:
        """`producer`: an open kafka-python producer (see `open_producer`) to share between
        the publishers of several organisations in one process; its owner closes it.
        `signer`: the organisation's signing key (infra/signing_keys.py); without one the
        records go out unsigned, and the timeline processor dead-letters them (UNSIGNED).
        `sending_process`: the producer runs in a child process (producers/sender.py) and
        sends each chunk while the next is prepared, for a caller that publishes many events
        (`ketenlog publish`); not with `producer`, nor for `publish_now`."""
        self.org = Org(org)
        # Another topic than the organisation's own only for benchmarks and tests.
        self.topic = topic or event_topic(self.org)
        self._preparer = preparer
        self._delivery = delivery or DeliverySettings()
        self._on_ack = on_ack
        self._owns_producer = producer is None
        self._sender: SendingProcess | None = None
        self._partitions: int | None = None
        client_id = f"ketenlog-{self.org.value}"
        if sending_process:
            if producer is not None:
                raise ValueError("a sending process opens its own producer")
            config = {"client_id": client_id, **self._delivery.producer_config(kafka)}
            self._sender = SendingProcess(config, self.topic, self._delivery.timeout_s)
            self._partitions = self._sender.partitions
        # None with a sending process, which holds the producer.
        self._producer: Any = (
            None if sending_process else producer or open_producer(kafka, self._delivery, client_id)
        )
        self._unsent: list[Prepared] = []
        self._pending: list[tuple[Prepared, Any]] = []
        self._signer = signer
        self._kafka = kafka
        # Per partition, the link of the last record sent; read from the log on first use.
        # Each organisation's chain continues across publishers and restarts (one publisher
        # per organisation at a time: two at once would fork a chain, and verify says so).
        self._links: dict[int, bytes] = {}

    def publish(self, submission: Submission) -> str:
        """Validate, encode and send; returns the event id. Not published until `flush` says so."""
        prepared = self._preparer.prepare(self.org, submission)
        self.send_prepared(prepared)
        return prepared.event_id

    def publish_now(self, submission: Submission) -> tuple[str, Any]:
        """As `publish`, but chained, signed and handed to the producer at once rather than
        with its chunk: for a caller that times each event (bench/latency.py). Returns the
        event id and the producer's future (`add_callback` hears the acknowledgement);
        `flush` still reports it."""
        if self._sender is not None:
            raise TypeError("publish_now needs an in-process producer")
        prepared = self._preparer.prepare(self.org, submission)
        self._unsent.append(prepared)
        self._drain()
        return prepared.event_id, self._pending[-1][1]

    def send_prepared(self, prepared: Prepared) -> None:
        """Queue a prepared record; it is chained, signed and sent with the next `CHUNK`
        records, or by `flush`."""
        self._unsent.append(prepared)
        if len(self._unsent) >= CHUNK:
            self._drain()

    def _drain(self) -> None:
        """Chain every queued record, sign them together (one signature over their Merkle
        root, schemas/signature.py), then hand them all to the producer. Not one record at a
        time: each signature is a call into the crypto library that lets the producer's I/O
        thread take the GIL, and taking it back waits for that thread
        (bench/publish_throughput.py: 2,296 events/s one at a time, 3,005 in chunks)."""
        unsent, self._unsent = self._unsent, []
        ready: list[tuple[Prepared, int, int, list[tuple[str, bytes]], bytes]] = []
        links: list[bytes] = []
        for prepared in unsent:
            try:
                partition = self._partition(prepared.key)
                if not self._links:
                    self._links = last_links(self._kafka, self.topic, self._partitions or 0)
            except KafkaError as exc:
                # The record never left: record it as failed so flush reports it.
                self._pending.append((prepared, _FailedFuture(exc)))
                continue
            timestamp_ms = int(time.time() * 1000)
            before = self._links[partition]
            link = chain.link(before, prepared.key, prepared.value, timestamp_ms)
            headers = [*prepared.headers, (chain.HEADER, link)]
            self._links[partition] = link
            links.append(link)
            ready.append((prepared, partition, timestamp_ms, headers, before))
        if self._signer is not None and ready:
            # One signature for the chunk (a Merkle root), each record with its audit path.
            signed = self._signer.sign_chunk(
                self.topic,
                [(link, p.key, p.value) for link, (p, *_) in zip(links, ready, strict=True)],
            )
            for (_, _, _, headers, _), header in zip(ready, signed, strict=True):
                headers.append((signature.HEADER, header))
        if self._sender is not None:
            self._hand_over(ready)
            return
        broken: dict[int, KafkaError] = {}
        for prepared, partition, timestamp_ms, headers, before in ready:
            future: Any
            if partition in broken:
                # Its link names a record that never left: sending it would break the chain.
                future = _FailedFuture(broken[partition])
            else:
                try:
                    future = self._producer.send(
                        self.topic,
                        value=prepared.value,
                        key=prepared.key,
                        headers=headers,
                        partition=partition,
                        timestamp_ms=timestamp_ms,
                    )
                except KafkaError as exc:
                    broken[partition] = exc
                    # The chain goes on from the last record that did leave.
                    self._links[partition] = before
                    future = _FailedFuture(exc)
            self._pending.append((prepared, future))

    def _hand_over(
        self, ready: list[tuple[Prepared, int, int, list[tuple[str, bytes]], bytes]]
    ) -> None:
        """The chunk to the sending process; it marks a partition whose send failed broken
        until the flush, which then clears the links, so no record's link names one that
        never left."""
        assert self._sender is not None
        records = [(p.key, p.value, headers, part, ts) for p, part, ts, headers, _ in ready]
        try:
            self._sender.send(records)
        except SenderGoneError as exc:
            for prepared, *_ in ready:
                self._pending.append((prepared, _FailedFuture(exc)))
            return
        for prepared, *_ in ready:
            self._pending.append((prepared, _HANDED_OVER))

    def _partition(self, key: bytes) -> int:
        """kafka-python's (and Java's) default partitioner, computed here because the chain
        link must be known per partition before the record is sent."""
        if self._partitions is None:
            assert self._producer is not None
            found = self._producer.partitions_for(self.topic)
            if not found:
                raise KafkaError(f"no partitions known for {self.topic}")
            self._partitions = len(found)
        return int(murmur2(key) & 0x7FFFFFFF) % self._partitions

    def publish_many(self, submissions: Iterable[Submission]) -> list[Receipt]:
        for submission in submissions:
            self.publish(submission)
        return self.flush()

    def flush(self) -> list[Receipt]:
        """Wait for every sent event's acknowledgement (bounded); raise if any was not acked."""
        self._drain()
        pending, self._pending = self._pending, []
        deadline = time.monotonic() + self._delivery.timeout_s + 5
        outcomes = iter(self._sender_outcomes(pending))
        if self._producer is not None:
            # A timed-out flush is not the verdict: each future below carries its own outcome.
            with contextlib.suppress(KafkaError):
                self._producer.flush(timeout=self._delivery.timeout_s + 5)
        receipts: list[Receipt] = []
        failures: list[Failure] = []
        for prepared, future in pending:
            reason = None
            if future is _HANDED_OVER:
                outcome = next(outcomes)
                reason, where = outcome.reason, (outcome.partition, outcome.offset)
            else:
                try:
                    meta = future.get(timeout=max(0.0, deadline - time.monotonic()))
                    where = (meta.partition, meta.offset)
                except Exception as exc:  # kafka-python raises KafkaError subclasses, timeouts
                    reason = f"{type(exc).__name__}: {exc}"
            if reason is None:
                receipt = Receipt(
                    event_id=prepared.event_id,
                    event_type=prepared.event_type,
                    topic=self.topic,
                    partition=where[0],
                    offset=where[1],
                    person_key=prepared.key.decode(),
                )
                receipts.append(receipt)
                if self._on_ack is not None:
                    self._on_ack(receipt)
            else:
                failures.append(
                    Failure(prepared.event_id, prepared.event_type, prepared.source_ref, reason)
                )
        if failures:
            # What the chain continues from is on the broker now, not in memory.
            self._links.clear()
            raise PublishError(failures, receipts)
        return receipts

    def _sender_outcomes(self, pending: list[tuple[Prepared, Any]]) -> list[Outcome]:
        """The sending process's outcome of each record handed over, in order."""
        handed = sum(1 for _, future in pending if future is _HANDED_OVER)
        if self._sender is None or not handed:
            return []
        try:
            outcomes = self._sender.flush()
        except SenderGoneError as exc:
            return [Outcome(-1, -1, f"{type(exc).__name__}: {exc}")] * handed
        if len(outcomes) != handed:
            raise AssertionError(f"{handed} records handed over, {len(outcomes)} outcomes")
        return outcomes

    def close(self) -> None:
        if self._unsent:
            # Published but not flushed: sent as before, only not confirmed.
            with contextlib.suppress(KafkaError):
                self._drain()
        if self._sender is not None:
            # Its producer sends what it was handed before it stops.
            self._sender.close()
        elif self._owns_producer:
            # A broker that died leaves the producer unable to drain; what was not acknowledged
            # was reported by `flush` already, so closing must not turn into a traceback.
            try:
                self._producer.close(timeout=self._delivery.timeout_s)
            except KafkaError:
                abandon(self._producer)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_HANDED_OVER = object()
"""In place of a future: the record went to the sending process, which answers at flush."""


class _FailedFuture:
    """Stands in for a send that failed before it was queued (buffer full, no metadata)."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def get(self, timeout: float | None = None) -> Any:
        raise self._error


def last_links(kafka: KafkaAccess, topic: str, partitions: int) -> dict[int, bytes]:
    """The chain link of the last chained record of each partition of `topic` (GENESIS where
    there is none), read backwards in growing windows past records that carry none. Looks back
    at most LOOK_BACK records: a log from before chains gets a fresh chain, and verify reports
    the one break where it starts."""
    consumer: Any = KafkaConsumer(enable_auto_commit=False, **kafka.kafka_python())
    try:
        return {p: _last_link(consumer, TopicPartition(topic, p)) for p in range(partitions)}
    finally:
        consumer.close()


LOOK_BACK = 4096


def _last_link(consumer: Any, tp: Any) -> bytes:
    consumer.assign([tp])
    end = consumer.end_offsets([tp])[tp]
    start = max(consumer.beginning_offsets([tp])[tp], end - LOOK_BACK)
    window = 64
    while end > start:
        lower = max(start, end - window)
        consumer.seek(tp, lower)
        found: bytes | None = None
        while consumer.position(tp) < end:
            batch = consumer.poll(timeout_ms=10_000).get(tp, [])
            if not batch:
                raise KafkaError(f"{tp.topic}[{tp.partition}]: cannot read back to the last link")
            for record in batch:
                if record.offset < end:
                    carried = dict(record.headers or []).get(chain.HEADER)
                    found = bytes(carried) if carried is not None else found
        if found is not None:
            return found
        end, window = lower, window * 4
    return chain.GENESIS
