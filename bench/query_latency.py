"""Benchmark: query latency of the analysts' HTTP API (`ketenlog serve`, /v1) against a
key lookup on the table behind each view, closed loop and interleaved in one run, while events
are published open-loop and processed (target: API p99 <= 3x the lookup's p99).

    .venv/bin/python bench/query_latency.py [--seconds 120] [--warmup 15] [--rate 150]
        [--results bench/results/query_latency.md]

The same query's cost at 1x and 5x the log: run it once, grow the log with re-keyed copies
(`bench/grow_log.py --copies 4`) and run it again with `--results
bench/results/query_latency_5x.md` (the processor catches up on the grown log at batch speed).

1. Starts the local services through infra/ unless the settings name existing ones; publishes
   a simulated year (--scale, --seed) when the agency topics hold fewer than --min-records. Run
   it on a fresh log: each run's load stays in the log and a later run folds it too (the
   results list the row counts).
2. Starts `ketenlog process` on a fresh database and consumer group and waits until it has
   caught up with the log, so the views aggregate the whole simulated chain.
3. Starts `ketenlog serve` on a free port against that database (a subprocess, as deployed).
4. The load: new AsylumApplicationLodged events (bench/latency.py's `application`) sent to
   keten.ind.events on a fixed schedule at --rate events/s (open loop, never waiting), processed
   by the running processor; its lag is sampled throughout.
5. One client thread, closed loop, in rounds: every round runs each probe once in a shuffled
   order and times it (perf_counter, request sent -> last byte read / last row fetched):
   - api:  GET /v1/<resource> over one keep-alive http.client connection, for every analyst
           resource of /v1 (four typical requests, the others with their defaults);
   - sql:  the same view query (projections.queries.plan) over one psycopg connection, to
           separate the HTTP layer from PostgreSQL;
   - key:  a lookup of a random existing key on the table behind the view (its primary key, or
           its person_key index where the table has no primary key) over one psycopg
           connection; this is the baseline.
   The first --warmup seconds are discarded.
6. EXPLAIN (ANALYZE, BUFFERS) of every view query, then writes bench/results/query_latency.md
   (notes below its NOTES marker are kept) and bench/results/query_latency.svg.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import platform
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import query_views_ab
import simulated
from latency import application, pct, say
from psycopg import sql
from psycopg.conninfo import make_conninfo

from infra import services
from infra.signing_keys import KeyStore
from infra.topics import end_offsets
from ketenlog import settings as settings_module
from producers.prepare import Preparer
from producers.publisher import DeliverySettings, open_producer
from projections.api_spec import HOUSING
from projections.api_spec import RESOURCES as API_RESOURCES
from projections.db import ANALYST_OPTIONS
from projections.queries import CATALOGUE, housing, plan
from schemas import chain, signature
from schemas.topics import event_topics

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "query_latency.md"
NOTES = "<!-- notes: kept when the benchmark rewrites this file -->"
LOAD_TOPIC = "keten.ind.events"


@dataclass(frozen=True)
class Resource:
    """An analyst's request, the same query directly, and the table the view reads."""

    name: str
    path: str
    projection: str
    args: dict[str, Any]
    table: str | None
    """The table of its own key-lookup baseline; None: the four tables' lookups together."""


# Typical analyst requests: monthly inflow over all time, a quarter of daily occupancy,
# decisions per month, the backlog per week.
RESOURCES: tuple[Resource, ...] = (
    Resource(
        "instroom", "/v1/instroom?periode=maand", "inflow", {"period": "month"}, "inflow_items"
    ),
    Resource(
        "bezetting",
        "/v1/bezetting?periode=dag&van=2026-06-01&tot=2026-08-31",
        "occupancy",
        {"period": "day", "start": date(2026, 6, 1), "end": date(2026, 8, 31)},
        "coa_stays",
    ),
    Resource(
        "beslissingen", "/v1/beslissingen", "decisions", {"period": "month"}, "decision_items"
    ),
    Resource(
        "achterstand", "/v1/achterstand?periode=week", "backlog", {"period": "week"}, "case_items"
    ),
)
TYPICAL = {r.name for r in RESOURCES}
# Every other analyst resource of /v1 with its defaults (all time, its default period).
RESOURCES += tuple(
    Resource(
        name,
        f"/v1/{name}",
        projection,
        {"period": "" if projection == HOUSING else CATALOGUE[projection].default_period},
        None,
    )
    for name, projection in API_RESOURCES.items()
    if name not in TYPICAL
)

# The baseline per table: the key columns sampled, the lookup, and what kind of key it is.
LOOKUPS = {
    "inflow_items": (("person_key",), "person_key index (no primary key)"),
    "coa_stays": (("person_key", "seq"), "primary key"),
    "decision_items": (("person_key",), "person_key index (no primary key)"),
    "case_items": (("person_key", "case_id"), "primary key"),
    "person_state": (("person_key",), "primary key (row with its ~kB state JSON)"),
}


@dataclass
class Probe:
    name: str
    kind: str  # api, sql, key
    call: Callable[[], int]  # returns the rows / bytes received
    samples: list[float] = field(default_factory=list)
    received: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ensure_log(settings: Any, min_records: int, scale: float, seed: int) -> int:
    ends = end_offsets(settings, event_topics())
    if sum(ends.values()) < min_records:
        say(f"the log holds {sum(ends.values()):,} records; publishing a year at scale {scale}")
        simulated.publish(settings, say, "--seed", str(seed), "--scale", str(scale))
        ends = end_offsets(settings, event_topics())
    return sum(ends.values())


def processed(conn: psycopg.Connection, topic: str | None = None) -> int:
    query = "SELECT coalesce(sum(next_offset), 0) FROM consumer_positions"
    row = (
        conn.execute(query + " WHERE topic = %s", (topic,)).fetchone()
        if topic
        else conn.execute(query).fetchone()
    )
    return int(row[0]) if row else 0


class Load:
    """Open loop: one new application every 1/rate s on a fixed schedule, never waiting."""

    def __init__(self, settings: Any, run: str, rate: float) -> None:
        self.rate = rate
        self.run = run
        self.preparer = Preparer(f"query-latency-{run}".encode(), settings.oin_prefix)
        delivery = DeliverySettings(timeout_s=settings.publish_timeout_s)
        self.producer = open_producer(settings.kafka("admin"), delivery, "bench-query-latency")
        self.signer = KeyStore(settings.signing_dir).signer("IND")[0]
        self.sent = 0
        self.behind = 0.0  # the largest delay behind schedule, s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while not self.stop.is_set():
            due = start + self.sent / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                self.behind = max(self.behind, -delay)
            prepared = self.preparer.prepare("IND", application(f"q{self.run}", self.sent))
            # Signed as IND signs (a link from the start of a chain: not continued here).
            link = chain.link(chain.GENESIS, prepared.key, prepared.value, 0)
            signed = self.signer.sign(LOAD_TOPIC, link, prepared.key, prepared.value)
            headers = [*prepared.headers, (chain.HEADER, link), (signature.HEADER, signed)]
            self.producer.send(LOAD_TOPIC, value=prepared.value, key=prepared.key, headers=headers)
            self.sent += 1
        self.producer.flush()
        self.producer.close()


def api_probe(port: int, resource: Resource) -> Probe:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call() -> int:
        try:
            conn.request("GET", resource.path)
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            # The server closes a keep-alive connection idle for 75 s (a slow round).
            conn.close()
            conn.request("GET", resource.path)
            response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{resource.path}: HTTP {response.status}: {body[:300]!r}")
        return len(body)

    return Probe(f"api {resource.name}", "api", call)


def view_query(resource: Resource) -> tuple[sql.Composed, dict[str, Any]]:
    """The query the API runs for the resource (projections.queries.plan, no dimensions)."""
    a = resource.args
    if resource.projection == HOUSING:
        return sql.Composed([sql.SQL("SELECT * FROM analyst.housing")]), {}
    _, query, params = plan(resource.projection, a["period"], [], a.get("start"), a.get("end"))
    return query, params


def sql_probe(conn: psycopg.Connection, resource: Resource) -> Probe:
    query, params = view_query(resource)

    def call() -> int:
        if resource.projection == HOUSING:
            return len(housing(conn)[1])
        return len(conn.execute(query, params).fetchall())

    return Probe(f"sql {resource.name}", "sql", call)


def key_probe(conn: psycopg.Connection, table: str, rng: random.Random) -> Probe:
    columns, _ = LOOKUPS[table]
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    keys = [
        tuple(r)
        for r in conn.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY random() LIMIT 5000").format(
                cols, sql.Identifier(table)
            )
        ).fetchall()
    ]
    if not keys:
        raise SystemExit(f"{table} is empty: nothing to look up")
    where = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
    query = sql.SQL("SELECT * FROM {} WHERE {}").format(sql.Identifier(table), where)

    def call() -> int:
        rows = conn.execute(query, rng.choice(keys)).fetchall()
        if not rows:
            raise SystemExit(f"{table}: a sampled key was not found")
        return len(rows)

    return Probe(f"key {table}", "key", call)


def ms(values: list[float], p: float) -> float:
    """The p-th percentile in ms (values in s, in any order)."""
    return pct(sorted(values), p) if values else math.nan


def row_counts(conn: psycopg.Connection) -> list[tuple[str, int]]:
    tables = [*LOOKUPS, "timeline_events", "state_changes"]
    out = []
    for t in tables:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()
        out.append((t, int(row[0]) if row else 0))
    for view in ("inflow", "coa_occupancy", "decisions", "decision_backlog"):
        name = sql.Identifier("analyst", view)
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(name)).fetchone()
        out.append((f"analyst.{view}", int(row[0]) if row else 0))
    return out


def explain(conn: psycopg.Connection, resource: Resource) -> tuple[float, str]:
    query, params = view_query(resource)
    lines = [
        str(r[0])
        for r in conn.execute(
            sql.SQL("EXPLAIN (ANALYZE, BUFFERS) {}").format(query), params
        ).fetchall()
    ]
    total = next(
        (float(x.split(":")[1].split()[0]) for x in lines if x.startswith("Execution Time")),
        math.nan,
    )
    return total, "\n".join(lines)


def chart(probes: list[Probe]) -> str:
    """Latency by percentile (x: 0, 50, 90, 99, 99.9 % on a log(1/(1-p)) scale; y: log ms)."""
    width, height, left, right, top, bottom = 760, 380, 60, 190, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    x_max = 3.0  # 99.9 %
    all_ms = [v * 1000 for p in probes for v in p.samples]
    lo = 10 ** math.floor(math.log10(max(min(all_ms), 1e-3)))
    hi = 10 ** math.ceil(math.log10(max(all_ms)))

    def x(p: float) -> float:
        return left + plot_w * min(x_max, math.log10(1 / max(1e-9, 1 - p))) / x_max

    def y(v: float) -> float:
        frac = (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return top + plot_h * (1 - frac)

    # One colour per resource (and the table behind it); the line style tells api/sql/key.
    palette = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]
    colours = {"person_state": "#7f7f7f"}
    for r, c in zip(RESOURCES, palette, strict=False):
        colours[r.name] = c
        if r.table:
            colours[r.table] = c
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="18" font-size="13" font-weight="bold">Latency by percentile '
        "(log scales): API solid, same query in SQL dashed, key lookup dotted</text>",
    ]
    decade = lo
    while decade <= hi * 1.0001:
        yy = y(decade)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{decade:g} ms</text>'
        )
        decade *= 10
    for p, label in ((0.0, "0%"), (0.5, "50%"), (0.9, "90%"), (0.99, "99%"), (0.999, "99.9%")):
        xx = x(p)
        parts.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#ddd"/>'
            f'<text x="{xx:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{label}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle">percentile</text>'
    )
    for i, probe in enumerate(probes):
        values = sorted(probe.samples)
        n = len(values)
        if n < 2:
            continue
        colour = colours.get(probe.name.split()[1], "#cccccc")
        step = max(1, n // 400)
        idx = sorted({*range(0, n, step), *range(max(0, n - 50), n)})
        points = " ".join(
            f"{x(j / n):.1f},{y(values[j] * 1000):.1f}" for j in idx if j / n <= 0.999
        )
        dash = {"api": "", "sql": ' stroke-dasharray="5,3"', "key": ' stroke-dasharray="2,2"'}
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.6"{dash[probe.kind]} '
            f'points="{points}"/>'
        )
        ly = top + 10 + i * 16
        parts.append(
            f'<line x1="{left + plot_w + 12}" x2="{left + plot_w + 36}" y1="{ly}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"{dash[probe.kind]}/>'
            f'<text x="{left + plot_w + 42}" y="{ly + 4}">{probe.name}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=" ".join((__doc__ or "").split("\n\n")[0].split()))
    parser.add_argument("--seconds", type=float, default=240, help="measured time (240)")
    parser.add_argument("--warmup", type=float, default=15, help="discarded first (15)")
    parser.add_argument("--rate", type=float, default=150, help="load, events/s (150)")
    parser.add_argument("--scale", type=float, default=0.05, help="simulated year (0.05)")
    parser.add_argument("--seed", type=int, default=13, help="simulator seed (13)")
    parser.add_argument(
        "--key-repeats", type=int, default=4, help="lookups per table per round (4; cheap)"
    )
    parser.add_argument("--min-records", type=int, default=50_000)
    parser.add_argument(
        "--ab-repeats",
        type=int,
        default=3,
        help="after the load: each view query over the aggregates and over the items (3; 0 skips)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help=f"the report ({RESULTS.relative_to(HERE.parent)})",
    )
    args = parser.parse_args()
    settings = settings_module.load()
    services.up(settings, say)
    total = ensure_log(settings, args.min_records, args.scale, args.seed)
    run = uuid.uuid4().hex[:8]
    db = f"bench_{run}"
    with psycopg.connect(settings.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    dsn = make_conninfo(settings.dsn, dbname=db)
    # Figures without a token: the bench times the query, not the token store.
    env = {**os.environ, "KETENLOG_DATABASE_URL": dsn, "KETENLOG_API_OPEN_FIGURES": "1"}
    children: list[subprocess.Popen[bytes]] = []
    try:
        worker = subprocess.Popen(
            [sys.executable, "-m", "ketenlog.cli", "process", "--group", db],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        children.append(worker)
        say(f"processing the {total:,} records of the log into {db}")
        t0 = last = time.monotonic()
        while True:
            time.sleep(2)
            try:
                with psycopg.connect(dsn) as conn:
                    done = processed(conn)
            except psycopg.Error:
                continue
            if done >= total:
                break
            if time.monotonic() - last >= 10:
                last = time.monotonic()
                say(f"  {done:,}/{total:,} ({last - t0:.0f} s)")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "ketenlog.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        children.append(server)
        deadline = time.monotonic() + 60
        while True:
            try:
                probe_conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe_conn.request("GET", "/v1/openapi.json")
                if probe_conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("ketenlog serve did not come up")
            time.sleep(0.5)
        say(f"ketenlog serve on port {port}")

        monitor = psycopg.connect(dsn, autocommit=True)
        # As `ketenlog serve` connects to answer (projections.db.ANALYST_OPTIONS).
        sql_conn = psycopg.connect(dsn, autocommit=True, options=ANALYST_OPTIONS)
        key_conn = psycopg.connect(dsn, autocommit=True)
        counts_before = row_counts(monitor)
        rng = random.Random(args.seed)
        probes = [
            *(api_probe(port, r) for r in RESOURCES),
            *(sql_probe(sql_conn, r) for r in RESOURCES),
            *(key_probe(key_conn, t, rng) for t in LOOKUPS),
        ]
        schedule = [q for q in probes for _ in range(args.key_repeats if q.kind == "key" else 1)]
        answers = {r.name: sql_probe(sql_conn, r).call() for r in RESOURCES}

        load = Load(settings, run, args.rate)
        base_done = processed(monitor, LOAD_TOPIC)
        load.thread.start()
        cpu0 = {"serve": cpu_seconds(server.pid), "process": cpu_seconds(worker.pid)}
        lags: list[int] = []
        started = time.monotonic()
        measuring_from = started + args.warmup
        stop_at = measuring_from + args.seconds
        next_report = started + 10
        rounds = 0
        cpu_measured: dict[str, float] = {}
        wall_measured = 0.0
        say(f"load at {args.rate:g} events/s; warm-up {args.warmup:g} s, then {args.seconds:g} s")
        while (now := time.monotonic()) < stop_at:
            if not cpu_measured and now >= measuring_from:
                cpu_measured = {"serve": cpu_seconds(server.pid), "t": now}
            warm = now < measuring_from
            order = schedule[:]
            rng.shuffle(order)
            for probe in order:
                t = time.perf_counter()
                got = probe.call()
                elapsed = time.perf_counter() - t
                if not warm:
                    probe.samples.append(elapsed)
                    probe.received += got
            rounds += 0 if warm else 1
            if now >= next_report:
                next_report += 10
                lag = load.sent - (processed(monitor, LOAD_TOPIC) - base_done)
                lags.append(lag)
                api_all = sorted(v for p in probes if p.kind == "api" for v in p.samples)
                key_all = sorted(v for p in probes if p.kind == "key" for v in p.samples)
                say(
                    f"  {now - started:5.0f} s  {'warm-up' if warm else f'{rounds:,} rounds'}"
                    f"  sent {load.sent:,}  processor lag {lag:,}"
                    + (
                        f"  p99 api {ms(api_all, 0.99):.1f} ms  key {ms(key_all, 0.99):.2f} ms"
                        if api_all
                        else ""
                    )
                )
        wall_measured = time.monotonic() - cpu_measured["t"]
        serve_cpu = cpu_seconds(server.pid) - cpu_measured["serve"]
        load.stop.set()
        load.thread.join()
        drain_start = time.monotonic()
        while processed(monitor, LOAD_TOPIC) - base_done < load.sent:
            if time.monotonic() - drain_start > 300:
                raise SystemExit("the processor did not catch up with the load within 300 s")
            time.sleep(0.5)
        drain = time.monotonic() - drain_start
        cpu = {k: cpu_seconds(p.pid) - cpu0[k] for k, p in (("serve", server), ("process", worker))}
        load_seconds = time.monotonic() - started
        counts_after = row_counts(monitor)
        say("EXPLAIN ANALYZE of each view query (load stopped)")
        plans = {r.name: explain(sql_conn, r) for r in RESOURCES}
        say(f"the view queries over the aggregates and over the items, {args.ab_repeats} runs each")
        views_ab = (
            query_views_ab.compare(
                sql_conn, {r.name: view_query(r) for r in RESOURCES}, args.ab_repeats
            )
            if args.ab_repeats
            else {}
        )
        for c in (monitor, sql_conn, key_conn):
            c.close()
    finally:
        for child in reversed(children):
            child.terminate()
            child.wait(timeout=60)
        with psycopg.connect(settings.dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
            )

    report = write_results(
        args=args,
        settings=settings,
        total=total,
        probes=probes,
        answers=answers,
        counts_before=counts_before,
        counts_after=counts_after,
        plans=plans,
        views_ab=views_ab,
        load_info={
            "sent": load.sent,
            "behind": load.behind,
            "lags": lags,
            "drain": drain,
            "seconds": load_seconds,
            "cpu_process": cpu["process"],
            "cpu_serve": cpu["serve"],
            "serve_cpu_measured": serve_cpu,
            "wall_measured": wall_measured,
            "rounds": rounds,
        },
    )
    say(report)
    return 0


def write_results(
    *,
    args: argparse.Namespace,
    settings: Any,
    total: int,
    probes: list[Probe],
    answers: dict[str, int],
    counts_before: list[tuple[str, int]],
    counts_after: list[tuple[str, int]],
    plans: dict[str, tuple[float, str]],
    views_ab: dict[str, tuple[float, float]],
    load_info: dict[str, Any],
) -> str:
    by_name = {p.name: p for p in probes}
    groups = {
        kind: [
            v for p in probes if p.kind == kind and p.name != "key person_state" for v in p.samples
        ]
        for kind in ("api", "sql", "key")
    }
    typical = {
        kind: [
            v for p in probes if p.kind == kind and p.name.split()[1] in TYPICAL for v in p.samples
        ]
        for kind in ("api", "sql")
    }
    target = 3.0

    def row(name: str, values: list[float]) -> str:
        return (
            f"| {name} | {len(values):,} | {ms(values, 0.5):.2f} | {ms(values, 0.95):.2f} | "
            f"{ms(values, 0.99):.2f} | {max(values) * 1000:.1f} |"
        )

    seconds = load_info["seconds"]
    lags = load_info["lags"] or [0]
    api_count = len(groups["api"])
    lines = [
        "# Query latency: the analysts' API against a key lookup, under load",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"({os.cpu_count()} cores shared with other work, so absolute figures are noisy: compare "
        f"the ratios, measured interleaved in the same run), Python "
        f"{platform.python_version()}, Kafka {settings.kafka_version}.",
        "",
        "## What is measured",
        "",
        "- **Data**: the log's "
        f"{total:,} records (a simulated year, `simulate --scale {args.scale:g} --seed "
        f"{args.seed} --publish`, plus whatever the log held) processed by `ketenlog process` "
        "into a fresh database before measuring, so the views aggregate the whole simulated "
        "chain.",
        f"- **Load**: the processor keeps running while new `AsylumApplicationLodged` events "
        f"(one new person each, bench/latency.py's `application`) are sent to {LOAD_TOPIC} on a "
        f"fixed schedule at {args.rate:g} events/s (open loop). Each adds an inflow row and a "
        "pending case, so the instroom and achterstand answers move during the run.",
        "- **API**: `ketenlog serve` as a subprocess against the same database (its one "
        "PostgreSQL connection, disclosure control, JSON), called over one keep-alive "
        "http.client connection.",
        "- **Baseline**: a lookup of a random existing key (5,000 sampled per table) on the "
        "table behind each view, over one psycopg connection: `SELECT * FROM <table> WHERE "
        "<key> = ...`; `coa_stays` and `case_items` by primary key, `inflow_items` and "
        "`decision_items` by their `person_key` index (they have no primary key; a person has "
        "one or a few rows). `person_state` by primary key (the processor's own table, with its "
        "state JSON) is shown for reference and is not in the combined baseline.",
        "- **SQL**: the very query the API runs for the resource (`projections.queries.plan`), "
        "over one psycopg connection: API minus SQL is the HTTP layer.",
        f"- One client thread, closed loop, in rounds: each round runs every probe once in a "
        f"shuffled order (each key lookup {args.key_repeats} times: they are cheap, and more "
        f"samples steady the baseline's p99). {args.warmup:g} s of warm-up discarded, then "
        f"{args.seconds:g} s measured: {load_info['rounds']:,} rounds. Latency = request sent "
        "to the last byte read / the last row fetched (perf_counter). psycopg prepares "
        "statements after 5 executions on every connection alike.",
        "",
        "## Load",
        "",
        f"{load_info['sent']:,} events in {seconds:.0f} s ({load_info['sent'] / seconds:,.0f}/s; "
        f"largest delay behind schedule {load_info['behind'] * 1000:.0f} ms). Processor lag "
        f"(events sent but not yet committed), sampled every 10 s: median "
        f"{sorted(lags)[len(lags) // 2]:,}, max {max(lags):,}; it caught up "
        f"{load_info['drain']:.1f} s after the load stopped. CPU over the run: processor "
        f"{load_info['cpu_process'] / seconds * 100:.0f} % of a core, `ketenlog serve` "
        f"{load_info['cpu_serve'] / seconds * 100:.0f} % "
        f"({load_info['serve_cpu_measured'] / max(api_count, 1) * 1000:.2f} ms of CPU per API "
        "request while measuring).",
        "",
        "| table / view | rows before | rows after |",
        "|---|---|---|",
        *(
            f"| `{name}` | {before:,} | {after:,} |"
            for (name, before), (_, after) in zip(counts_before, counts_after, strict=True)
        ),
        "",
        "| resource | request | view | rows answered | mean response | baseline lookup |",
        "|---|---|---|---|---|---|",
    ]
    for r in RESOURCES:
        served = by_name[f"api {r.name}"]
        lines.append(
            f"| {r.name} | `GET {r.path}` | `analyst.{plan_view(r)}` | {answers[r.name]:,} | "
            f"{served.received / max(len(served.samples), 1) / 1024:.1f} kB | "
            + (f"`{r.table}` ({LOOKUPS[r.table][1]}) |" if r.table else "the four tables |")
        )
    lines += [
        "",
        "## Latency (ms)",
        "",
        "| probe | samples | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|",
        *(row(f"`{p.name}`", p.samples) for p in probes),
        row("**api, the four typical**", typical["api"]),
        row("**sql, the four typical**", typical["sql"]),
        row(f"**api, all {len(RESOURCES)}**", groups["api"]),
        row(f"**sql, all {len(RESOURCES)}**", groups["sql"]),
        row("**key lookups, the four tables**", groups["key"]),
        "",
        "![latency by percentile](query_latency.svg)",
        "",
        "## Ratios of p99 (target: API <= 3x the key lookup)",
        "",
        "| resource | API p99 | SQL p99 | key p99 | **API / key** | SQL / key | API / key at "
        "p50 | HTTP layer at p50 (API - SQL) | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for r in RESOURCES:
        api = by_name[f"api {r.name}"].samples
        direct = by_name[f"sql {r.name}"].samples
        key = by_name[f"key {r.table}"].samples if r.table else groups["key"]
        ratio = ms(api, 0.99) / ms(key, 0.99)
        verdicts.append(ratio <= target)
        lines.append(
            f"| {r.name} | {ms(api, 0.99):.2f} | {ms(direct, 0.99):.2f} | {ms(key, 0.99):.2f} | "
            f"**{ratio:.1f}** | {ms(direct, 0.99) / ms(key, 0.99):.1f} | "
            f"{ms(api, 0.5) / ms(key, 0.5):.0f} | {ms(api, 0.5) - ms(direct, 0.5):.2f} | "
            f"{'met' if ratio <= target else 'not met'} |"
        )
    combined = ms(groups["api"], 0.99) / ms(groups["key"], 0.99)
    for label, group in (("the four typical", typical), (f"all {len(RESOURCES)}", groups)):
        ratio = ms(group["api"], 0.99) / ms(groups["key"], 0.99)
        lines.append(
            f"| **{label}** | {ms(group['api'], 0.99):.2f} | {ms(group['sql'], 0.99):.2f} | "
            f"{ms(groups['key'], 0.99):.2f} | **{ratio:.1f}** | "
            f"{ms(group['sql'], 0.99) / ms(groups['key'], 0.99):.1f} | "
            f"{ms(group['api'], 0.5) / ms(groups['key'], 0.5):.0f} | "
            f"{ms(group['api'], 0.5) - ms(group['sql'], 0.5):.2f} | "
            f"{'met' if ratio <= target else 'not met'} |"
        )
    lines += [
        "",
        f"**Verdict: {'met' if combined <= target and all(verdicts) else 'not met'}** — the "
        f"API's p99 is {combined:.1f}x the key lookup's over all {len(RESOURCES)} requests "
        f"({sum(verdicts)} of {len(verdicts)} resources within 3x).",
        "",
        "The load adds a person per event, so the tables behind instroom and achterstand grow "
        "during the run (row counts above), and with them those two queries: p50 over the "
        "first and the last quarter of the measured samples (in time order):",
        "",
        "| probe | p50 first quarter | p50 last quarter | key p50 first / last |",
        "|---|---|---|---|",
        *(
            f"| `{p.name}` | {ms(quarter(p.samples, 0), 0.5):.2f} | "
            f"{ms(quarter(p.samples, 3), 0.5):.2f} | "
            f"{ms(quarter(by_name['key ' + table_of(p)].samples, 0), 0.5):.2f} / "
            f"{ms(quarter(by_name['key ' + table_of(p)].samples, 3), 0.5):.2f} |"
            for p in probes
            if p.kind == "api" and p.name.split()[1] in TYPICAL
        ),
        "",
        "## The views alone: over the aggregates and over the items, same data, no load",
        "",
        "After the load stopped, each resource's query over the `analyst` views (which read the "
        "aggregates maintained on write, migration 017) and over the views as they were before "
        "(`tests/integration/views_from_items.sql`, built into a scratch schema), interleaved in "
        f"a shuffled order, {args.ab_repeats} runs each; p50 in ms.",
        "",
        "| resource | over aggregates | over items | items / aggregates |",
        "|---|---|---|---|",
        *(
            f"| {name} | {new:.1f} | {old:.1f} | {old / new:.1f} |"
            for name, (new, old) in views_ab.items()
        ),
        "",
        "## Where the time goes: EXPLAIN (ANALYZE, BUFFERS) of each view query",
        "",
        "Run once each after the load stopped, on the final data.",
        "",
    ]
    for r in RESOURCES:
        execution, text = plans[r.name]
        lines += [
            f"<details><summary>{r.name}: execution {execution:.2f} ms</summary>",
            "",
            "```",
            text,
            "```",
            "",
            "</details>",
            "",
        ]
    results: Path = args.results
    chart_file = results.with_suffix(".svg")
    lines = [x.replace("](query_latency.svg)", f"]({chart_file.name})") for x in lines]
    old = results.read_text(encoding="utf-8") if results.exists() else ""
    notes = old.partition(NOTES)[2] if NOTES in old else "\n"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("\n".join(lines) + NOTES + notes, encoding="utf-8")
    chart_file.write_text(chart(probes), encoding="utf-8")
    return (
        f"API p99 {ms(groups['api'], 0.99):.2f} ms, key lookup p99 "
        f"{ms(groups['key'], 0.99):.2f} ms: x{combined:.1f}; written to {results} and {chart_file}"
    )


def quarter(values: list[float], i: int) -> list[float]:
    n = len(values) // 4
    return values[i * n : (i + 1) * n]


def table_of(probe: Probe) -> str:
    return next(r.table or "" for r in RESOURCES if probe.name == f"api {r.name}")


def plan_view(resource: Resource) -> str:
    return HOUSING if resource.projection == HOUSING else CATALOGUE[resource.projection].view


if __name__ == "__main__":
    sys.exit(main())
