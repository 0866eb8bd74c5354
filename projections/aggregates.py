"""The aggregates maintained on write (migration 017), from Python: per-day counts and deltas
that the analysts' views read instead of the items. Triggers keep them in the writer's
transaction; this module serves the paths that do not write row by row: a replay's bulk load
(triggers off, each aggregate built once at the end: projections.replay_store), `ketenlog
verify` (each aggregate equal to its recompute from the items) and --as-known-at (a moment's
aggregates as views computed from its rows: projections.as_known_at). The SQL of each is in
the schema's `aggregates` table, so every path sums the same way. Sits at the edge: SQL only.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


def names(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """The aggregates of `schema`, in order; none where migration 017 is not applied."""
    if conn.execute("SELECT to_regclass(%s)", (f"{schema}.aggregates",)).fetchone() == (None,):
        return []
    query = sql.SQL("SELECT name FROM {} ORDER BY name").format(
        sql.Identifier(schema, "aggregates")
    )
    return [str(r[0]) for r in conn.execute(query).fetchall()]


def sources(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """The items tables whose triggers maintain `schema`'s aggregates."""
    if not names(conn, schema):
        return []
    query = sql.SQL("SELECT DISTINCT source FROM {} ORDER BY 1").format(
        sql.Identifier(schema, "aggregates")
    )
    return [str(r[0]) for r in conn.execute(query).fetchall()]


def set_triggers(conn: psycopg.Connection[Any], schema: str, tables: list[str], on: bool) -> None:
    """Switch the aggregates' triggers on `schema`'s items tables on or off (a bulk load)."""
    action = sql.SQL("ENABLE" if on else "DISABLE")
    for table in tables:
        conn.execute(
            sql.SQL("ALTER TABLE {} {} TRIGGER USER").format(sql.Identifier(schema, table), action)
        )


def rebuild(conn: psycopg.Connection[Any], schema: str) -> None:
    """Every aggregate of `schema` built afresh from its items (one INSERT ... GROUP BY each)."""
    for name in names(conn, schema):
        conn.execute("SELECT aggregation.recompute(%s, %s)", (schema, name))


def differences(conn: psycopg.Connection[Any], schema: str) -> dict[str, int]:
    """Per aggregate of `schema`, how many rows differ from its recompute from the items (rows
    kept but not recomputed and the other way round); all 0 when the triggers kept it right."""
    out: dict[str, int] = {}
    for name in names(conn, schema):
        row = conn.execute("SELECT aggregation.differences(%s, %s)", (schema, name)).fetchone()
        out[name] = int(row[0]) if row else 0
    return out


def as_views(conn: psycopg.Connection[Any], scratch: str, definitions: str) -> None:
    """In `scratch`, whose items tables are views (a moment's rows), each aggregate of
    `definitions` as a view computed from them with the triggers' SQL."""
    conn.execute(
        sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(
            sql.Identifier(scratch, "aggregates"), sql.Identifier(definitions, "aggregates")
        )
    )
    for name in names(conn, definitions):
        row = conn.execute("SELECT aggregation.recomputed(%s, %s)", (scratch, name)).fetchone()
        assert row is not None
        conn.execute(
            sql.SQL("CREATE VIEW {} AS {}").format(sql.Identifier(scratch, name), sql.SQL(row[0]))
        )
