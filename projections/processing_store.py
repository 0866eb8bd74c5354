"""The processors' store in PostgreSQL: accepted events, per-person derived state and consumer
positions, written in one transaction so a crash never separates state from its offsets.
Implements processors.ports.ProcessingStore (structurally; no import of processors needed).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import psycopg
from psycopg import sql

from projections.db import LIVE, SWAP_LOCK
from projections.tables import ANOMALIES, CHANGES, TABLES


async def _copy(cur: psycopg.AsyncCursor[Any], target: str, rows: Sequence[Sequence[Any]]) -> None:
    """Bulk-insert rows with COPY (one round trip, whatever the batch size)."""
    if rows:
        async with cur.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                await copy.write_row(row)


# In the table's column order (facts_in, its copy, is inserted with SELECT *).
FACT_COLUMNS = (
    "(event_id, person_key, event_type, producer, occurred_at, recorded_at, source_topic,"
    " source_partition, source_offset, fact, logged_at)"
)


def fact_row(f: Any) -> tuple[Any, ...]:
    """A domain.facts.Fact as its timeline_events row (FACT_COLUMNS)."""
    return (
        f.event_id,
        f.person_key,
        f.event_type,
        f.producer,
        f.occurred_at,
        f.recorded_at,
        f.topic,
        f.partition,
        f.offset,
        f.to_json(),
        f.logged_at,
    )


def change_rows(row: Any, start: int = 0) -> list[tuple[Any, ...]]:
    """A processors.ports.PersonRow's state changes from number `start` on (CHANGES)."""
    return [
        (
            row.person_key,
            i,
            c.event_id,
            c.occurred_at,
            c.lifecycle,
            c.subject,
            c.from_state,
            c.to_state,
        )
        for i, c in enumerate(row.changes)
        if i >= start
    ]


def anomaly_rows(row: Any, start: int = 0) -> list[tuple[Any, ...]]:
    return [
        (row.person_key, i, a.kind, a.event_id, a.occurred_at, a.case_id, a.detail)
        for i, a in enumerate(row.anomalies)
        if i >= start
    ]


def _moved(write: Any) -> int:
    """The projection tables (bit i: the i-th of TABLES) whose rows of the person are replaced;
    none for a row without contributions, whose stored rows stay as they are."""
    if not write.row.contributions:
        return 0
    same = write.same_contributions
    return sum(1 << bit for bit, name in enumerate(TABLES) if name not in same)


def _put_persons_sql() -> str:
    """Upsert the staged states, and delete the changes and anomalies from each person's first
    one that moved and the rows of each projection table that moved: one statement (its
    data-modifying WITH parts all run, each once, on the same snapshot)."""
    parts = [
        "w AS MATERIALIZED (SELECT * FROM unnest(%s::text[], %s::int[], %s::int[], %s::int[])"
        " AS w(person_key, keep_changes, keep_anomalies, moved))",
        "p AS (INSERT INTO person_state (person_key, state, events, facts, updated_at)"
        " SELECT person_key, state, events, facts, now() FROM persons_in"
        " ON CONFLICT (person_key) DO UPDATE SET state = excluded.state,"
        " events = excluded.events, facts = excluded.facts, updated_at = now())",
        "c AS (DELETE FROM state_changes s USING w"
        " WHERE s.person_key = w.person_key AND s.seq >= w.keep_changes)",
        "a AS (DELETE FROM anomalies s USING w"
        " WHERE s.person_key = w.person_key AND s.seq >= w.keep_anomalies)",
    ]
    for bit, target in enumerate(TABLES.values()):
        table = target.split(" ", 1)[0]
        parts.append(
            f"t{bit} AS (DELETE FROM {table} s USING w"
            f" WHERE s.person_key = w.person_key AND w.moved & {1 << bit} <> 0)"
        )
    return "WITH " + ", ".join(parts) + " SELECT 1"


PUT_PERSONS = _put_persons_sql()
assert len(TABLES) < 31, "one bit per projection table in an int"


class PgProcessingTx:
    """Queries that take key arrays send them in binary: psycopg quotes each element of a
    text array with a regular expression, a large cost at thousands of keys per batch."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], fact_type: Any) -> None:
        self._conn = conn
        self._fact_type = fact_type

    async def start(
        self, keys: list[tuple[str, str]], person_keys: list[str]
    ) -> tuple[set[tuple[str, str]], dict[str, int]]:
        """The locks, the stored keys and the fact counts in one round trip (a pipeline: the
        server runs the three in order, so both reads are under the locks)."""
        if not person_keys:
            return set(), {}
        async with self._conn.pipeline():
            # Sorted, so that concurrent batches cannot deadlock.
            await self._conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))"
                " FROM (SELECT unnest(%s::text[]) AS k ORDER BY 1) keys",
                (sorted(set(person_keys)),),
                binary=True,
            )
            seen = await self._conn.execute(
                "SELECT event_id::text, person_key FROM timeline_events"
                " WHERE event_id = ANY(%s::uuid[])",
                ([event_id for event_id, _ in keys],),
                binary=True,
            )
            counts = await self._conn.execute(
                "SELECT person_key, facts FROM person_state WHERE person_key = ANY(%s)",
                (person_keys,),
                binary=True,
            )
        stored = {(e, p) for e, p in await seen.fetchall()} & set(keys)
        return stored, {key: int(n) for key, n in await counts.fetchall()}

    async def histories(self, person_keys: list[str]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {k: [] for k in person_keys}
        if not person_keys:
            return out
        cur = await self._conn.execute(
            "SELECT person_key, fact::text FROM timeline_events WHERE person_key = ANY(%s)",
            (person_keys,),
            binary=True,
        )
        for person_key, fact in await cur.fetchall():
            out[person_key].append(self._fact_type.from_json(fact))
        return out

    async def add_facts(self, facts: Sequence[Any]) -> None:
        """Facts as domain.facts.Fact (duck-typed: this package imports no processors)."""
        if not facts:
            return
        async with self._conn.cursor() as cur:
            await _copy(
                cur,
                f"facts_in {FACT_COLUMNS}",
                [fact_row(f) for f in facts],
            )
            await cur.execute(
                f"INSERT INTO timeline_events {FACT_COLUMNS}"
                " SELECT * FROM facts_in ON CONFLICT (event_id, person_key) DO NOTHING"
            )

    async def replace_facts(self, facts: Sequence[Any]) -> None:
        """Store these facts' content anew (an erasure purged their personal fields)."""
        if not facts:
            return
        async with self._conn.cursor() as cur:
            await cur.executemany(
                "UPDATE timeline_events SET fact = %s WHERE event_id = %s AND person_key = %s",
                [(f.to_json(), f.event_id, f.person_key) for f in facts],
            )

    async def put_persons(self, writes: list[Any]) -> None:
        """Writes as processors.ports.PersonWrite; rows go through COPY (no per-row quoting).
        The state upsert and every delete of rows that moved are one statement (one round
        trip); then one COPY per table that has rows to add."""
        if not writes:
            return
        moved = [_moved(w) for w in writes]
        async with self._conn.cursor() as cur:
            await _copy(
                cur,
                "persons_in (person_key, state, events, facts)",
                [(w.row.person_key, w.row.state_json, w.row.events, w.facts) for w in writes],
            )
            # Binary parameters: text arrays are not quoted element by element in Python.
            await cur.execute(
                PUT_PERSONS,
                (
                    [w.row.person_key for w in writes],
                    [w.keep_changes for w in writes],
                    [w.keep_anomalies for w in writes],
                    moved,
                ),
                binary=True,
            )
            await _copy(
                cur,
                CHANGES,
                [r for w in writes for r in change_rows(w.row, w.keep_changes)],
            )
            await _copy(
                cur,
                ANOMALIES,
                [r for w in writes for r in anomaly_rows(w.row, w.keep_anomalies)],
            )
            # Each person's projection rows, old out (above) and new in: the figures move by
            # the delta.
            for bit, (name, target) in enumerate(TABLES.items()):
                await _copy(
                    cur,
                    target,
                    [
                        r
                        for w, mask in zip(writes, moved, strict=True)
                        if mask >> bit & 1
                        for r in w.row.contributions.get(name, [])
                    ],
                )

    async def advance(self, consumer: str, positions: dict[tuple[str, int], int]) -> None:
        await advance_positions(self._conn, consumer, positions)


class PgProcessingStore:
    """One async connection per worker; each batch is one transaction."""

    def __init__(
        self,
        conn: psycopg.AsyncConnection[Any],
        fact_type: Any,
        *,
        swap_lock: bool = True,
        dsn: str = "",
        schema: str = LIVE,
    ) -> None:
        self._conn = conn
        self._fact_type = fact_type
        self._swap_lock = swap_lock
        self._dsn, self._schema = dsn, schema
        # One connection, used by the agent and the worker's timers: one user at a time.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls, dsn: str, fact_type: Any, *, schema: str = LIVE, swap_lock: bool = True
    ) -> PgProcessingStore:
        """`schema`: where the tables are (a replay catches up its own schema with the live
        code path, without the swap lock, which it holds itself)."""
        return cls(
            await _connect(dsn, schema), fact_type, swap_lock=swap_lock, dsn=dsn, schema=schema
        )

    async def reconnect(self) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = await _connect(self._dsn, self._schema)

    async def positions(self, consumer: str) -> dict[tuple[str, int], int]:
        async with self._lock, self._conn.transaction():
            cur = await self._conn.execute(
                "SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer = %s",
                (consumer,),
            )
            rows = await cur.fetchall()
        return {(t, p): o for t, p, o in rows}

    def transaction(self) -> AbstractAsyncContextManager[PgProcessingTx]:
        """One batch: facts, states and positions commit together or not at all."""
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[PgProcessingTx]:
        async with self._lock, self._conn.transaction():
            if self._swap_lock:
                # Shared with every other batch; a replay's swap takes it exclusively, so it
                # never moves tables under a batch nor lets one start on half-swapped tables.
                await self._conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (SWAP_LOCK,))
            yield PgProcessingTx(self._conn, self._fact_type)

    def refusal(self, error: BaseException) -> str | None:
        # SQLSTATE classes 22 (data exception: a NUL, an out-of-range value), 23 (integrity
        # constraint) and 54 (program limit: an index row too large) are about the data; the
        # rest (connection lost, server shutting down, out of resources) are about the store.
        if isinstance(error, psycopg.errors.DataError | psycopg.errors.IntegrityError) or (
            isinstance(error, psycopg.Error) and (error.sqlstate or "").startswith("54")
        ):
            return f"{type(error).__name__}: {str(error).strip()}"
        return None

    async def close(self) -> None:
        await self._conn.close()


async def _connect(dsn: str, schema: str) -> psycopg.AsyncConnection[Any]:
    conn = await psycopg.AsyncConnection.connect(
        dsn, application_name="ketenlog-process", options=f"-c search_path={schema}"
    )
    async with conn.transaction():
        # Staging for COPY: timeline_events and person_state need ON CONFLICT, COPY has none.
        await conn.execute(
            "CREATE TEMP TABLE facts_in (LIKE timeline_events INCLUDING DEFAULTS)"
            " ON COMMIT DELETE ROWS"
        )
        await conn.execute("ALTER TABLE facts_in DROP COLUMN ingested_at")
        await conn.execute(
            "CREATE TEMP TABLE persons_in (person_key text, state jsonb, events int,"
            " facts int) ON COMMIT DELETE ROWS"
        )
    return conn


async def advance_positions(
    conn: psycopg.AsyncConnection[Any],
    consumer: str,
    positions: dict[tuple[str, int], int],
    table: str = "consumer_positions",
) -> None:
    """Store a consumer's next offsets (in the caller's transaction) in `table` (the timeline
    processor's `consumer_positions`, or `distribution.positions`), one statement per batch."""
    if not positions:
        return
    items = sorted(positions.items())
    target = sql.Identifier(*table.split("."))
    # GREATEST: a worker that lost a partition in a rebalance never moves it backwards.
    await conn.execute(
        sql.SQL(
            "INSERT INTO {t} AS p (consumer, topic, partition, next_offset)"
            " SELECT %s, t, p, o FROM unnest(%s::text[], %s::int[], %s::bigint[]) AS x(t, p, o)"
            " ON CONFLICT (consumer, topic, partition) DO UPDATE"
            " SET next_offset = GREATEST(p.next_offset, excluded.next_offset),"
            " updated_at = now()"
        ).format(t=target),
        (
            consumer,
            [t for (t, _), _ in items],
            [p for (_, p), _ in items],
            [o for _, o in items],
        ),
    )
