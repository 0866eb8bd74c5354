"""The webhooks' state in PostgreSQL (migration 015): the registered endpoints with their
secrets, how far each has handled its inbox, and its dead letter. The registration side
(`ketenlog webhooks register/list/remove/redeliver`) is synchronous; the sender
(processors.webhook_sender) uses `PgWebhookStore`, one async connection, one transaction per
handled batch: positions, dead letters and counters together or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from projections.db import LIVE

# A registered endpoint: (id, org, gemeente, url, secret).
WebhookRow = tuple[int, str, str | None, str, str]
# A dead letter's delivery: (partition, offset, event id, person key, CloudEvent).
DeadLetterRow = tuple[int, int, str, str, dict[str, Any]]


LIST_COLUMNS = (
    "id",
    "org",
    "gemeente",
    "url",
    "created_at",
    "delivered",
    "requests",
    "failures",
    "last_success_at",
    "last_error",
    "last_error_at",
    "parked",
    "requeued",
)


def register(
    conn: psycopg.Connection[Any],
    org: str,
    gemeente: str | None,
    url: str,
    secret: str,
    *,
    start: dict[int, int],
) -> int:
    """Store an endpoint (and, for `--from-now`, where in its inbox it starts); its id."""
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO webhook.endpoints (org, gemeente, url, secret) VALUES (%s, %s, %s, %s)"
            " RETURNING id",
            (org, gemeente, url, secret),
        ).fetchone()
        assert row is not None
        webhook_id = int(row[0])
        for partition, offset in start.items():
            conn.execute(
                "INSERT INTO webhook.positions (webhook_id, partition, next_offset)"
                " VALUES (%s, %s, %s)",
                (webhook_id, partition, offset),
            )
    return webhook_id


def listing(conn: psycopg.Connection[Any], org: str | None = None) -> list[dict[str, Any]]:
    """Every endpoint (or one organisation's) with its counters and its dead letter's size;
    never the secret."""
    rows = conn.execute(
        "SELECT w.id, w.org, w.gemeente, w.url, w.created_at, w.delivered, w.requests,"
        " w.failures, w.last_success_at, w.last_error, w.last_error_at,"
        " count(d.seq) FILTER (WHERE d.status = 'parked'),"
        " count(d.seq) FILTER (WHERE d.status = 'requeued')"
        " FROM webhook.endpoints w LEFT JOIN webhook.dead_letters d ON d.webhook_id = w.id"
        " WHERE %(org)s::text IS NULL OR w.org = %(org)s"
        " GROUP BY w.id ORDER BY w.id",
        {"org": org},
    ).fetchall()
    return [dict(zip(LIST_COLUMNS, row, strict=True)) for row in rows]


def remove(conn: psycopg.Connection[Any], webhook_id: int) -> bool:
    with conn.transaction():
        cur = conn.execute("DELETE FROM webhook.endpoints WHERE id = %s", (webhook_id,))
    return cur.rowcount == 1


def rotate(conn: psycopg.Connection[Any], webhook_id: int, secret: str) -> bool:
    with conn.transaction():
        cur = conn.execute(
            "UPDATE webhook.endpoints SET secret = %s WHERE id = %s", (secret, webhook_id)
        )
    return cur.rowcount == 1


def requeue(conn: psycopg.Connection[Any], webhook_id: int) -> int:
    """Mark a webhook's parked deliveries for the sender to send again, in their order
    (not a record that could not be rendered: posting it would fail every time)."""
    with conn.transaction():
        cur = conn.execute(
            "UPDATE webhook.dead_letters SET status = 'requeued'"
            " WHERE webhook_id = %s AND status = 'parked'"
            # A record that is no CloudEvent is never sent: it waits for an operator.
            " AND NOT event ? 'ketenlogunreadable'",
            (webhook_id,),
        )
    return cur.rowcount


def exists(conn: psycopg.Connection[Any], webhook_id: int) -> bool:
    row = conn.execute("SELECT 1 FROM webhook.endpoints WHERE id = %s", (webhook_id,)).fetchone()
    return row is not None


class PgWebhookStore:
    """The sender's store: one async connection shared by the webhooks' tasks, one user at a
    time (each call is short; no transaction is held while a request is in flight)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], dsn: str, schema: str) -> None:
        self._conn = conn
        self._dsn, self._schema = dsn, schema
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, dsn: str, schema: str = LIVE) -> PgWebhookStore:
        return cls(await _connect(dsn, schema), dsn, schema)

    async def reconnect(self) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = await _connect(self._dsn, self._schema)

    async def close(self) -> None:
        await self._conn.close()

    async def webhooks(self) -> list[WebhookRow]:
        rows = await self._fetch(
            "SELECT id, org, gemeente, url, secret FROM webhook.endpoints ORDER BY id"
        )
        return [(int(i), str(o), g, str(u), str(s)) for i, o, g, u, s in rows]

    async def positions(self, webhook_id: int) -> dict[int, int]:
        rows = await self._fetch(
            "SELECT partition, next_offset FROM webhook.positions WHERE webhook_id = %s",
            (webhook_id,),
        )
        return {int(p): int(o) for p, o in rows}

    async def blocked(self, webhook_id: int) -> set[str]:
        """The persons with a delivery in the dead letter: their later events wait behind it."""
        rows = await self._fetch(
            "SELECT DISTINCT person_key FROM webhook.dead_letters WHERE webhook_id = %s",
            (webhook_id,),
        )
        return {str(r[0]) for r in rows}

    async def requeued(self, webhook_id: int, limit: int) -> list[DeadLetterRow]:
        rows = await self._fetch(
            'SELECT partition, "offset", event_id, person_key, event FROM webhook.dead_letters'
            " WHERE webhook_id = %s AND status = 'requeued' ORDER BY seq LIMIT %s",
            (webhook_id, limit),
        )
        return [(int(p), int(o), str(e), str(k), dict(ev)) for p, o, e, k, ev in rows]

    async def handled(
        self,
        webhook_id: int,
        *,
        positions: dict[int, int],
        delivered: int = 0,
        parked: Iterable[Any] = (),
        redelivered: Iterable[tuple[int, int]] = (),
    ) -> None:
        """One batch is done (sent and acknowledged, or parked): its positions, its dead
        letter rows and its counters, in one transaction. `parked` as
        processors.webhook_sender.Parked (duck-typed: item, attempts, error, status)."""
        parked, redelivered = list(parked), list(redelivered)
        async with self._lock, self._conn.transaction():
            if positions:
                await self._conn.execute(
                    "INSERT INTO webhook.positions (webhook_id, partition, next_offset)"
                    " SELECT %s, p, o FROM unnest(%s::int[], %s::bigint[]) AS x(p, o)"
                    # Removed meanwhile (`webhooks remove`): nothing left to keep.
                    " WHERE EXISTS (SELECT 1 FROM webhook.endpoints WHERE id = %s)"
                    " ON CONFLICT (webhook_id, partition) DO UPDATE SET next_offset ="
                    " greatest(webhook.positions.next_offset, excluded.next_offset)",
                    (webhook_id, list(positions), list(positions.values()), webhook_id),
                )
            if parked:
                await self._conn.execute(
                    'INSERT INTO webhook.dead_letters (webhook_id, partition, "offset",'
                    " event_id, person_key, event, status, attempts, last_error)"
                    " SELECT %s, p, o, e, k, ev, s, a, err FROM unnest(%s::int[], %s::bigint[],"
                    " %s::text[], %s::text[], %s::jsonb[], %s::text[], %s::int[], %s::text[])"
                    " AS x(p, o, e, k, ev, s, a, err)"
                    " WHERE EXISTS (SELECT 1 FROM webhook.endpoints WHERE id = %s)"
                    ' ON CONFLICT (webhook_id, partition, "offset") DO UPDATE SET'
                    " status = excluded.status, attempts = webhook.dead_letters.attempts"
                    " + excluded.attempts, last_error = excluded.last_error, parked_at = now()",
                    (
                        webhook_id,
                        [p.item.partition for p in parked],
                        [p.item.offset for p in parked],
                        [p.item.event_id for p in parked],
                        [p.item.person_key for p in parked],
                        [Jsonb(p.item.event) for p in parked],
                        [p.status for p in parked],
                        [p.attempts for p in parked],
                        [p.error for p in parked],
                        webhook_id,
                    ),
                )
            if redelivered:
                await self._conn.execute(
                    "DELETE FROM webhook.dead_letters WHERE webhook_id = %s AND"
                    ' (partition, "offset") IN (SELECT * FROM unnest(%s::int[], %s::bigint[]))',
                    (webhook_id, [p for p, _ in redelivered], [o for _, o in redelivered]),
                )
            if delivered:
                await self._conn.execute(
                    "UPDATE webhook.endpoints SET delivered = delivered + %s,"
                    " last_success_at = now() WHERE id = %s",
                    (delivered, webhook_id),
                )

    async def attempted(self, webhook_id: int, error: str | None) -> None:
        """Count one request, and its failure (None: it succeeded)."""
        async with self._lock, self._conn.transaction():
            if error is None:
                await self._conn.execute(
                    "UPDATE webhook.endpoints SET requests = requests + 1 WHERE id = %s",
                    (webhook_id,),
                )
            else:
                await self._conn.execute(
                    "UPDATE webhook.endpoints SET requests = requests + 1, failures = failures + 1,"
                    " last_error = %s, last_error_at = now() WHERE id = %s",
                    (error[:500], webhook_id),
                )

    async def _fetch(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        async with self._lock, self._conn.transaction():
            cur = await self._conn.execute(query, params)
            return list(await cur.fetchall())


async def _connect(dsn: str, schema: str) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(
        dsn, application_name="ketenlog-webhooks", options=f"-c search_path={schema}"
    )
