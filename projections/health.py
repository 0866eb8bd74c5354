"""The processing's health as an operator polls it: per worker group, how far the stored work
is behind the log (lag), when a batch last committed, and the last fault a worker rode out.
Faults live in a schema of their own (`ketenlog_health`), outside the projection tables that a
replay swaps and `verify` compares. SQL only; the end offsets come from the caller (Kafka).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from projections.db import LIVE

HEALTH = "ketenlog_health"
# A group with work waiting that has committed nothing for this long is stalled: a healthy
# worker commits a batch every few seconds while there is input.
STALL_AFTER = timedelta(seconds=60)

_DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {HEALTH}",
    f"CREATE TABLE IF NOT EXISTS {HEALTH}.worker_faults ("
    " consumer text NOT NULL, at timestamptz NOT NULL, error text NOT NULL,"
    " recorded_at timestamptz NOT NULL DEFAULT now())",
    f"CREATE INDEX IF NOT EXISTS worker_faults_by_consumer ON {HEALTH}.worker_faults"
    " (consumer, at DESC)",
)


@dataclass(frozen=True)
class GroupHealth:
    consumer: str
    lag: int
    last_commit: datetime | None
    last_fault_at: datetime | None
    last_fault: str | None

    def stalled(self, now: datetime) -> bool:
        """Work is waiting and nothing committed for STALL_AFTER (or ever)."""
        if self.lag == 0:
            return False
        return self.last_commit is None or now - self.last_commit > STALL_AFTER


async def record_fault(dsn: str, consumer: str, at: datetime, error: str) -> None:
    """Keep a fault a worker rode out (on a connection of its own: the worker's may be the one
    that broke)."""
    async with await psycopg.AsyncConnection.connect(dsn, connect_timeout=5) as conn:
        for statement in _DDL:
            await conn.execute(statement)
        await conn.execute(
            f"INSERT INTO {HEALTH}.worker_faults (consumer, at, error) VALUES (%s, %s, %s)",
            (consumer, at, error[:2000]),
        )


def groups(conn: psycopg.Connection[Any], ends: dict[tuple[str, int], int]) -> list[GroupHealth]:
    """Every worker group that has stored positions, against the log's end offsets `ends`."""
    rows = conn.execute(
        f"SELECT consumer, topic, partition, next_offset, updated_at FROM {LIVE}.consumer_positions"
    ).fetchall()
    positions: dict[str, dict[tuple[str, int], int]] = {}
    commits: dict[str, datetime] = {}
    for consumer, topic, partition, offset, updated in rows:
        positions.setdefault(consumer, {})[(topic, partition)] = offset
        commits[consumer] = max(commits.get(consumer, updated), updated)
    faults = _last_faults(conn)
    out = []
    for consumer in sorted(positions):
        done = positions[consumer]
        lag = sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items())
        at, error = faults.get(consumer, (None, None))
        out.append(GroupHealth(consumer, lag, commits.get(consumer), at, error))
    return out


def _last_faults(conn: psycopg.Connection[Any]) -> dict[str, tuple[datetime, str]]:
    present = conn.execute("SELECT to_regclass(%s)", (f"{HEALTH}.worker_faults",)).fetchone()
    if present is None or present[0] is None:
        return {}
    rows = conn.execute(
        f"SELECT DISTINCT ON (consumer) consumer, at, error FROM {HEALTH}.worker_faults"
        " ORDER BY consumer, at DESC"
    ).fetchall()
    return {consumer: (at, error) for consumer, at, error in rows}


def now() -> datetime:
    return datetime.now(UTC)
