"""Benchmark: the replay's batch path (`ketenlog replay`) against the live path and two raw
baselines, all in one run over the same log:

- live: `ketenlog process --until-idle` into a fresh database (the per-event path);
- replay: ketenlog.rebuild over the same records into a fresh schema (read, gate, fold, COPY;
  one process per core);
- raw decode: one loop that reads every record (infra.kafka_log, as the replay does) and
  decodes it, nothing else;
- raw COPY: the rows the replay produced, built in memory beforehand, bulk-loaded with COPY
  into a fresh schema's bare tables (one connection), nothing else — not even the keys and
  indexes the replay builds afterwards within its own time.

    .venv/bin/python bench/replay_throughput.py [--events 1000000] [--workers 2] [--skip-live]
        [--skip-copy] [--results FILE] [--keep]

Publishes a simulated national period first when the agency topics hold fewer than --events.
Checks that the replay's tables equal the live path's (checksums), then writes
bench/results/replay_throughput.md. Rates are records of the agency topics per second.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from infra import kafka_log, services
from infra.topics import end_offsets
from ketenlog import settings as settings_module
from ketenlog.rebuild import Rebuilt, rebuild
from ketenlog.replay import KafkaSource
from projections import checksums, replay_store
from projections.db import LIVE, connect
from schemas.access import KafkaAccess
from schemas.codec import DecodeError, decode
from schemas.topics import event_topics

RESULTS = Path(__file__).resolve().parent / "results" / "replay_throughput.md"


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def ensure_log(settings: Any, events: int) -> dict[tuple[str, int], int]:
    ends = end_offsets(settings, event_topics())
    have = sum(ends.values())
    if have < events:
        # One national year at scale 1 is ~2.05M events; publish the part that is missing.
        scale = max(0.01, round((events - have) / 2_050_000 + 0.005, 3))
        say(f"the log holds {have:,} records; publishing a simulated year at scale {scale}")
        subprocess.run(
            [
                *(sys.executable, "-m", "ketenlog.cli", "simulate", "--seed", "11"),
                *("--scale", str(scale), "--publish"),
            ],
            check=True,
        )
        ends = end_offsets(settings, event_topics())
    return ends


def raw_decode(kafka: KafkaAccess, ends: dict[tuple[str, int], int]) -> float:
    n = 0
    t0 = time.perf_counter()
    for (topic, partition), stop in sorted(ends.items()):
        for record in kafka_log.read(kafka, topic, partition, 0, stop):
            # Poison records left by the tests fail to decode; both sides see every record.
            with contextlib.suppress(DecodeError):
                decode(record.value or b"")
            n += 1
    return n / (time.perf_counter() - t0)


def live(dsn: str, bootstrap: str, group: str, total: int) -> float:
    env = {**os.environ, "KETENLOG_KAFKA_BOOTSTRAP": bootstrap, "KETENLOG_DATABASE_URL": dsn}
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ketenlog.cli",
            "process",
            "--until-idle",
            "--no-catch-up",
            "--group",
            group,
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return total / (time.perf_counter() - t0)


def raw_copy(conn: psycopg.Connection, source: str, total: int) -> float:
    """COPY of rows built beforehand: every table of `source` exported in COPY's own text
    format first, then loaded into a fresh schema; only the load is timed."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> "
            "'schema_migrations'",
            (source,),
        ).fetchall()
    ]
    data: dict[str, list[bytes]] = {}
    with conn.cursor() as cur:
        for table in tables:
            query = sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(source, table))
            with cur.copy(query) as copy:
                data[table] = [bytes(chunk) for chunk in copy]
    # The same target as the replay's loads: fresh tables without their keys and indexes
    # (the replay builds those after loading, inside its own time; this baseline does not).
    replay_store.fresh_schema(conn, "bench_copy")
    replay_store.take_keys_off(conn, "bench_copy")
    t0 = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur:
        for table, chunks in data.items():
            target = sql.SQL("COPY {} FROM STDIN").format(sql.Identifier("bench_copy", table))
            with cur.copy(target) as copy:
                for chunk in chunks:
                    copy.write(chunk)
    seconds = time.perf_counter() - t0
    replay_store.drop_schema(conn, "bench_copy")
    size = sum(len(c) for chunks in data.values() for c in chunks)
    say(f"raw COPY: {size / 1e6:,.0f} MB of rows in {seconds:.1f}s")
    return total / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--skip-live", action="store_true", help="no live run (its rate is then not measured)"
    )
    parser.add_argument(
        "--skip-copy",
        action="store_true",
        help="no raw COPY baseline (it holds every row in memory: ~1.2 GB per 1M records)",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help=f"where to write (default {RESULTS.name})"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the bench database (to inspect a difference)"
    )
    args = parser.parse_args()
    settings = settings_module.load()
    services.up(settings, say)
    ends = ensure_log(settings, args.events)
    total = sum(ends.values())
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(settings.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(settings.dsn, dbname=name)
    try:
        say(f"{total:,} records; raw decode loop")
        decode_rate = raw_decode(settings.kafka("admin"), ends)
        say(f"raw decode: {decode_rate:,.0f}/s")
        live_rate = None
        if not args.skip_live:
            say("live path: ketenlog process --until-idle")
            live_rate = live(dsn, settings.bootstrap, name, total)
            say(f"live: {live_rate:,.0f}/s")
        say(f"replay: {args.workers} worker(s)")
        built = rebuild(
            dsn,
            "bench_replay",
            KafkaSource(settings.kafka("admin")),
            ends,
            consumer=name,
            workers=args.workers,
        )
        say(f"replay: {built.rate:,.0f}/s ({built.seconds:.1f}s)")
        with connect(dsn) as conn:
            equal = None
            if live_rate is not None:
                differences = checksums.compare(
                    checksums.checksums(conn, LIVE), checksums.checksums(conn, "bench_replay")
                )
                equal = not differences
                for d in differences[:40]:
                    say(f"  differs: {d.describe()}")
            copy_rate = None
            if not args.skip_copy:
                copy_rate = raw_copy(conn, "bench_replay", total)
                say(f"raw COPY: {copy_rate:,.0f}/s")
    finally:
        if args.keep:
            say(f"kept: {dsn}")
        else:
            with psycopg.connect(settings.dsn, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
    write(settings, args, Figures(total, built, decode_rate, copy_rate, live_rate, equal))
    return 0


@dataclass(frozen=True)
class Figures:
    total: int
    built: Rebuilt
    decode_rate: float
    copy_rate: float | None
    live_rate: float | None
    equal: bool | None


def _peak_child_rss_gb() -> float:
    # Linux reports kilobytes; the replay's workers and the live run are this process's children.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6


def write(settings: Any, args: argparse.Namespace, f: Figures) -> None:
    total, built, live_rate, equal = f.total, f.built, f.live_rate, f.equal
    decode_rate, copy_rate = f.decode_rate, f.copy_rate
    slower = min(decode_rate, copy_rate or decode_rate)
    per_10m = 10_000_000 / built.rate
    lines = [
        "# Replay throughput",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, Kafka "
        f"{settings.kafka_version}, {settings.partitions} partitions; {total:,} records on "
        f"the {len(event_topics())} agency topics ({built.facts:,} facts after de-duplication, "
        f"{built.persons:,} persons). Replay with {args.workers} worker process(es).",
        "",
        "| path | records/s | seconds |",
        "|---|---|---|",
        f"| replay (batch path) | {built.rate:,.0f} | {built.seconds:.1f} |",
    ]
    if live_rate is not None:
        lines.append(
            f"| live (`process --until-idle`) | {live_rate:,.0f} | {total / live_rate:.1f} |"
        )
    lines += [
        f"| raw decode loop | {decode_rate:,.0f} | {total / decode_rate:.1f} |",
        f"| raw COPY of pre-built rows | {copy_rate:,.0f} | {total / copy_rate:.1f} |"
        if copy_rate
        else "| raw COPY of pre-built rows | not measured (--skip-copy) | |",
        "",
        "| ratio | value | target |",
        "|---|---|---|",
    ]
    if live_rate is not None:
        lines.append(f"| replay / live | **{built.rate / live_rate:.1f}x** | ≥ 10x |")
    lines += [
        f"| replay / slower raw baseline{'' if copy_rate else ' (decode only)'} | "
        f"**{built.rate / slower:.2f}x** | ≥ 0.5x |",
        "",
        f"Replay tables equal the live path's (checksums per table and month): "
        f"{'yes' if equal else 'NOT CHECKED' if equal is None else 'NO'}.",
        "",
        f"At this rate 10M records take {per_10m / 60:.1f} min and a decade of national "
        f"history (~20M) {2 * per_10m / 60:.0f} min, if the rate holds with the log's length "
        "(each person is folded once and a worker holds one partition group in memory: "
        "compare the rates measured at different sizes). Peak memory of the largest child "
        "process (a replay worker, or the live run): "
        f"{_peak_child_rss_gb():.1f} GB.",
    ]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    say(f"written to {args.results}")


if __name__ == "__main__":
    sys.exit(main())
