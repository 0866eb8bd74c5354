"""One validated request (projections.api_spec.Request) answered from the analysts' views on a
synchronous connection, with disclosure control: what `ketenlog query` prints. An as-known-at
request builds its moment's views inside a transaction that is rolled back.
"""

from __future__ import annotations

from typing import Any

import psycopg

from projections import as_known_at
from projections.api_spec import HOUSING, Request
from projections.db import ANALYST
from projections.disclosure import Disclosure
from projections.queries import housing, publishable, publishable_housing, run


def answer(
    conn: psycopg.Connection[Any],
    request: Request,
    disclosure: Disclosure,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and the publishable rows."""
    with conn.transaction(force_rollback=True):
        views = ANALYST
        if request.known_at is not None:
            views = as_known_at.prepare(conn, request.known_at)
        if request.projection == HOUSING:
            columns, rows = housing(conn, request.task_period, views=views)
            return columns, publishable_housing(rows, disclosure)
        columns, rows = run(
            conn,
            request.projection,
            period=request.period,
            by=list(request.by),
            start=request.start,
            end=request.end,
            views=views,
            keys=True,
        )
        return columns, publishable(request.projection, columns, rows, disclosure)
