"""The simulated chain onto Kafka (`ketenlog simulate --publish`, the demo): every delivery in
recorded-time order, with one Publisher per organisation sharing one producer.

The simulator speaks for every organisation at once, so its one producer connects as a
principal that may write every agency topic (the demo and `simulate --publish` give it the
admin's settings); a real agency publishes with its own credentials and can write only its own
topic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from producers.prepare import Preparer
from producers.publisher import DeliverySettings, Publisher, open_producer
from producers.simulator import calendar as cal
from producers.simulator.generator import Simulation
from producers.simulator.output import Rate
from schemas.access import KafkaAccess
from schemas.signature import Signer
from schemas.topics import Org

FLUSH_EVERY = 20_000


class FeedInFutureError(ValueError):
    """The simulated feed runs past now: the publisher would refuse it, and so would the
    timeline processor."""


def publish_simulation(
    sim: Simulation,
    preparer: Preparer,
    kafka: KafkaAccess,
    delivery: DeliverySettings,
    say: Callable[[str], None],
    *,
    signer_of: Callable[[Org], Signer | None] = lambda org: None,
) -> int:
    """Publish every delivery; returns how many. Raises FeedInFutureError before sending
    anything, ConnectionError when the broker is unreachable, PublishError when events were
    not acknowledged."""
    last = datetime.fromtimestamp(max((d[0] for d in sim.deliveries), default=0), UTC)
    if last > datetime.now(UTC):
        raise FeedInFutureError(
            f"the simulated feed is recorded until {last:%Y-%m-%d} (late reports run past "
            "--to): that is in the future, so nothing can be published; choose an earlier --to"
        )
    # One producer for all organisations: eleven kafka-python sender threads in one process
    # contend for the GIL and publish at a third of the rate.
    producer = open_producer(kafka, delivery, "ketenlog-simulate")
    publishers: dict[str, Publisher] = {}
    rate = Rate(say, "published")
    total = len(sim.deliveries)
    try:
        for n, (org, sub) in enumerate(sim.submissions(), start=1):
            pub = publishers.get(org.value)
            if pub is None:
                pub = publishers[org.value] = Publisher(
                    org, preparer, kafka, delivery, producer=producer, signer=signer_of(org)
                )
            pub.publish(sub)
            if n % FLUSH_EVERY == 0:
                for p in publishers.values():
                    p.flush()
                rate(n, total, f", recorded up to {cal.iso_date(sim.deliveries[n - 1][0])}")
        for p in publishers.values():
            p.flush()
    finally:
        for p in publishers.values():
            p.close()
        producer.close(timeout=delivery.timeout_s)
    say(f"simulate: published {total:,} events")
    return total
