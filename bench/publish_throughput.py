"""Benchmark: publish throughput of the agency publisher (validate + pseudonymise + encode +
produce, acknowledged) against a raw kafka-python producer sending the same pre-encoded records
to the same topic with the same producer settings, in one run, alternating, median ratio.

    .venv/bin/python bench/publish_throughput.py [--events 50000] [--rounds 5]

Starts the local services through infra/ unless the settings name existing ones. Writes
bench/results/publish_throughput.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaProducer

from infra import services, topics
from infra.signing_keys import KeyStore
from ketenlog import settings as settings_module
from producers.prepare import Prepared, Preparer
from producers.publisher import DeliverySettings, Publisher
from producers.submission import Submission
from schemas.access import KafkaAccess
from schemas.signature import Signer
from schemas.topics import RETAIN_FOREVER, TopicSpec

TOPIC = "bench.publish"
# The raw producer's own topic, configured alike: its records carry no chain link, and on the
# publisher's topic they would make the publisher read far back for its chain's last link.
RAW_TOPIC = "bench.publish.raw"
RESULTS = Path(__file__).resolve().parent / "results" / "publish_throughput.md"


def submissions(n: int) -> list[Submission]:
    """A realistic mix of IND events for n distinct persons."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        when = start + timedelta(minutes=i)
        v = f"{1_000_000_000 + i:010d}"
        if i % 3 == 0:
            data: dict[str, object] = {"application_type": "FIRST", "unaccompanied_minor": False}
            kind = "AsylumApplicationLodged"
        elif i % 3 == 1:
            data = {"track": "GENERAL"}
            kind = "TrackAssigned"
        else:
            data = {"interview_kind": "DETAILED"}
            kind = "InterviewHeld"
        out.append(
            Submission(
                type=kind, v_nummer=v, occurred_at=when, ref=f"B-{i}", case_id=f"Z{i}", data=data
            )
        )
    return out


def run_publisher(
    kafka: KafkaAccess,
    preparer: Preparer,
    subs: list[Submission],
    signer: Signer,
    sending_process: bool = True,
) -> float:
    """The publisher as `ketenlog publish` runs it: chained and signed, its producer in a
    process of its own (`sending_process=False`: in this one, as the simulator's and the HTTP
    ingest's are). Its first record goes out before the clock starts, as the raw producer's
    connection is made before its clock: that first record also reads the chain's last links
    from the log (timed on its own), and the sending process is started before it."""
    delivery = DeliverySettings()
    opened = time.perf_counter()
    with Publisher(
        "IND",
        preparer,
        kafka,
        delivery,
        topic=TOPIC,
        signer=signer,
        sending_process=sending_process,
    ) as pub:
        pub.publish(subs[0])
        pub.flush()
        if sending_process:
            STARTS.append(time.perf_counter() - opened)
        t0 = time.perf_counter()
        for sub in subs[1:]:
            pub.publish(sub)
        receipts = pub.flush()
        elapsed = time.perf_counter() - t0
    assert len(receipts) == len(subs) - 1
    return (len(subs) - 1) / elapsed


STARTS: list[float] = []
"""Seconds from opening a publisher to its first record acknowledged (chain heads read)."""


def run_raw(kafka: KafkaAccess, records: list[Prepared]) -> float:
    producer = KafkaProducer(**DeliverySettings().producer_config(kafka))
    try:
        first = records[0]
        producer.send(RAW_TOPIC, value=first.value, key=first.key, headers=first.headers).get(30)
        records = records[1:]
        t0 = time.perf_counter()
        futures = [
            producer.send(RAW_TOPIC, value=r.value, key=r.key, headers=r.headers) for r in records
        ]
        producer.flush()
        for future in futures:
            future.get(timeout=30)
        elapsed = time.perf_counter() - t0
    finally:
        producer.close()
    return len(records) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = settings_module.load()

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    services.up(settings, say)
    specs = [TopicSpec(name, "benchmark", dict(RETAIN_FOREVER)) for name in (TOPIC, RAW_TOPIC)]
    topics.ensure(settings, say, specs)
    preparer = Preparer(b"b" * 32, settings.oin_prefix)
    subs = submissions(args.events)
    prepared = [preparer.prepare("IND", s) for s in subs]
    # Warm up both paths (connections, metadata, JIT-free Python caches).
    run_raw(settings.kafka("admin"), prepared[:2000])
    signer = KeyStore(settings.signing_dir).signer("IND")[0]
    run_publisher(settings.kafka("admin"), preparer, subs[:2000], signer)
    run_publisher(settings.kafka("admin"), preparer, subs[:2000], signer, sending_process=False)
    raw_rates, pub_rates, ratios, one_rates, one_ratios = [], [], [], [], []
    for round_no in range(1, args.rounds + 1):
        raw = run_raw(settings.kafka("admin"), prepared)
        pub = run_publisher(settings.kafka("admin"), preparer, subs, signer)
        one = run_publisher(settings.kafka("admin"), preparer, subs, signer, sending_process=False)
        raw_rates.append(raw)
        pub_rates.append(pub)
        ratios.append(pub / raw)
        one_rates.append(one)
        one_ratios.append(one / raw)
        say(
            f"round {round_no}: raw {raw:,.0f}/s · publisher {pub:,.0f}/s · ratio "
            f"{pub / raw:.2f} · in one process {one:,.0f}/s ({one / raw:.2f})"
        )
    delivery = DeliverySettings()
    lines = [
        "# Publish throughput",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{platform.python_version()}, Kafka {settings.kafka_version} (local, single node).",
        f"{args.events} events per run, {args.rounds} rounds, alternating raw / publisher.",
        "",
        "Settings (both producers): acks=all, idempotent, "
        f"linger_ms={delivery.linger_ms}, batch_size={delivery.batch_size}, "
        f"max_in_flight={delivery.max_in_flight}, compression none, "
        f"{settings.partitions} partitions, topics `{TOPIC}` and `{RAW_TOPIC}` (raw).",
        "",
        "| round | raw kafka-python (events/s) | ketenlog publisher (events/s) | ratio "
        "| publisher in one process (events/s) | ratio |",
        "|---|---|---|---|---|---|",
    ]
    rows = zip(raw_rates, pub_rates, ratios, one_rates, one_ratios, strict=True)
    for i, (r, p, q, o, oq) in enumerate(rows, start=1):
        lines.append(f"| {i} | {r:,.0f} | {p:,.0f} | {q:.2f} | {o:,.0f} | {oq:.2f} |")
    lines += [
        f"| **median** | {statistics.median(raw_rates):,.0f} | "
        f"{statistics.median(pub_rates):,.0f} | **{statistics.median(ratios):.2f}** | "
        f"{statistics.median(one_rates):,.0f} | {statistics.median(one_ratios):.2f} |",
        "",
        "The raw producer sends records the publisher prepared beforehand (same keys, values and",
        "CloudEvents headers; not the chain link and signature headers, ~420 of the publisher's",
        "~980 bytes a record), so the ratio is the cost of validation, pseudonymisation,",
        "encoding, the hash chain and the Ed25519 signature. The publisher, as `ketenlog",
        "publish` runs it, has its producer in a process of its own (producers/sender.py),",
        "which sends each chunk while the next is prepared: two processes against the raw",
        "producer's one; the last column is the same publisher in one process. Both send one",
        "record before the clock starts (the connection; for the publisher also the sending",
        "process's start and the chain's last links, read from the log: median",
        f"{statistics.median(STARTS):.2f} s per publisher, paid once per run of `publish`).",
        "Target: ratio ≥ 0.7.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    say(f"median ratio {statistics.median(ratios):.2f}; written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
