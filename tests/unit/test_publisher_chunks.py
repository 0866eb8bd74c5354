"""The publisher's chunks (producers.publisher): records are chained and signed in chunks and
then handed to the producer; over a producer that keeps what it was given (no broker: the
integration tests publish to a real one), each partition's chain runs unbroken over what left,
a send that fails leaves no record behind it whose link names a record that never left, and
nothing published is lost to a close without flush."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka.errors import KafkaTimeoutError

from producers import publisher as publisher_module
from producers.prepare import Preparer
from producers.publisher import CHUNK, Publisher, PublishError
from producers.submission import Submission
from schemas import chain, signature
from schemas.signature import Signer

START = datetime(2026, 1, 1, tzinfo=UTC)
GENESIS = b"\x00" * 32


class Meta:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset


class Done:
    def __init__(self, meta: Meta) -> None:
        self.meta = meta

    def get(self, timeout: float | None = None) -> Meta:
        return self.meta


class KeepingProducer:
    """Keeps every record handed to it; the `fail_at`-th send raises as a full buffer does."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.calls = 0
        self.fail_at = fail_at

    def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def send(self, topic: str, **record: Any) -> Done:
        self.calls += 1
        if self.calls == self.fail_at:
            raise KafkaTimeoutError("buffer full")
        self.sent.append(record)
        return Done(Meta(topic, record["partition"], len(self.sent)))

    def flush(self, timeout: float | None = None) -> None:
        return None


def subs(n: int) -> list[Submission]:
    return [
        Submission(
            type="AsylumApplicationLodged",
            v_nummer=f"{2_000_000_000 + i % 7:010d}",
            occurred_at=START + timedelta(minutes=i),
            ref=f"C-{i}",
            case_id=f"Z{i % 7}",
            data={"application_type": "FIRST", "unaccompanied_minor": False},
        )
        for i in range(n)
    ]


@pytest.fixture(autouse=True)
def empty_log(monkeypatch: pytest.MonkeyPatch) -> None:
    # The log is empty: every partition's chain starts at the genesis link.
    monkeypatch.setattr(
        publisher_module, "last_links", lambda kafka, topic, n: dict.fromkeys(range(n), GENESIS)
    )


def publisher(producer: KeepingProducer) -> Publisher:
    signer = Signer("IND", Ed25519PrivateKey.generate())
    preparer = Preparer(b"c" * 32, "urn:x")
    return Publisher("IND", preparer, None, producer=producer, topic="t", signer=signer)  # type: ignore[arg-type]


def chains_hold(sent: list[dict[str, Any]]) -> bool:
    last: dict[int, bytes] = {}
    for r in sent:
        headers = dict(r["headers"])
        expected = chain.link(
            last.get(r["partition"], GENESIS), r["key"], r["value"], r["timestamp_ms"]
        )
        if headers[chain.HEADER] != expected or signature.HEADER not in headers:
            return False
        last[r["partition"]] = expected
    return True


def test_records_leave_in_chunks_chained_and_signed_in_order() -> None:
    producer = KeepingProducer()
    pub = publisher(producer)
    n = CHUNK + 7
    ids = [pub.publish(s) for s in subs(n)]
    assert len(producer.sent) == CHUNK  # the first chunk left; the rest waits for flush
    receipts = pub.flush()
    assert [r.event_id for r in receipts] == ids and len(producer.sent) == n
    assert chains_hold(producer.sent)


def test_a_failed_send_leaves_nothing_behind_it_in_its_partition() -> None:
    producer = KeepingProducer(fail_at=5)
    pub = publisher(producer)
    for s in subs(40):
        pub.publish(s)
    with pytest.raises(PublishError) as caught:
        pub.flush()
    assert chains_hold(producer.sent)
    failed = {f.event_id for f in caught.value.failures}
    assert len(failed) + len(caught.value.receipts) == 40 and len(failed) >= 1
    assert len(producer.sent) == len(caught.value.receipts)


def test_a_close_without_flush_still_sends_what_was_published() -> None:
    producer = KeepingProducer()
    pub = publisher(producer)
    for s in subs(3):
        pub.publish(s)
    pub.close()
    assert len(producer.sent) == 3 and chains_hold(producer.sent)
