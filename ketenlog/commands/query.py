"""`ketenlog query`: an analyst's figures from the projections, as a table, CSV or JSON, with
disclosure control applied (ketenlog.disclosure_key: settings KETENLOG_DISCLOSURE_*)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import textwrap
from datetime import date
from typing import Any

from ketenlog.commands.base import CommandError, Registry
from ketenlog.disclosure_key import disclosure
from ketenlog.settings import DbRole, Settings
from projections import figures
from projections.api_spec import CLI, HOUSING, ParameterError, Request, validate
from projections.db import ANALYST_OPTIONS, connect, migrate
from projections.queries import CATALOGUE, PERIODS

# What a table shows for a suppressed or withheld figure: CBS's sign for "secret". Not "<5":
# with the noise a suppressed count may be up to 6, and a withheld percentile is no count.
SUPPRESSED = "x"


def register(registry: Registry) -> None:
    parser = registry.add(
        "query",
        _run,
        "The chain's figures from the projections, with the API's disclosure control (the "
        "cell key method, docs/security.md): each count gets a noise of at most "
        "KETENLOG_DISCLOSURE_NOISE (2) fixed by its records, then counts below "
        "KETENLOG_DISCLOSURE_MIN (5), zero included, are suppressed and the rest rounded to "
        "KETENLOG_DISCLOSURE_ROUND (5); percentiles need KETENLOG_DISCLOSURE_STATISTIC_MIN (10) "
        "items. Parameters are checked as the API checks them; an invalid one exits 2 naming it.",
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = projections_help()
    parser.add_argument("projection", choices=[*sorted(CATALOGUE), HOUSING], metavar="PROJECTION")
    parser.add_argument(
        "--task-period", help="housing only: one task period (e.g. 2026-I); default all"
    )
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day")
    parser.add_argument(
        "--by",
        default="",
        help="the period and dimensions, comma-separated (e.g. month,kind); each projection's "
        "below",
    )
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument(
        "--as-known-at",
        metavar="T",
        help="the figures as the chain knew them at system time T (ISO date = end of that day, "
        "or date-time): events and corrections published later (by the broker's clock, not "
        "their recorded_at) do not count",
    )


def projections_help() -> str:
    """Each projection with what it counts, its dimensions and its periods, one block each."""
    lines = ["projections (PROJECTION):"]
    wrap = textwrap.TextWrapper(width=96, initial_indent="    ", subsequent_indent="    ")
    for p in CATALOGUE.values():
        periods = ", ".join(f"{x} (default)" if x == p.default_period else x for x in p.periods)
        lines.append(f"  {p.name}")
        lines += wrap.wrap(p.description)
        lines += wrap.wrap(f"dimensions: {', '.join(p.dimensions) or 'none'}")
        lines += wrap.wrap(f"periods: {periods}")
    lines.append(f"  {HOUSING}")
    lines += wrap.wrap("per municipality and task period: task, linked, housed, backlog")
    lines += wrap.wrap("--task-period 2026-I or 2026-II (default all); no --by, --from, --to")
    return "\n".join(lines)


def request(args: argparse.Namespace) -> Request:
    """The arguments as the API's parameters, validated by the API's own rules
    (projections.api_spec); CommandError (exit 2) naming each invalid option and value."""
    given: dict[str, str] = {}
    for option, name in (
        ("start", "van"),
        ("end", "tot"),
        ("task_period", "taakperiode"),
        ("as_known_at", "bekend-op"),
    ):
        if getattr(args, option) is not None:
            given[name] = getattr(args, option)
    parts = [p.strip() for p in args.by.split(",") if p.strip()]
    periods = [p for p in parts if p in PERIODS]
    dimensions = [p for p in parts if p not in PERIODS]
    if periods:
        given["periode"] = ",".join(periods)
    if dimensions:
        given["indeling"] = ",".join(dimensions)
    try:
        return validate(args.projection, given, CLI)
    except ParameterError as exc:
        raise CommandError(
            "; ".join(f"{i.name} {i.value!r}: {i.reason}" for i in exc.invalid), exit_code=2
        ) from exc


def _run(args: argparse.Namespace, settings: Settings) -> int:
    asked = request(args)
    rule = disclosure(settings)
    with connect(settings.dsn) as conn:
        migrate(conn)
    # As `serve` does: the figures through the analyst role, which PostgreSQL holds to the
    # analyst views; a moment's views (bekend-op) are built from the tables, so the owner's.
    role: DbRole = "owner" if asked.known_at is not None else "analyst"
    with connect(settings.dsn_for(role), options=ANALYST_OPTIONS) as conn:
        columns, rows = figures.answer(conn, asked, rule)
    write(sys.stdout, args.format, columns, rows)
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
