"""The analysts' HTTP API and dashboard assembled on the settings' database (`ketenlog serve`,
the demo's last step): projections.http_api with disclosure control and the derive step, and
its health resource answered by ketenlog.health (watching the processor's default group)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ketenlog import health
from ketenlog.disclosure_key import disclosure
from ketenlog.processing import DEFAULT_GROUP
from ketenlog.settings import Settings
from projections.dashboard import Simulated
from projections.db import connect, migrate
from projections.http_api import HANDLER_ARGS, Api, make_app


class ServingError(Exception):
    """The database could not be prepared; the message says what to do."""


def serve(
    settings: Settings,
    host: str,
    port: int,
    say: Callable[[str], None],
    simulated: Simulated | None = None,
) -> None:
    """Migrate the database and serve until Ctrl-C. `simulated`: the log holds a simulation of
    that period, and the dashboard says so."""
    try:
        with connect(settings.dsn) as conn:
            migrate(conn)
    except Exception as exc:
        raise ServingError(
            f"cannot prepare PostgreSQL at {settings.dsn}: {exc}; is it running (`ketenlog up`)?"
        ) from exc
    api = Api(
        settings.dsn,
        disclosure(settings),
        settings.cors_origins,
        auditor_token=settings.auditor_token,
        simulated=simulated,
        health=lambda groups: health.answer(health.check(settings, groups)),
        default_groups=(DEFAULT_GROUP,),
    )
    say(f"serve: dashboard at http://{host}:{port}/dashboard")
    say(f"serve: API at http://{host}:{port}/v1 (openapi.json); Ctrl-C stops")
    web.run_app(make_app(api), host=host, port=port, print=None, **HANDLER_ARGS)
