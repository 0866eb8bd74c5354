"""Bench helper for bench/query_latency.py: the analysts' view queries over the aggregates
maintained on write (the `analyst` views) against the same queries over the views that
regrouped the items (tests/integration/views_from_items.sql, built into a scratch schema), on
the same database at the same moment, interleaved: an A/B of the views alone, after the
closed-loop measurement under load.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
from latency import pct
from psycopg import sql

from projections.queries import CATALOGUE

REFERENCE = Path(__file__).resolve().parent.parent / "tests/integration/views_from_items.sql"
SCRATCH = "views_from_items"


Queries = Mapping[str, tuple[sql.Composable, dict[str, Any]]]


def compare(
    conn: psycopg.Connection, queries: Queries, repeats: int
) -> dict[str, tuple[float, float]]:
    """Per resource, the p50 in ms of its query (on the `analyst` views) over the aggregates
    and over the items."""
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCRATCH)))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCRATCH)))
    text = REFERENCE.read_text("utf-8").replace("{views}", SCRATCH).replace("{tables}", "public")
    conn.execute(text.encode())
    for view in sorted({p.view for p in CATALOGUE.values() if p.stock}):
        conn.execute(_ends(view))
    timed: dict[tuple[str, str], list[float]] = {}
    try:
        runs = [(name, schema) for name in queries for schema in ("analyst", SCRATCH)]
        for _ in range(repeats):
            random.shuffle(runs)
            for name, schema in runs:
                query, params = queries[name]
                text_query = query.as_string(conn).replace('"analyst".', f'"{schema}".')
                t = time.perf_counter()
                conn.execute(text_query.encode(), params).fetchall()
                timed.setdefault((name, schema), []).append(time.perf_counter() - t)
    finally:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(SCRATCH)))
    return {
        name: (pct(sorted(timed[(name, "analyst")]), 0.5), pct(sorted(timed[(name, SCRATCH)]), 0.5))
        for name in queries
    }


def _ends(view: str) -> sql.Composed:
    """A stock's query reads `<view>_ends(period, van, tot)` (projections/views.sql): over the
    items, the rows of the view on each period's last day between van and tot."""
    return sql.SQL(
        "CREATE FUNCTION {ends}(period text, van date, tot date) RETURNS SETOF {view}"
        " LANGUAGE sql STABLE AS $$ SELECT (x.r).* FROM (SELECT v AS r, v.day, max(v.day) OVER"
        " (PARTITION BY date_trunc(period, v.day::timestamp)) AS last FROM {view} v"
        " WHERE v.day BETWEEN van AND tot) x WHERE x.day = x.last $$"
    ).format(ends=sql.Identifier(SCRATCH, f"{view}_ends"), view=sql.Identifier(SCRATCH, view))
