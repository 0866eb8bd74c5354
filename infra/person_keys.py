"""The person key store: one random AES-256 data key per person (schemas/sealing.py), held in
an owner-only SQLite file that only the publisher, the processor, replay and `erase` open.
`erase` deletes a person's keys with SQLite's secure_delete, so the freed cells are
overwritten, and truncates the write-ahead log, so no older copy of the page stays in it.
Keys are cached in memory: a record costs no round trip once its person is known.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from schemas.sealing import new_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS person_keys (
    key_id     BLOB PRIMARY KEY,
    person_key TEXT NOT NULL,
    data_key   BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS person_keys_person ON person_keys (person_key);
CREATE TABLE IF NOT EXISTS erasures (
    person_key TEXT NOT NULL,
    erased_at  TEXT NOT NULL,
    keys       INTEGER NOT NULL
);
"""


class PersonKeyStore:
    """Data keys by person; thread-safe (the publisher's and processor's threads share one)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)
        fresh = not path.exists()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        if fresh:
            os.chmod(path, 0o600)
        self._db.execute("PRAGMA secure_delete = ON")
        # WAL without a sync per commit: a new person's key costs no fsync (a national year
        # has tens of thousands), and survives a crash of the process; `erase` truncates the
        # WAL so the destroyed key's old frames are gone with it.
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._current: dict[str, tuple[bytes, bytes]] = {}
        self._by_id: dict[tuple[str, bytes], bytes | None] = {}

    def close(self) -> None:
        self._db.close()

    def key_for(self, person_key: str) -> tuple[bytes, bytes]:
        """The (key id, data key) to seal with: the person's newest, created on first use."""
        with self._lock:
            found = self._current.get(person_key)
            if found is not None:
                return found
            row = self._db.execute(
                "SELECT key_id, data_key FROM person_keys WHERE person_key = ?"
                " ORDER BY created_at DESC LIMIT 1",
                (person_key,),
            ).fetchone()
            if row is None:
                key_id, key = new_key()
                self._db.execute(
                    "INSERT INTO person_keys VALUES (?, ?, ?, ?)",
                    (key_id, person_key, key, datetime.now(UTC).isoformat()),
                )
                row = (key_id, key)
            found = (bytes(row[0]), bytes(row[1]))
            self._current[person_key] = found
            self._by_id[(person_key, found[0])] = found[1]
            return found

    def key(self, person_key: str, key_id: bytes) -> bytes | None:
        """The data key with this id, if it is the person's and still exists."""
        with self._lock:
            cached = self._by_id.get((person_key, key_id), b"")
            if cached != b"":
                return cached
            row = self._db.execute(
                "SELECT data_key FROM person_keys WHERE key_id = ? AND person_key = ?",
                (key_id, person_key),
            ).fetchone()
            # A key id is random and never reused: an absent one stays absent.
            key = None if row is None else bytes(row[0])
            self._by_id[(person_key, key_id)] = key
            return key

    def preload(self) -> int:
        """Read every data key into memory at once (a replay's worker opens the keys of every
        person of its partition group: one query each cost ~0.4 ms, about a tenth of the
        batch path's time); how many. A key made later is still found by `key`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT person_key, key_id, data_key FROM person_keys"
            ).fetchall()
            for person, key_id, key in rows:
                self._by_id.setdefault((str(person), bytes(key_id)), bytes(key))
        return len(rows)

    def forget(self, person_key: str) -> None:
        """Drop the person's keys from memory (their erasure was seen)."""
        with self._lock:
            self._current.pop(person_key, None)
            self._by_id = {k: v for k, v in self._by_id.items() if k[0] != person_key}

    def erase(self, person_key: str, now: datetime) -> int:
        """Destroy every data key of the person; how many there were."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute("DELETE FROM person_keys WHERE person_key = ?", (person_key,))
            count = cur.rowcount
            self._db.execute(
                "INSERT INTO erasures VALUES (?, ?, ?)", (person_key, now.isoformat(), count)
            )
            self._db.execute("COMMIT")
            # Into the database file (secure_delete zeroes the freed cells there), then the WAL
            # that still holds the page as it was is truncated to nothing.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._current.pop(person_key, None)
            self._by_id = {k: v for k, v in self._by_id.items() if k[0] != person_key}
            return count

    def erased(self) -> dict[str, str]:
        """Person key -> when it was last erased."""
        with self._lock:
            rows = self._db.execute(
                "SELECT person_key, max(erased_at) FROM erasures GROUP BY person_key"
            ).fetchall()
        return {str(p): str(t) for p, t in rows}
