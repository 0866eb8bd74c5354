"""The analysts' views over the aggregates maintained on write (migration 017) give the same rows
as the views that regrouped the items (tests/integration/views_from_items.sql), row for row
and key sum for key sum, after any sequence of the processor's writes: a person's rows
deleted and written again (DELETE + COPY), deleted, or changed in place (UPDATE). Generated
rows on a real PostgreSQL; each example in a transaction rolled back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from projections import aggregates, replay_store
from projections.db import ANALYST, LIVE, connect, create_views, migrate
from tests.integration.generated_rows import FIRST_DAY, PERSONS, change, forget, rewrite, until

REFERENCE = Path(__file__).with_name("views_from_items.sql")


@pytest.fixture
def db(fresh_db: str) -> Iterator[psycopg.Connection]:
    with connect(fresh_db) as conn:
        migrate(conn, LIVE)
        template = REFERENCE.read_text("utf-8")
        with conn.transaction():
            conn.execute("CREATE SCHEMA reference")
            conn.execute(
                template.replace("{views}", "reference").replace("{tables}", LIVE).encode()
            )
        yield conn


def _views(conn: psycopg.Connection) -> list[str]:
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'reference'"
            " ORDER BY 1"
        ).fetchall()
    ]


def _same_views(conn: psycopg.Connection) -> None:
    views = _views(conn)
    assert len(views) > 20
    for view in views:
        ours, theirs = sql.Identifier(ANALYST, view), sql.Identifier("reference", view)
        shape = (
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position"
        )
        assert (
            conn.execute(shape, (ANALYST, view)).fetchall()
            == conn.execute(shape, ("reference", view)).fetchall()
        ), view
        for a, b in ((ours, theirs), (theirs, ours)):
            extra = conn.execute(
                sql.SQL("SELECT * FROM {} EXCEPT ALL SELECT * FROM {}").format(a, b)
            ).fetchall()
            assert extra == [], f"{view}: rows of {a.as_string(conn)} not in the other: {extra}"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_views_over_aggregates_equal_the_views_over_items(
    db: psycopg.Connection, data: st.DataObject
) -> None:
    draw = data.draw
    with db.transaction():
        until(db, FIRST_DAY + timedelta(days=draw(st.integers(5, 16))))
        for _ in range(draw(st.integers(1, 8))):
            person = draw(st.sampled_from(PERSONS))
            action = draw(st.sampled_from(["rewrite", "rewrite", "change", "forget"]))
            if action == "rewrite":
                rewrite(db, draw, person)
            elif action == "change":
                change(db, draw, person)
            else:
                forget(db, person)
        _same_views(db)
        assert set(aggregates.differences(db, LIVE).values()) == {0}
        raise psycopg.Rollback()


def test_a_bulk_load_builds_the_aggregates_once_with_the_keys(fresh_db: str) -> None:
    """The replay's path: triggers off while loading, each aggregate built at the end."""
    with connect(fresh_db) as conn:
        migrate(conn, LIVE)
        replay_store.fresh_schema(conn, "agg_load")
        keys = replay_store.take_keys_off(conn, "agg_load")
        with conn.transaction():
            conn.execute(
                "INSERT INTO agg_load.inflow_items VALUES"
                " ('p1', gen_random_uuid(), '2026-01-02', 'FIRST', false, 'SYR', '18-34', 'M'),"
                " ('p2', gen_random_uuid(), '2026-01-02', 'FIRST', false, 'SYR', '18-34', 'M')"
            )
        # Nothing maintained row by row during the load.
        assert conn.execute("SELECT count(*) FROM agg_load.inflow_daily").fetchone() == (0,)
        replay_store.put_keys_back(conn, keys)
        assert conn.execute(
            "SELECT applications, contributions FROM agg_load.inflow_daily"
        ).fetchall() == [(2, 2)]
        # And maintained again for the live path's catch-up that follows.
        with conn.transaction():
            conn.execute("DELETE FROM agg_load.inflow_items WHERE person_key = 'p1'")
        assert conn.execute("SELECT applications FROM agg_load.inflow_daily").fetchall() == [(1,)]
        assert set(aggregates.differences(conn, "agg_load").values()) == {0}


def test_a_swap_takes_the_aggregates_and_their_triggers_along(fresh_db: str) -> None:
    with connect(fresh_db) as conn:
        migrate(conn, LIVE)
        replay_store.fresh_schema(conn, "agg_swap")
        with conn.transaction():
            conn.execute(
                "INSERT INTO agg_swap.coa_stays (person_key, seq, from_day, to_day, location_type)"
                " VALUES ('p1', 0, '2026-01-02', '2026-01-04', 'AZC')"
            )
            replay_store.lock_swap(conn)
            replay_store.swap(conn, "agg_swap")
        with conn.transaction():
            conn.execute("DELETE FROM coa_stays")
        assert conn.execute("SELECT count(*) FROM coa_occupancy_deltas").fetchone() == (0,)
        with conn.transaction():
            create_views(conn, ANALYST, LIVE)


def test_an_aggregate_changed_behind_the_triggers_differs_from_its_recompute(
    fresh_db: str,
) -> None:
    """What `ketenlog verify` checks: each aggregate against its recompute from the items."""
    with connect(fresh_db) as conn:
        migrate(conn, LIVE)
        conn.execute(
            "INSERT INTO decision_items VALUES"
            " ('p1', gen_random_uuid(), '2026-01-02', 'AA', 'A', now(), now())"
        )
        assert set(aggregates.differences(conn, LIVE).values()) == {0}
        conn.execute("UPDATE decisions_daily SET decisions = decisions + 1")
        assert aggregates.differences(conn, LIVE)["decisions_daily"] == 2


@pytest.mark.parametrize("search_path", ["public", "analyst, public"])
def test_every_writer_keeps_the_aggregates_whatever_its_search_path(
    fresh_db: str, search_path: str
) -> None:
    """The trigger's static statements (a writer whose first schema is the table's, as the
    processor) and its dynamic ones (any other writer) keep the same aggregates, through
    insert, update and delete of a table with two aggregates; emptied rows go."""
    with connect(fresh_db) as conn:
        migrate(conn, LIVE)
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.SQL(search_path)))
        stays = "public.coa_stays (person_key, seq, from_day, to_day, location_type, location_id)"
        with conn.transaction():
            conn.execute(
                f"INSERT INTO {stays} VALUES"
                " ('p1', 0, '2026-01-02', '2026-01-04', 'AZC', 'L1'),"
                " ('p2', 0, '2026-01-02', NULL, 'AZC', 'L1'),"
                " ('p3', 0, '2026-01-03', NULL, 'POL', 'L2')"
            )
        occupancy = (
            "SELECT day, location_type, persons FROM public.coa_occupancy_deltas ORDER BY 1, 2"
        )
        assert conn.execute(occupancy).fetchall() == [
            (date(2026, 1, 2), "AZC", 2),
            (date(2026, 1, 3), "POL", 1),
            (date(2026, 1, 4), "AZC", -1),
        ]
        with conn.transaction():
            conn.execute(
                "UPDATE public.coa_stays SET to_day = '2026-01-05' WHERE person_key = 'p1'"
            )
            conn.execute("DELETE FROM public.coa_stays WHERE person_key = 'p3'")
        assert conn.execute(occupancy).fetchall() == [
            (date(2026, 1, 2), "AZC", 2),
            (date(2026, 1, 5), "AZC", -1),
        ]
        assert set(aggregates.differences(conn, LIVE).values()) == {0}
        with conn.transaction():
            conn.execute("DELETE FROM public.coa_stays")
        for table in ("coa_occupancy_deltas", "coa_location_deltas"):
            assert conn.execute(f"SELECT count(*) FROM public.{table}").fetchone() == (0,)


PER_MONTH = ("coa_location_monthly", "coa_minor_deltas", "lifecycle_monthly", "relocations_daily")


def _kept(conn: psycopg.Connection, name: str) -> list[tuple[object, ...]]:
    return sorted(
        tuple(r)
        for r in conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(name))).fetchall()
    )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_per_month_aggregates_equal_their_rebuild_after_any_writes(
    db: psycopg.Connection, data: st.DataObject
) -> None:
    """Migration 019's aggregates, kept by the triggers through inserts (COPY), updates in place
    of every column they group or count by, and deletes, are what a rebuild from the items
    gives (the replay's bulk load), and `differences` (ketenlog verify) sees them."""
    draw = data.draw
    assert set(PER_MONTH) <= set(aggregates.names(db, LIVE))
    with db.transaction():
        until(db, FIRST_DAY + timedelta(days=draw(st.integers(5, 16))))
        for _ in range(draw(st.integers(1, 8))):
            person = draw(st.sampled_from(PERSONS))
            action = draw(st.sampled_from(["rewrite", "rewrite", "change", "move", "forget"]))
            if action == "rewrite":
                rewrite(db, draw, person)
            elif action == "change":
                change(db, draw, person)
            elif action == "move":
                shift = draw(st.integers(-40, 40))
                db.execute(
                    "UPDATE state_changes SET occurred_at = occurred_at + %s * interval '1 day',"
                    " from_state = CASE WHEN seq = 0 THEN NULL ELSE from_state END"
                    " WHERE person_key = %s",
                    (shift, person),
                )
                db.execute(
                    "UPDATE relocation_items SET day = day + %s, minor = NOT minor"
                    " WHERE person_key = %s",
                    (shift, person),
                )
                db.execute(
                    "UPDATE coa_stays SET from_day = from_day + %s, minor = NOT minor,"
                    " resident_status = 'B' WHERE person_key = %s",
                    (shift, person),
                )
            else:
                forget(db, person)
        kept = {name: _kept(db, name) for name in PER_MONTH}
        assert all(aggregates.differences(db, LIVE)[name] == 0 for name in PER_MONTH)
        aggregates.rebuild(db, LIVE)
        assert {name: _kept(db, name) for name in PER_MONTH} == kept
        raise psycopg.Rollback()


def test_relocation_years_of_stays_that_count_no_day(db: psycopg.Connection) -> None:
    """A year keeps its relocations row when a stay reaches into it without a resident day in
    it (one starting after the log's last day, one ending before it begins), as when the view
    expanded every stay: the maintained deltas give the same rows."""
    with db.transaction():
        until(db, date(2026, 3, 10))
        db.execute(
            "INSERT INTO coa_stays (person_key, seq, from_day, to_day, location_type, minor)"
            " VALUES ('p1', 0, '2026-05-01', NULL, 'AZC', true),"
            " ('p2', 0, '2025-06-10', '2025-06-01', 'AZC', false),"
            " ('p3', 0, '2024-12-30', '2025-01-03', 'POL', false),"
            " ('p4', 0, '2023-02-01', '2023-01-01', 'AZC', true)"
        )
        rows = "SELECT * FROM {}.coa_relocations ORDER BY period"
        ours = db.execute(rows.format(ANALYST)).fetchall()
        assert ours == db.execute(rows.format("reference")).fetchall()
        assert [(r[1], r[3], r[5]) for r in ours] == [
            (date(2024, 1, 1), 2, 0),
            (date(2025, 1, 1), 2, 0),
            (date(2026, 1, 1), 0, 0),
        ]
        raise psycopg.Rollback()
