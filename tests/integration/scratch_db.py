"""Throwaway databases on the test session's PostgreSQL, one per test that needs a clean store."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import date

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


@contextlib.contextmanager
def scratch_database(dsn: str) -> Iterator[str]:
    """Create a fresh database next to `dsn`'s, yield its DSN, and drop it afterwards."""
    name = f"kt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield make_conninfo(dsn, dbname=name)
    finally:
        _drop(dsn, name)


def _drop(dsn: str, name: str) -> None:
    # FORCE also ends stray sessions; a server whose role may not signal them (no
    # pg_signal_backend) gets a plain DROP retried while its autovacuum worker finishes.
    deadline = time.monotonic() + 30
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except psycopg.errors.InsufficientPrivilege:
            pass
        while True:
            try:
                conn.execute(f"DROP DATABASE IF EXISTS {name}")
                return
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


def log_event(conn: psycopg.Connection, person: str, day: date) -> None:
    """One accepted event at noon UTC on `day` in `timeline_events` (what analyst.data_until
    reads), for views tested on rows written straight into the projection tables. Every other
    required time column (the system times) gets now(), so a migration that adds one does not
    break the tests that only need a last valid day."""
    times = [
        name
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = 'timeline_events' AND is_nullable = 'NO' AND"
            " column_default IS NULL AND data_type = 'timestamp with time zone' AND column_name"
            " NOT IN ('occurred_at', 'recorded_at')"
        )
    ]
    columns = sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(c)) for c in times)
    nows = sql.SQL("").join(sql.SQL(", now()") for _ in times)
    conn.execute(
        sql.SQL(
            "INSERT INTO timeline_events (event_id, person_key, event_type, producer, occurred_at,"
            " recorded_at, source_topic, source_partition, source_offset, fact{columns})"
            " VALUES (%s, %s, 'X', 'IND', %s, now(), 'keten.timeline', 0, 0, '{{}}'{nows})"
        ).format(columns=columns, nows=nows),
        (uuid.uuid4(), person, f"{day.isoformat()}T12:00:00Z"),
    )
