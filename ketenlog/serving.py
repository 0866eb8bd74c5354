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
from ketenlog.ingest import Ingest
from ketenlog.settings import DEFAULT_GROUP, Settings
from producers.pseudonym import ChainKeyError
from projections.api_tokens import TokenError, TokenStore
from projections.dashboard import Simulated
from projections.db import connect, migrate
from projections.http_api import HANDLER_ARGS, Api, make_app
from projections.rate_limit import RateLimit


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
        ingest=_ingest(settings, say),
        ingest_limit=RateLimit(settings.ingest_per_minute / 60, settings.ingest_burst),
    )
    _say_access(settings, say)
    say(f"serve: dashboard at http://{host}:{port}/dashboard")
    say(f"serve: API at http://{host}:{port}/v1 (openapi.json); Ctrl-C stops")
    web.run_app(make_app(api), host=host, port=port, print=None, **HANDLER_ARGS)


def _ingest(settings: Settings, say: Callable[[str], None]) -> Ingest | None:
    if not (settings.chain_key or settings.chain_key_file):
        say("serve: no chain key set: POST /v1/gebeurtenissen answers 503 (publishes nothing)")
        return None
    say(
        "serve: agencies publish at POST /v1/gebeurtenissen with their own token "
        f"(at most {settings.ingest_per_minute} requests a minute each, bursts of "
        f"{settings.ingest_burst})"
    )
    try:
        return Ingest(settings, say)
    except ChainKeyError as exc:
        raise ServingError(f"cannot publish for agencies: {exc}") from exc


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
