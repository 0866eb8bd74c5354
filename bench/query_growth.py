"""Benchmark: does a view query's cost grow with the rows ever recorded? The same queries at 1x
and 5x the items, over the aggregates maintained on write and over the old item-based views
(bench/query_views_ab.py). A fresh database gets generated items (three years of days, fixed
dimensions) through the processor's tables, so the triggers maintain the aggregates; then
every items table gets four re-keyed copies of its rows (other persons, the same days and
dimensions: the aggregates keep their row count, the items grow five-fold).

    .venv/bin/python bench/query_growth.py [--persons 40000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

import psycopg
import query_views_ab
from latency import say
from psycopg import sql
from psycopg.conninfo import make_conninfo
from query_latency import RESOURCES, view_query

from ketenlog import settings as settings_module
from projections.db import migrate

RESULTS = Path(__file__).resolve().parent / "results" / "query_growth.md"
SOURCES = ("inflow_items", "decision_items", "coa_stays", "case_items", "state_changes")

FILL = """
INSERT INTO inflow_items SELECT 'p' || i, gen_random_uuid(), DATE '2023-01-01' + i % 1095,
    (ARRAY['FIRST', 'REPEAT', 'NAREIS'])[1 + i % 3], i % 17 = 0,
    'N' || i % 20, (ARRAY['0-13', '14-17', '18-34', '35-64', '65+'])[1 + i % 5],
    (ARRAY['F', 'M', 'X'])[1 + i % 3]
FROM generate_series(1, %(n)s) i;
INSERT INTO decision_items SELECT 'p' || i, gen_random_uuid(), DATE '2023-03-01' + i % 1035,
    (ARRAY['AA', 'VA'])[1 + i % 2], (ARRAY['A', 'B', 'REJECTED'])[1 + i % 3],
    timestamptz '2023-01-01' + (i % 1000) * interval '1 day',
    timestamptz '2023-03-01' + (i % 1035) * interval '1 day'
FROM generate_series(1, %(n)s / 2) i;
INSERT INTO coa_stays SELECT 'p' || i, 0, DATE '2023-01-01' + i % 1095,
    CASE WHEN i % 3 > 0 THEN DATE '2023-01-01' + i % 1095 + i % 300 END,
    'T' || i % 5, 'L' || i % 30, (ARRAY['IN_PROCEDURE', 'STATUS_HOLDER', 'OTHER'])[1 + i % 3],
    i % 7 = 0
FROM generate_series(1, %(n)s) i;
INSERT INTO case_items SELECT 'p' || i, 'c', DATE '2023-01-01' + i % 1095,
    CASE WHEN i % 4 > 0 THEN DATE '2023-01-01' + i % 1095 + i % 400 END
FROM generate_series(1, %(n)s) i;
INSERT INTO state_changes SELECT 'p' || i, s, gen_random_uuid(),
    timestamptz '2023-01-01' + (i % 1095 + s * 30) * interval '1 day', 'case', 'c',
    (ARRAY[NULL, 'LODGED', 'DECIDED'])[1 + s], (ARRAY['LODGED', 'DECIDED', 'CLOSED'])[1 + s]
FROM generate_series(1, %(n)s) i, generate_series(0, 2) s;
INSERT INTO timeline_events (event_id, person_key, event_type, producer, occurred_at,
    recorded_at, source_topic, source_partition, source_offset, fact, logged_at)
VALUES (gen_random_uuid(), 'p1', 'X', 'IND', timestamptz '2025-12-31', now(), 't', 0, 0, '{}',
    now());
"""


def grow(conn: psycopg.Connection, table: str, copies: int) -> None:
    """Re-keyed copies of every row: another person (and event id), the same days and values."""
    columns = [
        str(r[0])
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    ]
    values = [
        sql.SQL("person_key || '~' || c")
        if c == "person_key"
        else sql.SQL("gen_random_uuid()")
        if c == "event_id"
        else sql.Identifier(c)
        for c in columns
    ]
    conn.execute(
        sql.SQL("INSERT INTO {} SELECT {} FROM {}, generate_series(1, %s) c").format(
            sql.Identifier(table), sql.SQL(", ").join(values), sql.Identifier(table)
        ),
        (copies,),
    )


def counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = [
        *SOURCES,
        "inflow_daily",
        "coa_occupancy_deltas",
        "backlog_deltas",
        "lifecycle_deltas",
    ]
    out = {}
    for t in tables:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()
        out[t] = int(row[0]) if row else 0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--persons", type=int, default=40_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = settings_module.load()
    db = f"growth_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    queries = {r.name: view_query(r) for r in RESOURCES}
    try:
        with psycopg.connect(make_conninfo(settings.dsn, dbname=db), autocommit=True) as conn:
            migrate(conn)
            conn.execute(FILL.replace("%(n)s", str(args.persons)).encode())
            conn.execute("ANALYZE")
            rows = {1: counts(conn)}
            say(f"1x: {rows[1]}")
            timed = {1: query_views_ab.compare(conn, queries, args.repeats)}
            for table in SOURCES:
                grow(conn, table, 4)
            conn.execute("ANALYZE")
            rows[5] = counts(conn)
            say(f"5x: {rows[5]}")
            timed[5] = query_views_ab.compare(conn, queries, args.repeats)
    finally:
        with psycopg.connect(settings.dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
            )
    lines = [
        "# A view query's cost at 1x and 5x the items",
        "",
        f"Generated items for {args.persons:,} persons over three years (bench/query_growth.py), "
        "then four re-keyed copies of every items row (the same days and dimensions). p50 of "
        f"{args.repeats} interleaved runs per query, ms; over the aggregates maintained on write "
        "(`analyst`) and over the old item-based views (tests/integration/views_from_items.sql). "
        "Only the tables below are filled; the other resources answer from empty tables.",
        "",
        "| table | rows at 1x | rows at 5x |",
        "|---|---|---|",
        *(f"| `{t}` | {rows[1][t]:,} | {rows[5][t]:,} |" for t in rows[1]),
        "",
        "| resource | aggregates 1x | aggregates 5x | **5x / 1x** | items 1x | items 5x | "
        "**5x / 1x** |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in queries:
        (a1, i1), (a5, i5) = timed[1][name], timed[5][name]
        lines.append(
            f"| {name} | {a1:.1f} | {a5:.1f} | **{a5 / a1:.1f}** | {i1:.1f} | {i5:.1f} | "
            f"**{i5 / i1:.1f}** |"
        )
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
