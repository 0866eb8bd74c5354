"""Throwaway databases on the test session's PostgreSQL, one per test that needs a clean store."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator

import psycopg


@contextlib.contextmanager
def scratch_database(dsn: str) -> Iterator[str]:
    """Create a fresh database next to `dsn`'s, yield its DSN, and drop it afterwards."""
    name = f"kt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{dsn.rpartition('/')[0]}/{name}"
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
