"""Generated rows of the projection tables, written as the processor writes them (a person's
rows deleted and COPYed again, deleted, or changed in place), for the integration tests of
the views and the queries over them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from hypothesis import strategies as st
from psycopg import sql

from projections.tables import ANOMALIES, CHANGES, TABLES

FIRST_DAY = date(2025, 12, 20)
PERSONS = [f"p{i}" for i in range(6)]
# Few values per column, so that rows share their groups and days.
TEXTS = {
    "kind": ["FIRST", "REPEAT", "NAREIS", "FORCED", "INDEPENDENT", "LATE_REGISTRATION"],
    "result": ["DECIDED", "MAXIMUM_REACHED", "WITHDRAWN"],
    "answer": ["ACCEPTED", "REFUSED"],
    "step": ["LINKED", "HOUSED"],
    "state": ["OPEN", "DECIDED", "CLOSED"],
    "from_state": ["OPEN", "DECIDED", "CLOSED"],
    "to_state": ["OPEN", "DECIDED", "CLOSED"],
}
TARGETS = [*TABLES.values(), CHANGES, ANOMALIES]
Draw = Callable[[st.SearchStrategy[Any]], Any]


def columns_of(conn: psycopg.Connection, table: str) -> list[tuple[str, str, bool]]:
    return [
        (str(n), str(t), y == "YES")
        for n, t, y in conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    ]


def _value(draw: Draw, name: str, kind: str, nullable: bool) -> Any:
    if nullable and draw(st.integers(0, 3)) == 0:
        return None
    if kind == "uuid":
        return uuid.UUID(int=draw(st.integers(0, 2**64)))
    if kind == "date":
        return FIRST_DAY + timedelta(days=draw(st.integers(0, 14)))
    if kind == "timestamp with time zone":
        base = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
        return base + timedelta(hours=draw(st.integers(0, 14 * 24)))
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "integer":
        return draw(st.integers(0, 3))
    return draw(st.sampled_from(TEXTS.get(name, ["A", "B"])))


def _rows(draw: Draw, person: str, columns: list[tuple[str, str, bool]]) -> list[tuple[Any, ...]]:
    """A person's rows of one table; seq and case_id numbered, as the fold numbers them."""
    out = []
    for i in range(draw(st.integers(0, 3))):
        row: list[Any] = []
        for name, kind, nullable in columns:
            if name == "person_key":
                row.append(person)
            elif name in ("seq", "case_id"):
                row.append(i if kind == "integer" else f"case-{i}")
            else:
                row.append(_value(draw, name, kind, nullable))
        out.append(tuple(row))
    return out


def rewrite(conn: psycopg.Connection, draw: Draw, person: str) -> None:
    """What the processor does for a person folded again: delete its rows, COPY the new ones."""
    for target in TARGETS:
        table, listed = target.split(" ", 1)
        names = [c.strip() for c in listed.strip("()").split(",")]
        columns = {n: (n, k, y) for n, k, y in columns_of(conn, table)}
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE person_key = %s").format(sql.Identifier(table)), (person,)
        )
        rows = _rows(draw, person, [columns[n] for n in names])
        with conn.cursor().copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def change(conn: psycopg.Connection, draw: Draw, person: str) -> None:
    """Rows changed in place (no path does it today; the triggers must not depend on that)."""
    shift = draw(st.integers(-3, 3))
    conn.execute("UPDATE coa_stays SET to_day = to_day + %s WHERE person_key = %s", (shift, person))
    conn.execute("UPDATE case_items SET decided_day = NULL WHERE person_key = %s", (person,))
    conn.execute(
        "UPDATE inflow_items SET day = day + 1, kind = 'REPEAT' WHERE person_key = %s", (person,)
    )


def forget(conn: psycopg.Connection, person: str) -> None:
    for target in TARGETS:
        table = sql.Identifier(target.split(" ", 1)[0])
        conn.execute(sql.SQL("DELETE FROM {} WHERE person_key = %s").format(table), (person,))


def until(conn: psycopg.Connection, day: date) -> None:
    """data_until: the log's last valid time, from the timeline."""
    conn.execute("DELETE FROM timeline_events")
    conn.execute(
        "INSERT INTO timeline_events (event_id, person_key, event_type, producer, occurred_at,"
        " recorded_at, source_topic, source_partition, source_offset, fact, logged_at)"
        " VALUES (gen_random_uuid(), 'p0', 'X', 'IND', %s, now(), 't', 0, 0, '{}', now())",
        (datetime.combine(day, datetime.min.time(), tzinfo=UTC),),
    )
