"""`ketenlog query`: an analyst's figures from the projections, as a table, CSV or JSON, with
disclosure control applied (settings KETENLOG_DISCLOSURE_MIN / _ROUND)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date
from typing import Any

from ketenlog.commands.base import CommandError, Registry, moment
from ketenlog.settings import Settings
from projections import as_known_at
from projections.db import ANALYST, connect, migrate
from projections.disclosure import Disclosure
from projections.queries import (
    CATALOGUE,
    PERIODS,
    QueryError,
    housing,
    publishable,
    publishable_housing,
    run,
)

SUPPRESSED = "<5"


def register(registry: Registry) -> None:
    names = "; ".join(f"{p.name}: {p.description}" for p in CATALOGUE.values())
    names += "; housing: per municipality and task period, task, linked, housed, backlog"
    parser = registry.add(
        "query",
        _run,
        f"The chain's figures from the projections. Projections — {names}. Counts below the "
        "disclosure minimum are suppressed, the rest rounded (settings KETENLOG_DISCLOSURE_MIN, "
        "KETENLOG_DISCLOSURE_ROUND; default 5 and 5).",
    )
    parser.add_argument("projection", choices=[*sorted(CATALOGUE), "housing"])
    parser.add_argument(
        "--task-period", help="housing only: one task period (e.g. 2026-I); default all"
    )
    parser.add_argument("--from", dest="start", type=date.fromisoformat, help="first day")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, help="last day")
    parser.add_argument(
        "--by",
        default="",
        help=f"period ({', '.join(PERIODS)}; default month, or year where a projection is only "
        "per year) and dimensions, comma-separated: e.g. month,kind",
    )
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument(
        "--as-known-at",
        type=moment,
        metavar="T",
        help="the figures as the chain knew them at system time T (ISO date = end of that day, "
        "or date-time): events recorded later, and corrections recorded later, do not count",
    )


def _run(args: argparse.Namespace, settings: Settings) -> int:
    parts = [p.strip() for p in args.by.split(",") if p.strip()]
    default = CATALOGUE[args.projection].default_period if args.projection in CATALOGUE else ""
    period = next((p for p in parts if p in PERIODS), default or "month")
    by = [p for p in parts if p not in PERIODS]
    disclose = Disclosure(settings.disclosure_min, settings.disclosure_round)
    try:
        with connect(settings.dsn) as conn:
            migrate(conn)
            # Rolled back: an as-known-at query builds its moment's views in scratch tables.
            with conn.transaction(force_rollback=True):
                views = ANALYST
                if args.as_known_at is not None:
                    views = as_known_at.prepare(conn, args.as_known_at)
                if args.projection == "housing":
                    columns, rows = housing(conn, args.task_period, views=views)
                    shown = publishable_housing(rows, disclose)
                else:
                    columns, rows = run(
                        conn,
                        args.projection,
                        period=period,
                        by=by,
                        start=args.start,
                        end=args.end,
                        views=views,
                    )
                    shown = publishable(args.projection, columns, rows, disclose)
    except QueryError as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    write(sys.stdout, args.format, columns, shown)
    return 0


def _text(value: Any) -> str:
    if value is None:
        return SUPPRESSED
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write(out: Any, fmt: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    if fmt == "json":
        records = [
            {
                c: (v.isoformat() if isinstance(v, date) else v)
                for c, v in zip(columns, r, strict=True)
            }
            for r in rows
        ]
        json.dump(records, out, indent=1)
        out.write("\n")
        return
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        # Suppressed cells are empty in CSV (a number column stays numeric).
        writer.writerows([["" if v is None else _text(v) for v in r] for r in rows])
        return
    cells = [columns, *[[_text(v) for v in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        out.write(
            "  ".join(
                v.rjust(w) if i == len(row) - 1 else v.ljust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        out.write("\n")
