"""The analysts' views as the chain knew them at a moment T (system time): only the events the
log held at T count, in their form at T — a correction or retraction recorded after T is not
applied yet. Sits beside projections.queries, which runs the same queries on these views.

System time is an event's `logged_at`: when the broker appended it to the agency topic (the
record timestamp, which the broker refuses more than a few minutes off its own clock), a
time the publisher cannot set; the publisher's `recorded_at` is information, never the
system time, so a backdated record cannot reach into the past. Valid time (`occurred_at`) is
the other axis: which day a figure is about. "Occupancy on 1 March as known on 2 March" asks
valid time 1 March at system time 2 March.

How: persons with no event logged after T have the same rows as today, so only the others
are folded again, from their events logged up to T. Inside the caller's transaction a
scratch schema gets, per derived table, a view of today's rows for the unchanged persons plus
the refolded rows, the aggregates the live views read (migration 017) as views computed from
those rows with the SQL their triggers use, and the analysts' views over those; rolling back
removes it all. A moment's views therefore cost what every view cost before the aggregates:
they regroup the moment's items.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from typing import Any

import psycopg
from psycopg import sql

from domain.derive import PersonRow, derive
from domain.facts import Fact
from projections import aggregates
from projections.db import LIVE, create_views
from projections.processing_store import anomaly_rows, change_rows
from projections.tables import ANOMALIES, CHANGES, TABLES

Rows = Callable[[PersonRow], Iterable[tuple[Any, ...]]]


def _per_person_tables() -> dict[str, tuple[str, Rows]]:
    """Every table a person's fold fills: its COPY target and how to get its rows."""
    tables: dict[str, tuple[str, Rows]] = {
        "state_changes": (CHANGES, change_rows),
        "anomalies": (ANOMALIES, anomaly_rows),
    }
    for name, target in TABLES.items():
        tables[target.split(" ", 1)[0]] = (target, _contribution(name))
    return tables


def _contribution(name: str) -> Rows:
    return lambda row: row.contributions.get(name, [])


def parse_moment(text: str) -> datetime:
    """A system-time moment as people write it: an ISO date means the end of that day (all it
    recorded counts); an ISO date-time is taken as given, in UTC when it names no zone."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def prepare(conn: psycopg.Connection[Any], moment: datetime) -> str:
    """Build the views as known at `moment` inside the caller's open transaction (roll it
    back afterwards); returns the schema of the views. Costs one fold per person with an
    event logged after `moment`."""
    tag = uuid.uuid4().hex[:12]
    scratch, views = f"asof_{tag}", f"asof_{tag}_views"
    s = sql.Identifier(scratch)
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(s))
    conn.execute(
        sql.SQL(
            "CREATE TABLE {}.later AS SELECT DISTINCT person_key FROM {}.timeline_events"
            " WHERE logged_at > %s"
        ).format(s, sql.Identifier(LIVE)),
        (moment,),
    )
    conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {}.later (person_key)").format(s))
    histories: dict[str, list[Fact]] = {}
    cur = conn.execute(
        sql.SQL(
            "SELECT t.person_key, t.fact::text FROM {}.timeline_events t"
            " JOIN {}.later USING (person_key) WHERE t.logged_at <= %s"
        ).format(sql.Identifier(LIVE), s),
        (moment,),
    )
    for key, text in cur:
        histories.setdefault(key, []).append(Fact.from_json(text))
    rows = [derive(key, facts) for key, facts in histories.items()]
    for table, (target, rows_of) in _per_person_tables().items():
        refolded = sql.Identifier(scratch, f"{table}_refolded")
        conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE {})").format(refolded, sql.Identifier(LIVE, table))
        )
        columns = target[len(table) :]
        with conn.cursor().copy(
            sql.SQL("COPY {} {} FROM STDIN").format(refolded, sql.SQL(columns))
        ) as copy:
            for row in rows:
                for values in rows_of(row):
                    copy.write_row(values)
        conn.execute(
            sql.SQL(
                "CREATE VIEW {view} AS SELECT * FROM {live} x WHERE NOT EXISTS"
                " (SELECT 1 FROM {later} l WHERE l.person_key = x.person_key)"
                " UNION ALL SELECT * FROM {refolded}"
            ).format(
                view=sql.Identifier(scratch, table),
                live=sql.Identifier(LIVE, table),
                later=sql.Identifier(scratch, "later"),
                refolded=refolded,
            )
        )
    # How far the moment's views reach (analyst.data_until): as known at T, the chain's
    # knowledge reaches T itself, not only its last event before T (a quiet week before T is
    # no gap in the data: the example asks for 1 March as known on 2 March, with the
    # last placement on 20 February). Never past the whole log's last valid time, so a stale
    # log is not carried forward to T either.
    conn.execute(
        sql.SQL(
            "CREATE VIEW {} AS SELECT least({}, max(occurred_at)) AS occurred_at FROM {}"
        ).format(
            sql.Identifier(scratch, "timeline_events"),
            sql.Literal(moment),
            sql.Identifier(LIVE, "timeline_events"),
        )
    )
    aggregates.as_views(conn, scratch, LIVE)
    create_views(conn, views, scratch)
    return views
