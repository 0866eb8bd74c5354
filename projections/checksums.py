"""Checksums of the projection tables, per table and per period, so `ketenlog verify` can say
that the live tables equal a fresh replay — and where they do not. Sits at the edge: SQL only.

A period's checksum is the row count and the sum of a 64-bit hash of each row's text: order
does not matter (tables have no order), one changed, missing or extra row changes it. Columns
that record when a row was written (not what it says) are left out: a replay writes later.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg import sql

# When a row was written, not what it holds; schema_migrations is bookkeeping, not a figure.
VOLATILE = {"ingested_at", "updated_at", "applied_at"}
SKIPPED = {"schema_migrations"}
# The column whose month is a row's period; tables not listed are one period ("all").
PERIOD_OF = {
    "timeline_events": "occurred_at",
    "state_changes": "occurred_at",
    "anomalies": "occurred_at",
    "inflow_items": "day",
    "decision_items": "day",
    "departure_items": "day",
    "coa_stays": "from_day",
    "goo_stays": "from_day",
    "case_items": "lodged_day",
    "housing_items": "day",
    "relocation_items": "day",
    "location_capacity": "from_day",
    # The aggregates the views read (migration 017): derived, so a difference in an items
    # table shows here in the same month too.
    **dict.fromkeys(
        (
            "inflow_daily",
            "decisions_daily",
            "departures_daily",
            "anomalies_daily",
            "eurodac_hits_daily",
            "solidarity_daily",
            "coa_occupancy_deltas",
            "coa_location_deltas",
            "capacity_deltas",
            "goo_deltas",
            "backlog_deltas",
            "lifecycle_deltas",
        ),
        "day",
    ),
}


@dataclass(frozen=True, order=True)
class Checksum:
    table: str
    period: str
    rows: int
    digest: str


@dataclass(frozen=True)
class Difference:
    table: str
    period: str
    live: Checksum | None
    replay: Checksum | None

    def describe(self) -> str:
        live = f"{self.live.rows} rows #{self.live.digest}" if self.live else "absent"
        replay = f"{self.replay.rows} rows #{self.replay.digest}" if self.replay else "absent"
        return f"{self.table} {self.period}: live {live}, replay {replay}"


def checksums(conn: psycopg.Connection[Any], schema: str) -> list[Checksum]:
    """Every table of `schema`, per period, sorted."""
    out: list[Checksum] = []
    for table, columns in _tables(conn, schema).items():
        period_col = PERIOD_OF.get(table)
        period = (
            sql.SQL("coalesce(to_char({}, 'YYYY-MM'), 'none')").format(sql.Identifier(period_col))
            if period_col in columns
            else sql.SQL("'all'")
        )
        row = sql.SQL("ROW({})::text").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        query = sql.SQL(
            "SELECT {period} AS period, count(*),"
            " sum(('x' || left(md5({row}), 16))::bit(64)::bigint::numeric)"
            " FROM {table} GROUP BY 1 ORDER BY 1"
        ).format(period=period, row=row, table=sql.Identifier(schema, table))
        for p, n, total in conn.execute(query).fetchall():
            # Mod 2^64 and hex: short enough to read, still one hash per period.
            digest = format(int(total) % (1 << 64), "016x")
            out.append(Checksum(table, str(p), int(n), digest))
    return sorted(out)


def compare(live: list[Checksum], replay: list[Checksum]) -> list[Difference]:
    """Every (table, period) whose checksum differs or exists on one side only."""
    a = {(c.table, c.period): c for c in live}
    b = {(c.table, c.period): c for c in replay}
    return [
        Difference(table, period, a.get((table, period)), b.get((table, period)))
        for table, period in sorted(a.keys() | b.keys())
        if a.get((table, period)) != b.get((table, period))
    ]


def _tables(conn: psycopg.Connection[Any], schema: str) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (schema,),
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        if table in SKIPPED or column in VOLATILE:
            continue
        tables.setdefault(table, []).append(column)
    return tables


def per_table(sums: list[Checksum]) -> list[Checksum]:
    """One checksum per table (period "all"): rows summed, digests summed mod 2^64."""
    rows: dict[str, int] = {}
    total: dict[str, int] = {}
    for c in sums:
        rows[c.table] = rows.get(c.table, 0) + c.rows
        total[c.table] = (total.get(c.table, 0) + int(c.digest, 16)) % (1 << 64)
    return [Checksum(t, "all", rows[t], format(total[t], "016x")) for t in sorted(rows)]


def to_json(sums: list[Checksum]) -> str:
    return json.dumps([asdict(c) for c in sums], indent=1) + "\n"


def from_json(text: str) -> list[Checksum]:
    try:
        return sorted(Checksum(**entry) for entry in json.loads(text))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a checksum file written by `ketenlog verify`: {exc}") from exc
