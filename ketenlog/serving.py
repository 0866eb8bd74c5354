"""The analysts' HTTP API and dashboard assembled on the settings' database (`ketenlog serve`,
the demo's last step): projections.http_api with disclosure control and the derive step, and
its health resource answered by ketenlog.health (watching the processor's default group), and
its bearer tokens from the token store KETENLOG_API_TOKENS (`ketenlog tokens`). The aggregates
are read through the analyst role's DSN, the rest through the owner's."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from infra.services import redact
from ketenlog import health
from ketenlog.disclosure_key import disclosure
from ketenlog.processing import DEFAULT_GROUP
from ketenlog.settings import Settings
from projections.api_tokens import TokenError, TokenStore
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
            f"cannot prepare PostgreSQL at {redact(settings.dsn)}: {exc}; is it running "
            "(`ketenlog up`)?"
        ) from exc
    if not settings.analyst_role_enforced:
        say(
            "serve: WARNING: KETENLOG_ANALYST_DATABASE_URL is not set: the aggregates are read "
            "through KETENLOG_DATABASE_URL's role, which PostgreSQL does not hold to the analyst "
            "views"
        )
    api = Api(
        settings.dsn,
        disclosure(settings),
        settings.cors_origins,
        tokens=TokenStore(settings.api_tokens),
        open_figures=settings.api_open_figures,
        simulated=simulated,
        health=lambda groups: health.answer(health.check(settings, groups)),
        default_groups=(DEFAULT_GROUP,),
        analyst_dsn=settings.dsn_for("analyst"),
    )
    _say_access(settings, say)
    say(f"serve: dashboard at http://{host}:{port}/dashboard")
    say(f"serve: API at http://{host}:{port}/v1 (openapi.json); Ctrl-C stops")
    web.run_app(make_app(api), host=host, port=port, print=None, **HANDLER_ARGS)


def _say_access(settings: Settings, say: Callable[[str], None]) -> None:
    if settings.legacy_auditor_token:
        say(
            "serve: KETENLOG_AUDITOR_TOKEN is no longer read (a secret in the environment); "
            "issue the auditor's token with `ketenlog tokens auditor` and unset it"
        )
    try:
        holders = TokenStore(settings.api_tokens).holders()
    except TokenError as exc:
        raise ServingError(str(exc)) from exc
    roles = ", ".join(sorted({h.role for h in holders})) or "none yet: `ketenlog tokens ROLE`"
    figures = "open (KETENLOG_API_OPEN_FIGURES=1)" if settings.api_open_figures else "need a token"
    say(f"serve: tokens from {settings.api_tokens} ({roles}); the aggregates {figures}")
