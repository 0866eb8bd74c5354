"""Benchmark: end-to-end latency from the broker's acknowledgement of a published event to its
projection row being readable in PostgreSQL, open-loop at half the processor's maximum
sustained ingest, against a raw baseline in the same run: send -> one kafka-python consumer ->
one-row INSERT per record (autocommit), at the same rate.

    .venv/bin/python bench/latency.py [--seconds 60] [--burst 5000] [--fixed-rate 1000]

1. Starts `ketenlog process` on a fresh database and consumer group and waits until it has
   caught up with the log (it reads everything from the beginning).
2. Maximum sustained ingest: a burst of --burst applications, published at once; the rate at
   which their rows appear.
3. Open loop at half that rate, then at each --fixed-rate (default 1,000/s), for --seconds
   each: every event is an AsylumApplicationLodged of a new person (one inflow row), chained
   and signed by the publisher and sent on a fixed schedule (never waiting for the previous
   one); latency = first time a poll (every 10 ms) sees the row minus the acknowledgement time.
4. The baseline, same schedules and rates, on its own topic and table.
Writes bench/results/latency.md and the percentiles' chart bench/results/latency.png.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib
import psycopg
from kafka import KafkaConsumer
from matplotlib import pyplot as plt
from psycopg.conninfo import make_conninfo

from infra import services, topics
from infra.signing_keys import KeyStore
from infra.topics import end_offsets
from ketenlog import settings as settings_module
from producers.prepare import Preparer
from producers.pseudonym import person_key
from producers.publisher import DeliverySettings, Publisher, open_producer
from producers.submission import Submission
from schemas.topics import RETAIN_FOREVER, TopicSpec, event_topics

matplotlib.use("Agg")  # files only, no display

RESULTS = Path(__file__).resolve().parent / "results" / "latency.md"
CHART = RESULTS.with_name("latency.png")
BASELINE_TOPIC = "bench.latency"


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def application(run: str, i: int) -> Submission:
    return Submission(
        type="AsylumApplicationLodged",
        v_nummer=f"{7_000_000_000 + i:010d}",
        case_id=f"ZK-{run}-{i}",
        occurred_at=datetime.now(UTC) - timedelta(minutes=1),
        ref=f"latency-{run}-{i}",
        data={"application_type": "FIRST", "unaccompanied_minor": False},
    )


class Watcher:
    """Polls a table for keys (event ids, person keys) every 10 ms and records when each first
    appears."""

    def __init__(self, dsn: str, query: str) -> None:
        self.dsn, self.query = dsn, query
        self.pending: set[str] = set()
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def expect(self, event_id: str) -> None:
        with self.lock:
            self.pending.add(event_id)

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                with self.lock:
                    ids = list(self.pending)
                if ids:
                    found = conn.execute(self.query, (ids,)).fetchall()
                    now = time.monotonic()
                    with self.lock:
                        for (event_id,) in found:
                            self.seen.setdefault(str(event_id), now)
                            self.pending.discard(str(event_id))
                time.sleep(0.01)

    def wait_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    return
            time.sleep(0.05)
        raise SystemExit(f"{len(self.pending)} events never appeared within {timeout} s")


def open_loop(send: Any, rate: float, seconds: float, watcher: Watcher) -> list[float]:
    """Send on a fixed schedule; latency = row seen - broker ack, per event."""
    acks: dict[str, float] = {}
    n = int(rate * seconds)
    start = time.monotonic()
    for i in range(n):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        event_id = send(i, acks)
        watcher.expect(event_id)
    watcher.wait_all(120)
    return sorted(watcher.seen[e] - acks[e] for e in acks if e in watcher.seen)


Send = Callable[[int, dict[str, float]], str]


def chart(runs: dict[float, tuple[list[float], list[float]]], path: Path) -> None:
    """The latency at each percentile, per rate and path, on a log scale (matplotlib)."""
    points = [0.5, 0.75, 0.9, 0.95, 0.99, 0.999]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for load, (processor, baseline) in runs.items():
        for name, values, style in (("processor", processor, "-"), ("baseline", baseline, "--")):
            ax.plot(
                [f"p{p * 100:g}" for p in points],
                [pct(values, p) for p in points],
                style,
                marker="o",
                label=f"{name} at {load:,.0f}/s",
            )
    ax.set_yscale("log")
    ax.set_ylabel("ms from broker ack to row readable")
    ax.set_title("End-to-end latency by percentile (bench/latency.py)")
    ax.axhline(1000, color="grey", linewidth=0.8)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument(
        "--fixed-rate",
        type=float,
        action="append",
        default=None,
        help="also measure at this rate, events/s (default 1000; repeat for more)",
    )
    args = parser.parse_args()
    if args.fixed_rate is None:
        args.fixed_rate = [1000.0]
    settings = settings_module.load()
    services.up(settings, say)
    topics.ensure(settings, say, [TopicSpec(BASELINE_TOPIC, "benchmark", dict(RETAIN_FOREVER))])
    run = uuid.uuid4().hex[:8]
    db = f"bench_{run}"
    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")
    dsn = make_conninfo(settings.dsn, dbname=db)
    env = {**os.environ, "KETENLOG_DATABASE_URL": dsn}
    worker = subprocess.Popen(
        [sys.executable, "-m", "ketenlog.cli", "process", "--group", db],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ends = end_offsets(settings, event_topics())
        say(f"waiting for the processor to catch up with {sum(ends.values()):,} records")
        while True:
            time.sleep(2)
            try:
                with psycopg.connect(dsn) as conn:
                    done = conn.execute(
                        "SELECT coalesce(sum(next_offset), 0) FROM consumer_positions"
                    ).fetchone()
            except psycopg.Error:
                continue
            if done and int(done[0]) >= sum(ends.values()):
                break
        chain_key = f"latency-{run}".encode()
        preparer = Preparer(chain_key, settings.oin_prefix)
        delivery = DeliverySettings(timeout_s=settings.publish_timeout_s)
        producer = open_producer(settings.kafka("admin"), delivery, "bench-latency")
        signer = KeyStore(settings.signing_dir).signer("IND")[0]
        publisher = Publisher(
            "IND", preparer, settings.kafka("admin"), delivery, producer=producer, signer=signer
        )
        # By person key (indexed): inflow_items has no index on the event id, and a scan every
        # 10 ms would load PostgreSQL more the longer the log. Each event is a new person's.
        query = "SELECT person_key FROM inflow_items WHERE person_key = ANY(%s::text[])"

        def watched(sub: Submission) -> str:
            assert sub.v_nummer is not None
            return person_key(sub.v_nummer, chain_key)

        # Maximum sustained ingest: a burst, and the rate its rows appear.
        burst = Watcher(dsn, query)
        t0 = time.monotonic()
        for i in range(args.burst):
            sub = application(f"{run}b", i)
            publisher.publish(sub)
            burst.expect(watched(sub))
        publisher.flush()
        burst.wait_all(600)
        max_rate = args.burst / (max(burst.seen.values()) - t0)
        burst.stop.set()
        rate = max_rate / 2
        say(f"maximum sustained ingest ~{max_rate:,.0f} events/s; open loop at {rate:,.0f}/s")

        def send_processor(tag: str, first: int) -> Send:
            # Persons numbered from `first`: each phase's are new persons, not the burst's.
            def send(i: int, acks: dict[str, float]) -> str:
                # Chained and signed as every agency record is (an unsigned one would be
                # dead-lettered), and sent at once, not with a chunk.
                sub = application(f"{run}{tag}", first + i)
                _, future = publisher.publish_now(sub)
                key = watched(sub)
                future.add_callback(lambda _m, k=key: acks.setdefault(k, time.monotonic()))
                return key

            return send

        runs: dict[float, tuple[list[float], list[float]]] = {}
        for phase, load in enumerate((rate, *args.fixed_rate), start=1):
            watcher = Watcher(dsn, query)
            processor = open_loop(
                send_processor(f"o{load:.0f}", phase * 1_000_000), load, args.seconds, watcher
            )
            watcher.stop.set()
            publisher.flush()
            say(
                f"processor at {load:,.0f}/s: p50 {pct(processor, 0.5):.0f} ms, "
                f"p99 {pct(processor, 0.99):.0f} ms"
            )
            runs[load] = (processor, [])

        # Baseline: send -> consume -> one-row insert.
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE baseline (event_id uuid PRIMARY KEY, seen timestamptz)")
        stop = threading.Event()

        def consume() -> None:
            consumer = KafkaConsumer(
                BASELINE_TOPIC,
                **settings.kafka("admin").kafka_python(),
                group_id=f"b-{run}",
                auto_offset_reset="latest",
                fetch_max_wait_ms=10,
            )
            with psycopg.connect(dsn, autocommit=True) as conn:
                while not stop.is_set():
                    batches = consumer.poll(timeout_ms=50)
                    # Joined, and at the end of every partition: what is sent now is read.
                    parts = consumer.assignment()
                    if len(parts) == settings.partitions and not joined.is_set():
                        for tp in parts:
                            consumer.position(tp)
                        joined.set()
                    for records in batches.values():
                        for r in records:
                            conn.execute(
                                "INSERT INTO baseline VALUES (%s, now())", (r.value.decode(),)
                            )
            consumer.close()

        joined = threading.Event()
        consumer_thread = threading.Thread(target=consume, daemon=True)
        consumer_thread.start()
        # Sent before the consumer joined its group, an event would lie before "latest".
        if not joined.wait(120):
            raise SystemExit("the baseline consumer did not join its group within 120 s")

        def send_baseline(i: int, acks: dict[str, float]) -> str:
            event_id = str(uuid.uuid4())
            future = producer.send(BASELINE_TOPIC, value=event_id.encode(), key=event_id.encode())
            future.add_callback(lambda _m, e=event_id: acks.setdefault(e, time.monotonic()))
            return event_id

        for load, (processor, _) in runs.items():
            watcher = Watcher(dsn, "SELECT event_id FROM baseline WHERE event_id = ANY(%s::uuid[])")
            baseline = open_loop(send_baseline, load, args.seconds, watcher)
            watcher.stop.set()
            runs[load] = (processor, baseline)
            say(
                f"baseline at {load:,.0f}/s: p50 {pct(baseline, 0.5):.0f} ms, "
                f"p99 {pct(baseline, 0.99):.0f} ms"
            )
        stop.set()
        producer.close()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        with psycopg.connect(settings.dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")

    lines = [
        "# End-to-end latency: publish acknowledged -> projection row readable",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python "
        f"{platform.python_version()}, Kafka {settings.kafka_version}; open loop for "
        f"{args.seconds:.0f} s at each rate: {rate:,.0f} events/s (half of the measured "
        f"maximum sustained ingest, {max_rate:,.0f}/s)"
        + "".join(f" and {r:,.0f}/s (fixed)" for r in args.fixed_rate)
        + "; rows polled every 10 ms. Producer: acks=all, idempotent, "
        f"linger {delivery.linger_ms} ms; {settings.partitions} partitions; the processor's "
        "own settings (`ketenlog process` defaults), PostgreSQL's defaults "
        "(synchronous_commit on).",
        "",
        "| rate (events/s) | path | events | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for load, (processor, baseline) in runs.items():
        for name, values in (
            ("processor (`ketenlog process`: gate, timeline, fold, projection rows)", processor),
            ("baseline (send -> kafka-python consumer -> one-row INSERT)", baseline),
        ):
            lines.append(
                f"| {load:,.0f} | {name} | {len(values):,} | {pct(values, 0.5):.0f} | "
                f"{pct(values, 0.9):.0f} | {pct(values, 0.99):.0f} | {max(values) * 1000:.0f} |"
            )
        ratio = pct(processor, 0.99) / pct(baseline, 0.99)
        met = ratio <= 3 and pct(processor, 0.99) < 1000
        verdicts.append(
            f"At {load:,.0f}/s: p99 ratio processor / baseline **{ratio:.1f}**, processor p99 "
            f"{pct(processor, 0.99):.0f} ms (target <= 3 and under 1 s: "
            f"{'met' if met else 'not met'})."
        )
    lines += [
        "",
        *verdicts,
        f"Maximum sustained ingest {max_rate:,.0f} events/s (a burst of {args.burst:,}).",
        "",
        f"![latency percentiles]({CHART.name})",
    ]
    chart(runs, CHART)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    say(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
