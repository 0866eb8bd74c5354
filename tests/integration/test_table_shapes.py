"""The row shapes named once (domain.contributions, domain.derive) against the tables the
migrations create: same columns, same order, so a COPY can never put a value in the wrong
column. A column added to a migration but not to its row (or the other way) fails here."""

from __future__ import annotations

import psycopg
import pytest

from projections.db import LIVE, migrate
from projections.tables import ANOMALIES, CHANGES, TABLES

TARGETS = sorted([*TABLES.values(), CHANGES, ANOMALIES])


def _split(target: str) -> tuple[str, list[str]]:
    table, _, cols = target.partition(" ")
    return table, [c.strip() for c in cols.strip("()").split(",")]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.split(" ")[0])
def test_row_shape_equals_the_migrated_table(fresh_db: str, target: str) -> None:
    table, shape = _split(target)
    with psycopg.connect(fresh_db) as conn:
        migrate(conn)
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (LIVE, table),
        ).fetchall()
    assert [r[0] for r in rows] == shape
