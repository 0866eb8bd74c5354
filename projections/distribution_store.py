"""The distribution processor's store in PostgreSQL (migrations 014 and 016: schema
`distribution`, outside the live tables a replay swaps): each person's timeline records, the
deliveries made and the consumer positions, one transaction per batch. Implements
processors.distribution.DistributionStore structurally (this package imports no processors);
also the counts `ketenlog subscriptions --received` shows, aggregates only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import psycopg

from projections.db import LIVE
from projections.processing_store import advance_positions

# Its own schema (migration 016): a replay's swap of the live tables leaves it alone.
POSITIONS = "distribution.positions"


class PgDistributionTx:
    def __init__(
        self,
        conn: psycopg.AsyncConnection[Any],
        fact_type: Any,
        received: Callable[[Any, bytes | None, bytes, str], Any],
    ) -> None:
        self._conn = conn
        self._fact_type = fact_type
        self._received = received

    async def lock_persons(self, person_keys: list[str]) -> None:
        # Two workers briefly owning a partition during a rebalance must not both deliver a
        # person; sorted so that concurrent batches cannot deadlock.
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('distribution:' || k, 0))"
            " FROM (SELECT unnest(%s::text[]) AS k ORDER BY 1) keys",
            (sorted(set(person_keys)),),
        )

    async def add_records(self, records: list[Any]) -> None:
        """Records as processors.distribution.Received (duck-typed)."""
        if not records:
            return
        await self._conn.execute(
            "INSERT INTO distribution.distribution_records"
            " (event_id, person_key, fact, record_key, record_value, record_headers)"
            " SELECT * FROM unnest(%s::uuid[], %s::text[], %s::jsonb[], %s::bytea[],"
            " %s::bytea[], %s::jsonb[])"
            " ON CONFLICT (event_id, person_key) DO NOTHING",
            (
                [r.fact.event_id for r in records],
                [r.fact.person_key for r in records],
                [r.fact.to_json() for r in records],
                [r.key for r in records],
                [r.value for r in records],
                [r.headers_json() for r in records],
            ),
        )

    async def histories(self, person_keys: list[str]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {k: [] for k in person_keys}
        if not person_keys:
            return out
        cur = await self._conn.execute(
            "SELECT person_key, fact::text, record_key, record_value, record_headers::text"
            " FROM distribution.distribution_records WHERE person_key = ANY(%s)",
            (person_keys,),
        )
        for person_key, fact, key, value, headers in await cur.fetchall():
            out[person_key].append(
                self._received(self._fact_type.from_json(fact), key, bytes(value), headers)
            )
        return out

    async def delivered(self, person_keys: list[str]) -> set[tuple[str, str, str]]:
        if not person_keys:
            return set()
        cur = await self._conn.execute(
            "SELECT recipient, event_id::text, person_key FROM distribution.deliveries"
            " WHERE person_key = ANY(%s)",
            (person_keys,),
        )
        return {(r, e, p) for r, e, p in await cur.fetchall()}

    async def add_deliveries(self, records: list[Any], policy_label: str) -> None:
        """Records as processors.distribution.InboxRecord (duck-typed)."""
        if not records:
            return
        ds = [r.delivery for r in records]
        await self._conn.execute(
            "INSERT INTO distribution.deliveries (recipient, event_id, person_key, org,"
            " event_type, rule, rule_version, policy_label, due_with)"
            " SELECT r, e, p, o, t, ru, v, %s, dw FROM unnest(%s::text[], %s::uuid[],"
            " %s::text[], %s::text[], %s::text[], %s::text[], %s::int[], %s::uuid[])"
            " AS x(r, e, p, o, t, ru, v, dw)"
            " ON CONFLICT (recipient, event_id, person_key) DO NOTHING",
            (
                policy_label,
                [d.recipient for d in ds],
                [d.event_id for d in ds],
                [r.person_key for r in records],
                [d.org.value for d in ds],
                [d.event_type for d in ds],
                [d.rule for d in ds],
                [d.rule_version for d in ds],
                [d.due_with for d in ds],
            ),
        )

    async def advance(self, consumer: str, positions: dict[tuple[str, int], int]) -> None:
        await advance_positions(self._conn, consumer, positions, POSITIONS)


class PgDistributionStore:
    """One async connection per worker; each batch is one transaction."""

    def __init__(
        self,
        conn: psycopg.AsyncConnection[Any],
        fact_type: Any,
        received: Callable[[Any, bytes | None, bytes, str], Any],
        *,
        dsn: str = "",
        schema: str = LIVE,
    ) -> None:
        self._conn = conn
        self._fact_type = fact_type
        self._received = received
        self._dsn, self._schema = dsn, schema
        # One connection, used by the batches and the rebalance listener: one user at a time.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        dsn: str,
        fact_type: Any,
        received: Callable[[Any, bytes | None, bytes, str], Any],
        *,
        schema: str = LIVE,
    ) -> PgDistributionStore:
        """`received(fact, key, value, headers_json)` builds a stored record."""
        return cls(await _connect(dsn, schema), fact_type, received, dsn=dsn, schema=schema)

    async def reconnect(self) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = await _connect(self._dsn, self._schema)

    async def positions(self, consumer: str) -> dict[tuple[str, int], int]:
        async with self._lock, self._conn.transaction():
            cur = await self._conn.execute(
                f"SELECT topic, partition, next_offset FROM {POSITIONS} WHERE consumer = %s",
                (consumer,),
            )
            rows = await cur.fetchall()
        return {(t, p): o for t, p, o in rows}

    def transaction(self) -> AbstractAsyncContextManager[PgDistributionTx]:
        """One batch: records, deliveries and positions commit together or not at all."""
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[PgDistributionTx]:
        async with self._lock, self._conn.transaction():
            yield PgDistributionTx(self._conn, self._fact_type, self._received)

    async def close(self) -> None:
        await self._conn.close()


async def _connect(dsn: str, schema: str) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(
        dsn, application_name="ketenlog-distribute", options=f"-c search_path={schema}"
    )


def received_counts(conn: psycopg.Connection, org: str | None = None) -> list[tuple[Any, ...]]:
    """(org, rule, deliveries, persons, recipients) per organisation and rule, from the
    deliveries table: what each organisation received and by which rule. Aggregates only."""
    rows = conn.execute(
        "SELECT org, rule, count(*), count(DISTINCT person_key), count(DISTINCT recipient)"
        " FROM distribution.deliveries WHERE %(org)s::text IS NULL OR org = %(org)s"
        " GROUP BY org, rule ORDER BY org, rule",
        {"org": org},
    ).fetchall()
    return [tuple(r) for r in rows]
