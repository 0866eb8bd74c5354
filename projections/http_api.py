"""The analysts' HTTP interface (aiohttp): the projections as JSON or CSV under `/v1`, following
the NLGov REST API Design Rules (Dutch resource names, `API-Version` on every response,
`openapi.json`, `application/problem+json` errors listing every invalid parameter, security
headers, a CORS allowlist; no person keys anywhere), and the dashboard page
(projections.dashboard). Every response with figures says up to which day the log holds data.
Parameters are validated by projections.api_spec and bodies by projections.api_models, the
declarations projections.openapi documents. Every count passes disclosure control. Reads only
the stable `analyst` views, on the analyst role's connection (`analyst_dsn`), which PostgreSQL
holds to them; the auditor's person timeline, the read log and a moment's views (`bekend-op`,
built from the tables) use the owner's (`dsn`). Who may call what: projections.api_auth (bearer
tokens per role from projections.api_tokens); every person-level read is recorded first
(projections.read_log).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar

import psycopg
import pydantic
from aiohttp import web
from psycopg import sql

from domain.facts import Fact
from domain.person_timeline import person_timeline
from projections import as_known_at, read_log
from projections.api_auth import AUDIT, FIGURES, PUBLISHERS, AuthError, authorise, tokens_in_url
from projections.api_models import DATA_UNTIL_FIELD, GROUP_PATTERN, Gezondheid, TijdlijnVerzoek
from projections.api_spec import HOUSING, MOMENT_REASON, RESOURCES, ParameterError, Request
from projections.api_spec import parse_moment as parse_api_moment
from projections.api_spec import validate as validate_request
from projections.api_tokens import Holder, TokenStore
from projections.dashboard import Simulated, dashboard_page
from projections.db import ANALYST_OPTIONS, ANALYST_ROLE, as_analyst
from projections.disclosure import Disclosure
from projections.ingest_port import IngestFn, IngestProblemError
from projections.openapi import API_VERSION, DATA_UNTIL_HEADER, document
from projections.queries import (
    data_until,
    data_until_async,
    housing,
    housing_async,
    publishable,
    publishable_housing,
    run,
    run_async,
)
from projections.rate_limit import RateLimit

BODY_REASONS = {
    "persoon": "the pseudonymous person key (32 to 128 lowercase hexadecimal digits)",
    "bekendOp": MOMENT_REASON,
    "doel": "the purpose of this read (verwerkingsactiviteit), required: 3 to 200 characters "
    "of text without control characters",
    "grondslag": "the legal basis (grondslag): 3 to 200 characters of text without control "
    "characters",
}
BODY_FIELDS = "persoon, bekendOp, doel and grondslag"
# The read log's own fields -> the request body's, for a problem that names what was sent.
DECLARED_FIELDS = {"purpose": "doel", "legal_basis": "grondslag"}
READS_PARAMETERS = {
    "van": "reads from this moment on: " + MOMENT_REASON,
    "traceId": "the reads of one trace: 32 lowercase hexadecimal digits",
}
# Problem titles are Dutch, as the resource names; aiohttp's own reasons are English.
TITLES = {
    400: "Ongeldig verzoek",
    401: "Niet geautoriseerd",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Methode niet toegestaan",
    406: "Niet aanvaardbaar",
    413: "Verzoek te groot",
    415: "Mediatype niet ondersteund",
    429: "Te veel verzoeken",
    500: "Interne fout",
    503: "Dienst niet beschikbaar",
}
# The most a request body may be: a batch of CloudEvents (each event at most 64 KiB, as a line
# of `ketenlog publish`); a larger one is refused with 413 before it is read whole.
INGEST_MAX_BYTES = 4 * 1024 * 1024
INGEST_RESOURCE = "gebeurtenissen"
# A client may ask again this many seconds after a 503 (the database down or restarting).
RETRY_AFTER_S = 5
# Bounds the wait for a database that does not answer at all (a lost host, not a refusal).
CONNECT_TIMEOUT_S = 5
# Headers of an HTTP error worth keeping on its problem (Allow on a 405, Location on a
# redirect); the body's own headers are the problem's.
BODY_HEADERS = frozenset({"Content-Type", "Content-Length"})
LOG = logging.getLogger(__name__)
# aiohttp's parser answers a request line or header past 8 KiB itself, in plain text and
# without our headers; with 64 KiB every request a client plausibly sends reaches the app and
# gets a problem (schemathesis sends such URIs).
HANDLER_ARGS: dict[str, Any] = {"max_line_size": 65536, "max_field_size": 65536}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The worker groups to watch -> the health; blocking (Kafka and PostgreSQL on its own
# connections), run in a thread. ketenlog.health answers it.
CheckHealth = Callable[[list[str]], Gezondheid]
HEALTH_PATH = "/v1/gezondheid"
T = TypeVar("T")
Connection = psycopg.AsyncConnection[Any]


class Figures(NamedTuple):
    columns: list[str]
    rows: list[tuple[Any, ...]]
    until: date | None
    """The last day the log (as known at the moment asked) holds data for; None if empty."""


class ProblemError(Exception):
    """An RFC 9457 problem; `invalid` lists every parameter that is wrong and why."""

    def __init__(
        self, status: int, title: str, detail: str, invalid: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.invalid = status, title, detail, invalid or []

    def response(self, instance: str) -> web.Response:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.invalid:
            body["invalidParams"] = self.invalid
        return web.Response(
            status=self.status,
            text=json.dumps(body, ensure_ascii=False),
            content_type="application/problem+json",
        )


class Api:
    def __init__(
        self,
        dsn: str,
        disclosure: Disclosure,
        cors_origins: frozenset[str],
        *,
        tokens: TokenStore,
        open_figures: bool = False,
        simulated: Simulated | None = None,
        health: CheckHealth | None = None,
        default_groups: tuple[str, ...] = (),
        analyst_dsn: str | None = None,
        ingest: IngestFn | None = None,
        ingest_limit: RateLimit | None = None,
    ) -> None:
        """`simulated`: the period of the simulation the log holds, if it holds one (the
        dashboard says so and shows that period). `health`: answers the health resource,
        watching `default_groups` unless the request names its own. `tokens`: who holds which
        role; `open_figures`: the aggregates answer without a token too."""
        self.dsn = dsn
        self.analyst_dsn = analyst_dsn or dsn
        # The write side (POST /v1/gebeurtenissen); None where no chain key is set.
        self.ingest = ingest
        self.ingest_limit = ingest_limit or RateLimit(rate=10.0, burst=20.0)
        self.health = health
        self.default_groups = default_groups
        # One health check at a time: a burst of polls waits for it rather than each opening
        # its own Kafka consumer and database connection.
        self._health_lock = asyncio.Lock()
        self.disclosure = disclosure
        self.cors_origins = cors_origins
        self.tokens = tokens
        self.open_figures = open_figures
        self.simulated = simulated
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def query(
        self, projection: str, known_at: datetime | None = None, **kwargs: Any
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        columns, rows, _ = await self.figures(projection, known_at, **kwargs)
        return columns, rows

    async def figures(
        self, projection: str, known_at: datetime | None = None, **kwargs: Any
    ) -> Figures:
        """The publishable rows, and up to which day the log holds data."""
        if known_at is not None:
            (columns, rows), until = await asyncio.to_thread(
                self._as_known_at,
                known_at,
                lambda c, v: (
                    run(c, projection, views=v, keys=True, **kwargs),
                    data_until(c, v),
                ),
            )
        else:

            async def work(conn: Connection) -> tuple[tuple[list[str], list[Any]], date | None]:
                rows = await run_async(conn, projection, keys=True, **kwargs)
                return rows, await data_until_async(conn)

            (columns, rows), until = await self._shared(work)
        return Figures(columns, publishable(projection, columns, rows, self.disclosure), until)

    async def housing(
        self, task_period: str | None, known_at: datetime | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        columns, rows, _ = await self.housing_figures(task_period, known_at)
        return columns, rows

    async def housing_figures(
        self, task_period: str | None, known_at: datetime | None = None
    ) -> Figures:
        if known_at is not None:
            (columns, rows), until = await asyncio.to_thread(
                self._as_known_at,
                known_at,
                lambda c, v: (housing(c, task_period, views=v), data_until(c, v)),
            )
        else:

            async def work(conn: Connection) -> tuple[tuple[list[str], list[Any]], date | None]:
                return await housing_async(conn, task_period), await data_until_async(conn)

            (columns, rows), until = await self._shared(work)
        return Figures(columns, publishable_housing(rows, self.disclosure), until)

    async def answer(self, request: Request) -> Figures:
        """A validated request's figures, disclosure-controlled."""
        if request.projection == HOUSING:
            return await self.housing_figures(request.task_period, request.known_at)
        return await self.figures(
            request.projection,
            request.known_at,
            period=request.period,
            by=list(request.by),
            start=request.start,
            end=request.end,
        )

    async def data_until(self) -> date | None:
        return await self._shared(data_until_async)

    def _as_known_at(self, moment: datetime, query: Callable[[Any, str], Any]) -> Any:
        """In a worker thread, on a connection of its own: the moment's views are built in a
        transaction that is rolled back (projections.as_known_at)."""
        with (
            psycopg.connect(
                self.dsn,
                application_name="ketenlog-serve",
                connect_timeout=CONNECT_TIMEOUT_S,
                options=ANALYST_OPTIONS,
            ) as conn,
            conn.transaction(force_rollback=True),
        ):
            views = as_known_at.prepare(conn, moment)
            # Built by the owner (it reads the tables), read as the analyst where the owner
            # may be it (`ketenlog up` grants that): PostgreSQL holds the reading to the views.
            if as_analyst(conn):
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(ANALYST_ROLE)))
            return query(conn, views)

    async def person_timeline(
        self,
        person_key: str,
        known_at: datetime | None,
        *,
        holder: Holder,
        purpose: read_log.Purpose,
        span: read_log.Trace,
    ) -> dict[str, Any]:
        """The person's timeline; the read is in the read log before this returns."""

        def load() -> list[Fact]:
            with psycopg.connect(
                self.dsn, application_name="ketenlog-serve", connect_timeout=CONNECT_TIMEOUT_S
            ) as conn:
                return read_log.logged_person_facts(
                    conn,
                    person_key,
                    known_at,
                    reader=read_log.Reader(holder.role, holder.id),
                    purpose=purpose,
                    span=span,
                    operation="POST /v1/audit/tijdlijn",
                )

        facts = await asyncio.to_thread(load)
        if not facts:
            raise ProblemError(404, "Niet gevonden", "no events recorded for this person")
        return person_timeline(person_key, facts)

    async def reads(self, since: datetime | None, trace_id: str | None) -> list[dict[str, Any]]:
        def load() -> list[dict[str, Any]]:
            with psycopg.connect(
                self.dsn, application_name="ketenlog-serve", connect_timeout=CONNECT_TIMEOUT_S
            ) as conn:
                return read_log.reads(conn, since=since, trace_id=trace_id)

        return await asyncio.to_thread(load)

    async def check_health(self, groups: list[str]) -> Gezondheid:
        if self.health is None:
            raise ProblemError(404, TITLES[404], "no health check is configured on this server")
        async with self._health_lock:
            return await asyncio.to_thread(self.health, groups or list(self.default_groups))

    async def _shared(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """`work` on the one shared connection. A connection the server dropped (PostgreSQL
        restarted since the last request) shows only when used: then it is opened again and
        `work` tried once more, so the first request after a restart is answered too. A
        database that is down raises psycopg.OperationalError: the middleware's 503."""
        async with self._lock:
            conn = await self._connection()
            try:
                return await work(conn)
            except psycopg.OperationalError:
                if not conn.closed:
                    raise  # the query failed, not the connection (e.g. cancelled)
                LOG.warning("serve: the database connection was lost; reconnecting")
            return await work(await self._connection())

    async def _connection(self) -> Connection:
        """One connection of the analyst role, opened on first use and again after it broke
        (callers hold the lock)."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.analyst_dsn,
                autocommit=True,
                application_name="ketenlog-serve",
                connect_timeout=CONNECT_TIMEOUT_S,
                options=ANALYST_OPTIONS,
            )
        return self._conn

    async def close(self, _: web.Application) -> None:
        if self._conn is not None:
            await self._conn.close()


def unavailable(instance: str) -> web.Response:
    """503: the database cannot be reached now; the client may try again shortly."""
    response = ProblemError(
        503,
        TITLES[503],
        f"the database is unavailable (down or restarting); try again in {RETRY_AFTER_S} s",
    ).response(instance)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def render(
    request: web.Request,
    columns: list[str],
    rows: list[tuple[Any, ...]],
    until: date | None = None,
) -> web.Response:
    """The rows as CSV or JSON; `until` (the log's last day with data) in a header and, in
    JSON, a field beside the results."""
    response = _body(request, columns, rows, until)
    if until is not None:
        response.headers[DATA_UNTIL_HEADER] = until.isoformat()
    return response


def _body(
    request: web.Request, columns: list[str], rows: list[tuple[Any, ...]], until: date | None
) -> web.Response:
    wants_csv = request.query.get("formaat") == "csv" or (
        "text/csv" in request.headers.get("Accept", "") and "formaat" not in request.query
    )
    if wants_csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        writer.writerows([["" if v is None else _plain(v) for v in r] for r in rows])
        return web.Response(text=buf.getvalue(), content_type="text/csv")
    body = {
        DATA_UNTIL_FIELD: _plain(until),
        "resultaten": [dict(zip(columns, map(_plain, r), strict=True)) for r in rows],
    }
    return web.json_response(body)


def make_app(api: Api) -> web.Application:
    @web.middleware
    async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS":
            response: web.StreamResponse = web.Response(status=204)
        else:
            try:
                if in_url := tokens_in_url(request.query):
                    raise ProblemError(
                        400,
                        TITLES[400],
                        "a token is never accepted in the URL (logs, proxies and histories "
                        "keep URLs); send it as Authorization: Bearer",
                        [{"name": name, "reason": "a credential in the URL"} for name in in_url],
                    )
                response = await handler(request)
            except AuthError as refused:
                response = ProblemError(
                    refused.status, TITLES[refused.status], refused.detail
                ).response(request.path)
                if refused.challenge:
                    response.headers["WWW-Authenticate"] = refused.challenge
            except ProblemError as problem:
                response = problem.response(request.path)
            except web.HTTPException as exc:
                response = _from_http(exc, request.path)
            except psycopg.OperationalError as exc:
                # Down or restarting: a fault to ride out, not a defect to trace.
                LOG.warning("serving %s: database unavailable: %s", request.path_qs, exc)
                response = unavailable(request.path)
            except Exception:
                LOG.exception("serving %s", request.path_qs)
                response = ProblemError(
                    500, TITLES[500], "an unexpected error; it is logged"
                ).response(request.path)
        response.headers["API-Version"] = API_VERSION
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault("Content-Security-Policy", API_CSP)
        if origin and origin in api.cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
            # A browser client sends its bearer token, which needs the preflight's consent.
            response.headers["Access-Control-Allow-Headers"] = "Authorization"
            response.headers["Access-Control-Expose-Headers"] = f"API-Version, {DATA_UNTIL_HEADER}"
        return response

    def allowed(request: web.Request, admitted: frozenset[str]) -> Holder:
        return authorise(api.tokens, request.headers.get("Authorization"), admitted)

    async def resource(request: web.Request) -> web.Response:
        name = request.match_info["resource"]
        if name == INGEST_RESOURCE:
            # Its POST route matched the path but not the method; this catch-all took the GET.
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        projection = RESOURCES.get(name)
        if projection is None:
            raise ProblemError(404, TITLES[404], f"no resource {name!r}; see /v1/openapi.json")
        if not api.open_figures:
            allowed(request, FIGURES)
        return render(request, *await api.answer(_validated(projection, request)))

    async def audit_timeline(request: web.Request) -> web.Response:
        # The person key travels in the body, never in the URI (logs, proxies, history).
        holder = allowed(request, AUDIT)
        try:
            body = TijdlijnVerzoek.model_validate_json(await request.read())
            purpose = read_log.Purpose(body.doel, body.grondslag)
        except pydantic.ValidationError as exc:
            raise ProblemError(
                400, "Ongeldige invoer", "the request body is invalid", _body_problems(exc)
            ) from exc
        except read_log.PurposeError as exc:
            field = DECLARED_FIELDS[exc.field]
            raise ProblemError(
                400,
                "Ongeldige invoer",
                "the request body is invalid",
                [{"name": field, "reason": BODY_REASONS[field]}],
            ) from exc
        known_at = None if body.bekendOp is None else as_known_at.parse_moment(body.bekendOp)
        span = read_log.trace(request.headers.get("traceparent"))
        try:
            answer = await api.person_timeline(
                body.persoon, known_at, holder=holder, purpose=purpose, span=span
            )
        except read_log.ReadLogError:
            LOG.exception("serving %s: trace %s", request.path, span.trace_id)
            raise ProblemError(
                500,
                TITLES[500],
                "the read could not be recorded in the read log, so it is "
                "not answered; it is logged",
            ) from None
        response = web.json_response(answer)
        response.headers["traceparent"] = span.traceparent
        return response

    async def audit_reads(request: web.Request) -> web.Response:
        allowed(request, AUDIT)
        since, trace_id = _reads_parameters(request)
        return web.json_response({"resultaten": await api.reads(since, trace_id)})

    async def gebeurtenissen(request: web.Request) -> web.Response:
        # Who first, then how much: a caller without the right is told so before its body is read.
        holder = allowed(request, PUBLISHERS)
        wait = api.ingest_limit.take(holder.subject, asyncio.get_running_loop().time())
        if wait:
            response = ProblemError(
                429, TITLES[429], f"{holder.subject} sends more requests than allowed; wait"
            ).response(request.path)
            response.headers["Retry-After"] = str(wait)
            return response
        if api.ingest is None:
            raise ProblemError(
                503, TITLES[503], "this server publishes nothing: no chain key is set"
            )
        body = await request.read()  # over client_max_size: aiohttp's 413, as a problem
        partial = _partial(request)
        try:
            answer = await api.ingest(holder.subject, request.content_type, body, partial)
        except IngestProblemError as exc:
            response = ProblemError(
                exc.status, TITLES.get(exc.status, TITLES[400]), exc.detail, exc.invalid
            ).response(request.path)
            if exc.retry_after is not None:
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        return web.json_response(answer, status=201)

    async def gezondheid(request: web.Request) -> web.Response:
        answer = await api.check_health(_health_groups(request))
        return web.json_response(
            answer.model_dump(mode="json"), status=200 if answer.status == "pass" else 503
        )

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(document())

    async def dashboard(_: web.Request) -> web.Response:
        page = await dashboard_page(api, api.simulated)
        response = web.Response(text=page, content_type="text/html")
        response.headers["Content-Security-Policy"] = PAGE_CSP
        return response

    async def home(_: web.Request) -> web.Response:
        raise web.HTTPFound("/dashboard")

    app = web.Application(middlewares=[headers], client_max_size=INGEST_MAX_BYTES)
    app.router.add_get("/v1/openapi.json", openapi)
    app.router.add_post("/v1/audit/tijdlijn", audit_timeline)
    app.router.add_get("/v1/audit/inzages", audit_reads)
    app.router.add_get(HEALTH_PATH, gezondheid)
    app.router.add_post(f"/v1/{INGEST_RESOURCE}", gebeurtenissen)
    app.router.add_get("/v1/{resource}", resource)
    app.router.add_get("/dashboard", dashboard)
    app.router.add_get("/", home)
    app.on_cleanup.append(api.close)
    return app


def _validated(projection: str, request: web.Request) -> Request:
    given: dict[str, str] = {}
    repeated: list[dict[str, str]] = []
    for name, value in request.query.items():
        if name in given:
            repeated.append({"name": name, "reason": "given more than once"})
        given[name] = value
    try:
        validated = validate_request(projection, given)
    except ParameterError as exc:
        invalid = [i.problem() for i in exc.invalid] + repeated
        raise ProblemError(400, TITLES[400], "one or more parameters are invalid", invalid) from exc
    if repeated:
        raise ProblemError(400, TITLES[400], "one or more parameters are invalid", repeated)
    return validated


def _partial(request: web.Request) -> bool:
    given = request.query.getall("gedeeltelijk", [])
    if given not in ([], ["true"], ["false"]):
        raise ProblemError(
            400,
            TITLES[400],
            "a parameter is invalid",
            [{"name": "gedeeltelijk", "reason": "true or false, once"}],
        )
    return given == ["true"]


def _health_groups(request: web.Request) -> list[str]:
    """The `groep` values (repeatable) of a health request; every other parameter is wrong."""
    invalid = [
        {"name": name, "reason": "not a parameter of gezondheid, which takes groep"}
        for name in request.query
        if name != "groep"
    ]
    groups = request.query.getall("groep", [])
    invalid += [
        {"name": "groep", "reason": f"{group!r}: a worker group's name, 1 to 128 of A-Za-z0-9._-"}
        for group in groups
        if not re.fullmatch(GROUP_PATTERN, group)
    ]
    if invalid:
        raise ProblemError(400, TITLES[400], "one or more parameters are invalid", invalid)
    return list(dict.fromkeys(groups))


def _reads_parameters(request: web.Request) -> tuple[datetime | None, str | None]:
    """`van` and `traceId` of a read-log request, each at most once; nothing else."""
    invalid = [
        {"name": name, "reason": "not a parameter of inzages, which takes van and traceId"}
        for name in dict.fromkeys(request.query)
        if name not in READS_PARAMETERS
    ]
    invalid += [
        {"name": name, "reason": "given more than once"}
        for name in READS_PARAMETERS
        if len(request.query.getall(name, [])) > 1
    ]
    since = trace_id = None
    if (van := request.query.get("van")) is not None:
        try:
            since = parse_api_moment(van)
        except ValueError:
            invalid.append({"name": "van", "reason": READS_PARAMETERS["van"]})
    if (given := request.query.get("traceId")) is not None:
        if re.fullmatch(r"[0-9a-f]{32}", given):
            trace_id = given
        else:
            invalid.append({"name": "traceId", "reason": READS_PARAMETERS["traceId"]})
    if invalid:
        raise ProblemError(400, TITLES[400], "one or more parameters are invalid", invalid)
    return since, trace_id


def _body_problems(exc: pydantic.ValidationError) -> list[dict[str, str]]:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        reason = BODY_REASONS.get(name, error["msg"])
        if error["type"] == "extra_forbidden":
            reason = f"not a field of this request; it takes {BODY_FIELDS}"
        problems.append({"name": name, "reason": reason})
    return problems


def _from_http(exc: web.HTTPException, instance: str) -> web.StreamResponse:
    """aiohttp's own answers: a redirect as it is; an error as a Dutch problem that keeps the
    exception's headers (Allow on a 405)."""
    kept = {name: value for name, value in exc.headers.items() if name not in BODY_HEADERS}
    if exc.status < 400:
        return web.Response(status=exc.status, headers=kept)
    title = TITLES.get(exc.status, TITLES[500] if exc.status >= 500 else TITLES[400])
    response = ProblemError(exc.status, title, exc.reason).response(instance)
    response.headers.update(kept)
    return response
