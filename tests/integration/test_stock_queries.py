"""A stock asked per period (projections/queries.py over views.sql's `<view>_ends`, which start
from the level at the first day asked) gives the same rows as the same question put to the
stock's view as the queries put it before: every day of the view between the dates, and per
period the rows of its last day that has any. Generated rows written as the processor writes
them (tests/integration/generated_rows.py), dates and splits drawn; a real PostgreSQL,
each example in a transaction rolled back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from projections.db import ANALYST, ANALYST_OPTIONS, LIVE, connect, migrate
from projections.queries import CATALOGUE, PERIODS, plan
from tests.integration.generated_rows import FIRST_DAY, PERSONS, change, forget, rewrite, until

STOCKS = sorted(name for name, p in CATALOGUE.items() if p.stock)


@pytest.fixture
def db(fresh_db: str) -> Iterator[psycopg.Connection]:
    with connect(fresh_db) as conn:
        migrate(conn, LIVE)
        yield conn


def _over_the_view(
    conn: psycopg.Connection, name: str, period: str, by: list[str], span: tuple[date | None, ...]
) -> list[tuple[Any, ...]]:
    """The stock query of commit 1c157a1: the view's days between the dates, each period's
    last day with rows."""
    p = CATALOGUE[name]
    dims = [sql.Identifier(d) for d in p.split(by)]
    sums = sql.SQL(", ").join(
        [
            *(sql.SQL("sum(x.{})::bigint").format(sql.Identifier(c)) for c in p.sums),
            *(sql.SQL("sum(x.{})::numeric").format(sql.Identifier(c)) for c in p.keys),
        ]
    )
    group = sql.SQL(", ").join([sql.SQL("1"), *dims])
    query = sql.SQL(
        "WITH x AS (SELECT date_trunc(%(period)s, day)::date AS period, * FROM {view}"
        " WHERE day BETWEEN %(start)s AND least(%(end)s, current_date)),"
        " last AS (SELECT period, max(day) AS day FROM x GROUP BY period)"
        " SELECT x.period{dims}, {sums} FROM x JOIN last USING (period, day)"
        " GROUP BY {group} ORDER BY {group}"
    ).format(
        view=sql.Identifier(ANALYST, p.view),
        dims=sql.SQL("").join(sql.SQL(", {}").format(d) for d in dims),
        sums=sums,
        group=group,
    )
    start, end = span
    params = {"period": period, "start": start or date(1900, 1, 1), "end": end or date(9999, 1, 1)}
    return [tuple(r) for r in conn.execute(query, params).fetchall()]


def _asked(conn: psycopg.Connection, *question: Any) -> list[tuple[Any, ...]]:
    _, query, params = plan(*question, keys=True)
    return [tuple(r) for r in conn.execute(query, params).fetchall()]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_stock_per_period_equals_its_view_on_each_periods_last_day(
    db: psycopg.Connection, data: st.DataObject
) -> None:
    draw = data.draw
    days = st.integers(-4, 20).map(lambda n: FIRST_DAY + timedelta(days=n))
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
        for name in STOCKS:
            period = draw(st.sampled_from(PERIODS))
            dimensions = CATALOGUE[name].dimensions
            by = draw(st.lists(st.sampled_from(dimensions), unique=True)) if dimensions else []
            start, end = draw(st.none() | days), draw(st.none() | days)
            expected = _over_the_view(db, name, period, by, (start, end))
            assert _asked(db, name, period, by, start, end) == expected, (name, period, by)
        raise psycopg.Rollback()


def test_the_analysts_connections_do_not_compile_plans(fresh_db: str) -> None:
    """JIT compiling a stock's plan cost several times running it (projections/db.py)."""
    with connect(fresh_db, options=ANALYST_OPTIONS) as conn:
        assert conn.execute("SHOW jit").fetchone() == ("off",)


def test_a_month_whose_last_day_has_nobody_answers_its_last_day_with_someone(
    db: psycopg.Connection,
) -> None:
    """Per month and year the stocks run over the per-month deltas (migration 019); a period
    with nobody at its end has its rows on an earlier day, as the view's last day with rows."""
    with db.transaction():
        until(db, date(2026, 3, 20))
        db.execute(
            "INSERT INTO coa_stays (person_key, seq, from_day, to_day, location_type, location_id,"
            " resident_status) VALUES ('p1', 0, '2026-01-05', '2026-01-20', 'AZC', 'L1', 'A'),"
            " ('p2', 0, '2026-01-10', '2026-01-25', 'POL', 'L2', 'B'),"
            " ('p3', 0, '2026-03-02', NULL, 'AZC', 'L1', 'A')"
        )
        for name in STOCKS:
            for period in ("month", "year"):
                for span in ((None, None), (date(2026, 1, 12), None), (None, date(2026, 3, 1))):
                    expected = _over_the_view(db, name, period, [], span)
                    assert _asked(db, name, period, [], *span) == expected, (name, period, span)
        january = _asked(db, "residents", "month", ["location_id"], None, None)[0]
        assert january[:3] == (date(2026, 1, 1), "L2", 1)
        raise psycopg.Rollback()
