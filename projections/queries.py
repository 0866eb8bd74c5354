"""The read side for analysts: each projection of the `analyst` views, per period (day, week,
month, year) and the dimensions asked for, between two dates. Flows (inflow, decisions,
departures) are summed over the period; stocks (occupancy) are the value on the period's last
day. Disclosure control is applied by the caller (ketenlog query, the API) on the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

from projections.db import ANALYST

PERIODS = ("day", "week", "month", "year")


@dataclass(frozen=True)
class Projection:
    name: str
    view: str
    measure: str
    dimensions: tuple[str, ...]
    stock: bool
    description: str


CATALOGUE = {
    p.name: p
    for p in (
        Projection(
            "inflow",
            "inflow",
            "applications",
            ("kind", "unaccompanied_minor"),
            False,
            "asylum applications lodged (FIRST, REPEAT) and nareizigers arrived (NAREIS)",
        ),
        Projection(
            "decisions",
            "decisions",
            "decisions",
            ("track", "outcome"),
            False,
            "IND decisions by track and outcome (A, B, REJECTED, INADMISSIBLE, "
            "MANIFESTLY_UNFOUNDED)",
        ),
        Projection(
            "departures",
            "departures",
            "departures",
            ("kind", "demonstrable"),
            False,
            "departures by kind; demonstrable = INDEPENDENT + FORCED",
        ),
        Projection(
            "occupancy",
            "coa_occupancy",
            "persons",
            ("location_type",),
            True,
            "persons in COA reception at the end of the period's last day, by location type "
            "(COA definition: nareizigers and repeat applicants excluded)",
        ),
        Projection(
            "backlog",
            "decision_backlog",
            "pending",
            (),
            True,
            "asylum cases pending at the IND (first application lodged, no decision yet)",
        ),
        Projection(
            "backlog_late",
            "decision_backlog",
            "pending_beyond_legal_period",
            (),
            True,
            "pending cases lodged more than six months ago (the legal decision period)",
        ),
        Projection(
            "lifecycle",
            "lifecycle",
            "subjects",
            ("lifecycle", "state"),
            True,
            "cases, receptions, family reunifications, protection and guardianships per state "
            "at the end of the period (all cases, MVV holders included)",
        ),
        Projection(
            "anomalies",
            "anomalies",
            "anomalies",
            ("kind",),
            False,
            "facts that did not fit the lifecycle, by kind (docs/lifecycle.md)",
        ),
        Projection(
            "goo",
            "goo_occupancy",
            "persons",
            (),
            True,
            "persons in municipal shelter for displaced persons from Ukraine (GOO)",
        ),
    )
}


class QueryError(ValueError):
    pass


def plan(
    projection: str,
    period: str,
    by: list[str],
    start: date | None,
    end: date | None,
    *,
    views: str = ANALYST,
) -> tuple[list[str], sql.Composed, dict[str, Any]]:
    """Column names (period, the asked dimensions, the count), the query and its parameters.
    `views`: the schema of the views (projections.as_known_at builds other moments' views)."""
    p = CATALOGUE.get(projection)
    if p is None:
        raise QueryError(f"unknown projection {projection!r}; choose from {', '.join(CATALOGUE)}")
    if period not in PERIODS:
        raise QueryError(f"unknown period {period!r}; choose from {', '.join(PERIODS)}")
    unknown = [d for d in by if d not in p.dimensions]
    if unknown:
        raise QueryError(
            f"{projection} has no dimension {', '.join(unknown)}; "
            f"it has {', '.join(p.dimensions) or 'none'}"
        )
    params = {"period": period, "start": start or date(1900, 1, 1), "end": end or date(9999, 1, 1)}
    dims = [sql.Identifier(d) for d in by]
    view = sql.Identifier(views, p.view)
    measure = sql.Identifier(p.measure)
    select_dims = sql.SQL("").join(sql.SQL(", {}").format(d) for d in dims)
    group = sql.SQL(", ").join([sql.SQL("1"), *dims])
    if not p.stock:
        query = sql.SQL(
            "SELECT date_trunc(%(period)s, day)::date AS period{dims}, sum({m})::bigint"
            " FROM {view} WHERE day BETWEEN %(start)s AND %(end)s"
            " GROUP BY {group} ORDER BY {group}"
        ).format(dims=select_dims, m=measure, view=view, group=group)
    else:
        query = sql.SQL(
            "WITH x AS (SELECT date_trunc(%(period)s, day)::date AS period, * FROM {view}"
            " WHERE day BETWEEN %(start)s AND least(%(end)s, current_date)),"
            " last AS (SELECT period, max(day) AS day FROM x GROUP BY period)"
            " SELECT x.period{dims}, sum(x.{m})::bigint FROM x JOIN last USING (period, day)"
            " GROUP BY {group} ORDER BY {group}"
        ).format(dims=select_dims, m=measure, view=view, group=group)
    return ["period", *by, p.measure], query, params


def run(
    conn: psycopg.Connection,
    projection: str,
    *,
    period: str = "month",
    by: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    views: str = ANALYST,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows: period, the asked dimensions, then the raw count."""
    columns, query, params = plan(projection, period, by or [], start, end, views=views)
    return columns, [tuple(r) for r in conn.execute(query, params).fetchall()]


async def run_async(
    conn: psycopg.AsyncConnection[Any],
    projection: str,
    *,
    period: str = "month",
    by: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    views: str = ANALYST,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """`run` for the HTTP API's async connection."""
    columns, query, params = plan(projection, period, by or [], start, end, views=views)
    cur = await conn.execute(query, params)
    return columns, [tuple(r) for r in await cur.fetchall()]


HOUSING_COLUMNS = ["municipality_code", "task_period", "task", "linked", "housed", "backlog"]
# Columns from here on count persons; the task before them is a public target.
HOUSING_FIRST_COUNT = 3


def _housing_sql(views: str) -> sql.Composed:
    return sql.SQL(
        "SELECT municipality_code, task_period, task, linked, housed, backlog FROM {}"
        " WHERE %(period)s::text IS NULL OR task_period = %(period)s ORDER BY task_period,"
        " municipality_code"
    ).format(sql.Identifier(views, "housing"))


def housing(
    conn: psycopg.Connection, task_period: str | None = None, views: str = ANALYST
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Per municipality and task period (e.g. 2026-I): task, linked, housed, backlog."""
    rows = conn.execute(_housing_sql(views), {"period": task_period}).fetchall()
    return HOUSING_COLUMNS, [tuple(r) for r in rows]


async def housing_async(
    conn: psycopg.AsyncConnection[Any], task_period: str | None = None, views: str = ANALYST
) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = await conn.execute(_housing_sql(views), {"period": task_period})
    return HOUSING_COLUMNS, [tuple(r) for r in await cur.fetchall()]
