"""The analysts' HTTP interface (aiohttp): the projections as JSON or CSV under `/v1`, following
the NLGov REST API Design Rules (Dutch resource names, `API-Version` on every response,
`openapi.json`, `application/problem+json` errors listing every invalid parameter, security
headers, a CORS allowlist; no person keys anywhere), and the dashboard page
(projections.dashboard). Every response with figures says up to which day the log holds data.
Every count passes disclosure control. Reads only the stable `analyst` views.
"""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

import psycopg
from aiohttp import web

from domain.facts import Fact
from domain.person_timeline import person_timeline
from projections import as_known_at
from projections.audit import person_facts
from projections.dashboard import Simulated, dashboard_page
from projections.disclosure import Disclosure
from projections.queries import (
    CATALOGUE,
    data_until,
    data_until_async,
    housing,
    housing_async,
    publishable,
    publishable_housing,
    run,
    run_async,
)

API_VERSION = "1.0.0"
# The last day the log holds data for (analyst.data_until): no figure is about a later day.
DATA_UNTIL_HEADER = "Gegevens-Tot-En-Met"
DATA_UNTIL_FIELD = "gegevensTotEnMet"
# Dutch names for the domain's Dutch terms (API design rule); the projection they serve.
RESOURCES = {
    "instroom": "inflow",
    "instroom-eurostat": "inflow_eurostat",
    "beslissingen": "decisions",
    "doorlooptijden": "lead_times",
    "vertrek": "departures",
    "bezetting": "occupancy",
    "bewoners": "residents",
    "capaciteit": "capacity",
    "verhuisbewegingen": "relocations",
    "goo-bezetting": "goo",
    "achterstand": "backlog",
    "levensloop": "lifecycle",
    "afwijkingen": "anomalies",
    "achterstand-buiten-termijn": "backlog_late",
}
PERIODS = {"dag": "day", "week": "week", "maand": "month", "jaar": "year"}
PARAMS = ("van", "tot", "periode", "indeling", "formaat", "bekend-op")
KNOWN_AT_REASON = "an ISO date (end of that day) or date-time: the figures as known then"
TASK_PERIOD = re.compile(r"\d{4}-(I|II)")
PERSON_KEY = re.compile(r"[0-9a-f]{32,128}")

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
        auditor_token: str | None = None,
        simulated: Simulated | None = None,
    ) -> None:
        """`simulated`: the period of the simulation the log holds, if it holds one (the
        dashboard says so and shows that period)."""
        self.dsn = dsn
        self.disclosure = disclosure
        self.cors_origins = cors_origins
        self.auditor_token = auditor_token
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
                lambda c, v: (run(c, projection, views=v, **kwargs), data_until(c, v)),
            )
        else:
            async with self._lock:
                conn = await self._connection()
                columns, rows = await run_async(conn, projection, **kwargs)
                until = await data_until_async(conn)
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
            async with self._lock:
                conn = await self._connection()
                columns, rows = await housing_async(conn, task_period)
                until = await data_until_async(conn)
        return Figures(columns, publishable_housing(rows, self.disclosure), until)

    async def data_until(self) -> date | None:
        async with self._lock:
            return await data_until_async(await self._connection())

    def _as_known_at(self, moment: datetime, query: Callable[[Any, str], Any]) -> Any:
        """In a worker thread, on a connection of its own: the moment's views are built in a
        transaction that is rolled back (projections.as_known_at)."""
        with (
            psycopg.connect(self.dsn, application_name="ketenlog-serve") as conn,
            conn.transaction(force_rollback=True),
        ):
            return query(conn, as_known_at.prepare(conn, moment))

    async def person_timeline(self, person_key: str, known_at: datetime | None) -> dict[str, Any]:
        def load() -> list[Fact]:
            with psycopg.connect(self.dsn, application_name="ketenlog-serve") as conn:
                return person_facts(conn, person_key, known_at)

        facts = await asyncio.to_thread(load)
        if not facts:
            raise ProblemError(404, "Niet gevonden", "no events recorded for this person")
        return person_timeline(person_key, facts)

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        """One connection, opened on first use and again after it broke (callers hold the lock)."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=True, application_name="ketenlog-serve"
            )
        return self._conn

    async def close(self, _: web.Application) -> None:
        if self._conn is not None:
            await self._conn.close()


def parse(request: web.Request, projection: str) -> dict[str, Any]:
    """The query parameters, or a ProblemError naming every one that is wrong."""
    q = request.query
    invalid: list[dict[str, str]] = [
        {"name": k, "reason": f"unknown parameter; known: {', '.join(PARAMS)}"}
        for k in q
        if k not in PARAMS
    ]
    out: dict[str, Any] = {}
    for name, key in (("van", "start"), ("tot", "end")):
        if name in q:
            try:
                out[key] = date.fromisoformat(q[name])
            except ValueError:
                invalid.append({"name": name, "reason": "not a date (YYYY-MM-DD)"})
    if out.get("start") and out.get("end") and out["start"] > out["end"]:
        invalid.append({"name": "tot", "reason": "before van"})
    default = next(nl for nl, en in PERIODS.items() if en == CATALOGUE[projection].default_period)
    period = q.get("periode", default)
    if period not in PERIODS:
        invalid.append({"name": "periode", "reason": f"one of {', '.join(PERIODS)}"})
    out["period"] = PERIODS.get(period, "month")
    allowed = [nl for nl, en in PERIODS.items() if en in CATALOGUE[projection].periods]
    if period in PERIODS and out["period"] not in CATALOGUE[projection].periods:
        invalid.append({"name": "periode", "reason": f"one of {', '.join(allowed)} here"})
    dims = [d for d in q.get("indeling", "").split(",") if d]
    known = CATALOGUE[projection].dimensions
    for d in dims:
        if d not in known:
            invalid.append(
                {"name": "indeling", "reason": f"{d!r} is not one of: {', '.join(known) or '-'}"}
            )
    out["by"] = dims
    known_at = _known_at(q, invalid)
    if known_at is not None:
        out["known_at"] = known_at
    if q.get("formaat", "json") not in ("json", "csv"):
        invalid.append({"name": "formaat", "reason": "json or csv"})
    if invalid:
        raise ProblemError(
            400, "Ongeldige parameters", "one or more parameters are invalid", invalid
        )
    return out


def _known_at(q: Mapping[str, str], invalid: list[dict[str, str]]) -> datetime | None:
    if "bekend-op" not in q:
        return None
    try:
        return as_known_at.parse_moment(q["bekend-op"])
    except ValueError:
        invalid.append({"name": "bekend-op", "reason": KNOWN_AT_REASON})
        return None


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
                response = await handler(request)
            except ProblemError as problem:
                response = problem.response(request.path)
            except web.HTTPException as exc:
                response = ProblemError(exc.status, exc.reason, exc.text or exc.reason).response(
                    request.path
                )
        response.headers["API-Version"] = API_VERSION
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault("Content-Security-Policy", API_CSP)
        if origin and origin in api.cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
            response.headers["Access-Control-Expose-Headers"] = f"API-Version, {DATA_UNTIL_HEADER}"
        return response

    async def resource(request: web.Request) -> web.Response:
        name = request.match_info["resource"]
        projection = RESOURCES.get(name)
        if projection is None:
            raise ProblemError(404, "Niet gevonden", f"no resource {name!r}; see /v1/openapi.json")
        return render(request, *await api.figures(projection, **parse(request, projection)))

    async def housing(request: web.Request) -> web.Response:
        invalid = [
            {"name": k, "reason": "unknown parameter; known: taakperiode, formaat, bekend-op"}
            for k in request.query
            if k not in ("taakperiode", "formaat", "bekend-op")
        ]
        known_at = _known_at(request.query, invalid)
        period = request.query.get("taakperiode")
        if period is not None and not TASK_PERIOD.fullmatch(period):
            invalid.append({"name": "taakperiode", "reason": "a half year like 2026-I or 2026-II"})
        if request.query.get("formaat", "json") not in ("json", "csv"):
            invalid.append({"name": "formaat", "reason": "json or csv"})
        if invalid:
            raise ProblemError(
                400, "Ongeldige parameters", "one or more parameters are invalid", invalid
            )
        return render(request, *await api.housing_figures(period, known_at))

    async def audit_timeline(request: web.Request) -> web.Response:
        # The person key travels in the body, never in the URI (logs, proxies, history).
        expected = api.auditor_token
        given = request.headers.get("Authorization", "")
        if expected is None:
            raise ProblemError(403, "Geen toegang", "audit access is not configured here")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise ProblemError(401, "Niet geautoriseerd", "an auditor's bearer token is required")
        try:
            body = await request.json()
        except ValueError:
            body = None
        invalid = []
        if not isinstance(body, dict) or not PERSON_KEY.fullmatch(str(body.get("persoon", ""))):
            invalid.append({"name": "persoon", "reason": "the pseudonymous person key (hex)"})
            body = {}
        known_at = None
        if "bekendOp" in body:
            try:
                known_at = as_known_at.parse_moment(str(body["bekendOp"]))
            except ValueError:
                invalid.append({"name": "bekendOp", "reason": KNOWN_AT_REASON})
        if invalid:
            raise ProblemError(400, "Ongeldige invoer", "the request body is invalid", invalid)
        return web.json_response(await api.person_timeline(body["persoon"], known_at))

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(openapi_document())

    async def dashboard(_: web.Request) -> web.Response:
        page = await dashboard_page(api, api.simulated)
        response = web.Response(text=page, content_type="text/html")
        response.headers["Content-Security-Policy"] = PAGE_CSP
        return response

    async def home(_: web.Request) -> web.Response:
        raise web.HTTPFound("/dashboard")

    app = web.Application(middlewares=[headers])
    app.router.add_get("/v1/openapi.json", openapi)
    app.router.add_get("/v1/huisvesting", housing)
    app.router.add_post("/v1/audit/tijdlijn", audit_timeline)
    app.router.add_get("/v1/{resource}", resource)
    app.router.add_get("/dashboard", dashboard)
    app.router.add_get("/", home)
    app.on_cleanup.append(api.close)
    return app


def _parameters(projection: str) -> list[dict[str, Any]]:
    p = CATALOGUE[projection]
    periods = [nl for nl, en in PERIODS.items() if en in p.periods]
    default = next(nl for nl, en in PERIODS.items() if en == p.default_period)
    return [
        {"name": "van", "in": "query", "schema": {"type": "string", "format": "date"}},
        {"name": "tot", "in": "query", "schema": {"type": "string", "format": "date"}},
        {"name": "periode", "in": "query", "schema": {"enum": periods, "default": default}},
        {
            "name": "indeling",
            "in": "query",
            "schema": {"type": "string"},
            "description": "comma-separated dimensions of the resource",
        },
        {"name": "formaat", "in": "query", "schema": {"enum": ["json", "csv"]}},
    ]


def openapi_document() -> dict[str, Any]:
    problem = {
        "description": "invalid parameters",
        "content": {"application/problem+json": {"schema": {"type": "object"}}},
    }
    paths = {
        f"/{name}": {
            "get": {
                "summary": CATALOGUE[projection].description,
                "description": "dimensions: "
                + (", ".join(CATALOGUE[projection].dimensions) or "none")
                + "; periods: "
                + ", ".join(nl for nl, en in PERIODS.items() if en in CATALOGUE[projection].periods)
                + "; counts below the disclosure "
                "minimum are null, the rest rounded"
                + "".join(
                    f"; {c} is null where its count is below the minimum"
                    for c in CATALOGUE[projection].statistics
                )
                + "".join(f"; {c} is published as it is" for c in CATALOGUE[projection].public)
                + "".join(
                    f"; {r.name} is computed from the published {r.numerator} and "
                    f"{r.denominator} (null where one is null or the second is 0)"
                    for r in CATALOGUE[projection].ratios
                ),
                "parameters": _parameters(projection),
                "responses": {
                    "200": {
                        "description": "the figures",
                        "headers": {"API-Version": {"schema": {"type": "string"}}},
                        "content": {"application/json": {}, "text/csv": {}},
                    },
                    "400": problem,
                },
            }
        }
        for name, projection in RESOURCES.items()
    }
    paths["/huisvesting"] = {
        "get": {
            "summary": "housing of status holders per municipality and task period: task, "
            "linked, housed, backlog",
            "parameters": [
                {
                    "name": "taakperiode",
                    "in": "query",
                    "schema": {"type": "string"},
                    "example": "2026-I",
                },
                {"name": "formaat", "in": "query", "schema": {"enum": ["json", "csv"]}},
            ],
            "responses": {"200": {"description": "the figures"}, "400": problem},
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "ketenlog — cijfers van de migratieketen", "version": API_VERSION},
        "servers": [{"url": "/v1"}],
        "paths": paths,
    }
