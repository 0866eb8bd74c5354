"""`ketenlog serve`: the analysts' HTTP API (/v1, JSON and CSV) and the dashboard."""

from __future__ import annotations

import argparse
from datetime import date

from ketenlog.commands.base import CommandError, Registry, say
from ketenlog.serving import ServingError, serve
from ketenlog.settings import Settings
from projections.dashboard import Simulated


def register(registry: Registry) -> None:
    parser = registry.add(
        "serve",
        run,
        "Serve the projections over HTTP (NLGov REST API Design Rules; /v1/openapi.json) and "
        "the dashboard (/dashboard). Disclosure control as for `ketenlog query`; CORS origins "
        "from KETENLOG_CORS_ORIGINS. Agencies publish over HTTP with POST /v1/gebeurtenissen "
        "(CloudEvents, the organisation's own token; needs the chain key; docs/http-ingest.md).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (8080)")
    parser.add_argument(
        "--simulated",
        type=simulated_period,
        metavar="FROM..TO",
        help="the log holds a simulation of this period (e.g. 2025-09-01..2026-08-31): the "
        "dashboard says the data is simulated and shows that period, not the warm-up before it",
    )


def simulated_period(text: str) -> Simulated:
    try:
        start, end = (date.fromisoformat(part) for part in text.split("..", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a period FROM..TO of ISO dates (2025-09-01..2026-08-31)"
        ) from None
    if end < start:
        raise argparse.ArgumentTypeError(f"{text!r}: TO is before FROM")
    return Simulated(start, end)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        serve(settings, args.host, args.port, say, args.simulated)
    except ServingError as exc:
        raise CommandError(str(exc)) from exc
    return 0
