"""The replay's bulk load: keys and indexes off for the load, on again after (projections.
replay_store.take_keys_off / put_keys_back), against a real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest

from projections import replay_store
from projections.db import LIVE, connect, migrate


def _keys_and_indexes(conn: psycopg.Connection, schema: str) -> set[tuple[str, str]]:
    """Every index of `schema` as (table, definition with the schema name taken out)."""
    rows = conn.execute(
        "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = %s", (schema,)
    ).fetchall()
    return {(t, d.replace(f"{schema}.", "")) for t, d in rows}


def test_keys_come_off_for_the_load_and_back_exactly_as_migrated(fresh_db: str) -> None:
    with connect(fresh_db) as conn:
        migrate(conn, LIVE)
        replay_store.fresh_schema(conn, "replay_keys")
        migrated = _keys_and_indexes(conn, LIVE)
        assert migrated == _keys_and_indexes(conn, "replay_keys")

        keys = replay_store.take_keys_off(conn, "replay_keys")
        assert _keys_and_indexes(conn, "replay_keys") == set()
        assert len(keys) == len(migrated)

        done: list[str] = []
        replay_store.put_keys_back(conn, keys, done.append)
        assert _keys_and_indexes(conn, "replay_keys") == migrated
        assert len(done) == len(migrated)


def test_a_duplicate_loaded_without_keys_fails_when_the_key_is_put_back(fresh_db: str) -> None:
    with connect(fresh_db) as conn:
        replay_store.fresh_schema(conn, "replay_dup")
        keys = replay_store.take_keys_off(conn, "replay_dup")
        row = ("pk-1", '{"kind": "x"}', 1, 1)
        with conn.transaction(), conn.cursor() as cur:
            copy_sql = "COPY replay_dup.person_state (person_key, state, events, facts) FROM STDIN"
            with cur.copy(copy_sql) as copy:
                copy.write_row(row)
                copy.write_row(row)
        with pytest.raises(psycopg.errors.UniqueViolation) as failed:
            replay_store.put_keys_back(conn, keys)
        assert "person_state" in str(failed.value) and "pk-1" in str(
            failed.value.diag.message_detail
        )
        # Nothing half-built: the failed transaction put no key back.
        assert _keys_and_indexes(conn, "replay_dup") == set()


def test_keys_are_never_taken_off_the_live_tables(fresh_db: str) -> None:
    with connect(fresh_db) as conn:
        migrate(conn, LIVE)
        with pytest.raises(ValueError, match="never"):
            replay_store.take_keys_off(conn, LIVE)
        assert _keys_and_indexes(conn, LIVE)
