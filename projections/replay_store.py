"""Where a replay writes: a fresh schema with the same tables as the live one, bulk-loaded with
COPY, and the atomic swap that makes it live. Sits under `ketenlog replay` / `verify`; the
folding itself is processors.replay.

The swap runs in one transaction holding the swap lock exclusively (live batches hold it
shared): the live tables are dropped, the rebuilt ones moved into their place and the
analysts' views recreated over them. Readers see the old figures until the commit and the
new ones after it, never a mix; the live worker's next batch writes to the new tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from projections import aggregates
from projections.db import ANALYST, LIVE, SWAP_LOCK, create_views, migrate
from projections.processing_store import (
    FACT_COLUMNS,
    anomaly_rows,
    change_rows,
    fact_row,
)
from projections.tables import ANOMALIES, CHANGES, TABLES

PERSONS = "person_state (person_key, state, events, facts)"
POSITIONS = "consumer_positions (consumer, topic, partition, next_offset)"


def fresh_schema(conn: psycopg.Connection, schema: str) -> None:
    """An empty copy of the live tables in `schema` (dropped first if a replay left one)."""
    if schema in (LIVE, ANALYST):
        raise ValueError(f"a replay never writes into {schema!r}")
    with conn.transaction():
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    migrate(conn, schema)


@dataclass(frozen=True)
class Keys:
    """A schema's keys and indexes, taken off its tables for a bulk load and put back after:
    PostgreSQL builds an index once from sorted data far faster than it maintains it row by
    row, and putting a primary key back checks that the load held no duplicate. Likewise its
    aggregates (migration 017): their triggers are off for the load, and each aggregate is
    built once from the loaded items before the keys go back."""

    constraints: tuple[tuple[str, str, str], ...]  # table, name, definition
    indexes: tuple[str, ...]  # CREATE INDEX statements
    schema: str = ""
    triggered: tuple[str, ...] = ()  # the items tables whose aggregate triggers are off

    def __len__(self) -> int:
        return len(self.constraints) + len(self.indexes)


def take_keys_off(conn: psycopg.Connection, schema: str) -> Keys:
    """Drop every key and index of `schema`'s tables; what `put_keys_back` needs to restore them."""
    if schema in (LIVE, ANALYST):
        raise ValueError(f"keys are never taken off {schema!r}")
    with conn.transaction():
        constraints = conn.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c WHERE c.connamespace = %s::regnamespace"
            " AND c.contype IN ('p', 'u', 'f', 'x') ORDER BY c.contype = 'f' DESC, 1, 2",
            (schema,),
        ).fetchall()
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = %s"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid ="
            " format('%%I.%%I', i.schemaname, i.indexname)::regclass) ORDER BY 1",
            (schema,),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
        for table, name, _ in constraints:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.SQL(table), sql.Identifier(name)
                )
            )
        triggered = aggregates.sources(conn, schema)
        aggregates.set_triggers(conn, schema, triggered, on=False)
    return Keys(
        tuple((str(t), str(n), str(d)) for t, n, d in reversed(constraints)),
        tuple(str(d) for _, d in indexes),
        schema,
        tuple(triggered),
    )


def put_keys_back(
    conn: psycopg.Connection, keys: Keys, tick: Callable[[str], None] | None = None
) -> None:
    """Rebuild what `take_keys_off` dropped, in one transaction; a duplicate key fails it with
    the table and the key named (a replay must never hold one). `tick` hears each one done."""
    with conn.transaction():
        # Sorting for an index build is the bulk of the work: give it memory for this only.
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        if keys.triggered:
            # Before the keys: the aggregates' own keys are then built once, sorted, too.
            aggregates.rebuild(conn, keys.schema)
        for table, name, definition in keys.constraints:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.SQL(table), sql.Identifier(name), sql.SQL(definition)
                )
            )
            if tick is not None:
                tick(f"{table} {name}")
        for statement in keys.indexes:
            conn.execute(sql.SQL(statement))
            if tick is not None:
                tick(statement)
        aggregates.set_triggers(conn, keys.schema, list(keys.triggered), on=True)


def drop_schema(conn: psycopg.Connection, schema: str) -> None:
    with conn.transaction():
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def load(
    conn: psycopg.Connection,
    schema: str,
    *,
    facts: Sequence[Any],
    persons: Sequence[tuple[Any, int]],
    positions: dict[tuple[str, int], int],
    consumer: str,
) -> None:
    """One folded group (processors.replay.Folded's facts, persons, positions) in one
    transaction."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        _copy(cur, f"timeline_events {FACT_COLUMNS}", (fact_row(f) for f in facts))
        _copy(cur, PERSONS, ((r.person_key, r.state_json, r.events, n) for r, n in persons))
        _copy(cur, CHANGES, (c for r, _ in persons for c in change_rows(r)))
        _copy(cur, ANOMALIES, (a for r, _ in persons for a in anomaly_rows(r)))
        for name, target in TABLES.items():
            _copy(cur, target, (x for r, _ in persons for x in r.contributions.get(name, [])))
        _copy(cur, POSITIONS, ((consumer, t, p, o) for (t, p), o in sorted(positions.items())))


def positions(conn: psycopg.Connection, schema: str, consumer: str) -> dict[tuple[str, int], int]:
    rows = conn.execute(
        sql.SQL(
            "SELECT topic, partition, next_offset FROM {}.consumer_positions WHERE consumer = %s"
        ).format(sql.Identifier(schema)),
        (consumer,),
    ).fetchall()
    return {(t, p): o for t, p, o in rows}


def lock_swap(conn: psycopg.Connection) -> None:
    """Wait for live batches in flight and keep new ones out until this transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SWAP_LOCK,))


def swap(conn: psycopg.Connection, schema: str) -> None:
    """Make `schema`'s tables the live ones, inside the caller's transaction (which holds
    `lock_swap`): the old live tables go, the analysts' views are recreated over the new."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,)
        ).fetchall()
    ]
    for table in tables:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(LIVE, table)))
    for table in tables:
        conn.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                sql.Identifier(schema, table), sql.Identifier(LIVE)
            )
        )
    conn.execute(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(schema)))
    create_views(conn, ANALYST, LIVE)


def _copy(cur: psycopg.Cursor[Any], target: str, rows: Iterable[Sequence[Any]]) -> None:
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def accepted_facts(
    conn: psycopg.Connection, schema: str
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(event id, person key) of the facts `schema` holds, split in two: those the timeline
    must carry, and those that correct or retract another organisation's event. The gate
    dead-letters the latter only when it has seen the target (on another organisation's
    topic, so which comes first varies between paths) and the store keeps them for the fold
    either way; so on the timeline they may be, or not."""
    table = sql.Identifier(schema, "timeline_events")
    foreign = {
        (str(e), str(k))
        for e, k in conn.execute(
            sql.SQL(
                "SELECT f.event_id::text, f.person_key FROM {} f JOIN {} t"
                " ON t.event_id = coalesce(f.fact->>'retracts', f.fact->>'corrects')::uuid"
                " AND t.person_key = f.person_key WHERE t.producer <> f.producer"
            ).format(table, table)
        )
    }
    everything = {
        (str(e), str(k))
        for e, k in conn.execute(sql.SQL("SELECT event_id::text, person_key FROM {}").format(table))
    }
    return everything - foreign, foreign
