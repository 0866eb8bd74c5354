"""The analysts' request parameters, declared once: each resource's parameters with their
JSON Schema, and `validate`, which turns given values into a `Request` or names every invalid
one. The HTTP API (projections.http_api) and `ketenlog query` both validate through it, and
projections.openapi documents the same declarations, so what is documented and what is
enforced cannot drift. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from projections import as_known_at
from projections.queries import CATALOGUE, PERIODS

HOUSING = "housing"
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
    "huisvesting": HOUSING,
    "screenings": "screenings",
    "doorlooptijden-screening": "screening_durations",
    "grensprocedures": "border_procedures",
    "vertrek-terugkeergrensprocedure": "border_returns",
    "eurodac-treffers": "eurodac_hits",
    "overdrachten": "ammr",
    "herplaatsingen": "solidarity",
}
DUTCH_PERIODS = {"dag": "day", "week": "week", "maand": "month", "jaar": "year"}
FORMATS = ("json", "csv")
TASK_PERIOD = re.compile(r"[0-9]{4}-(I|II)")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 3339 (OpenAPI's `date-time`, zone required), so the server takes what the document says.
DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
MOMENT_REASON = (
    "an ISO date (2026-03-02, the end of that day) or an RFC 3339 date-time "
    "(2026-03-02T12:00:00Z): the figures as the chain knew them then"
)
MOMENT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
    ]
}


@dataclass(frozen=True)
class Param:
    """One request parameter: its name on the API, its option on the CLI, its JSON Schema."""

    name: str
    option: str
    description: str
    schema: dict[str, Any]
    explode: bool = True
    """False for a list given as one comma-separated value (`indeling=kind,sex`)."""


@dataclass(frozen=True)
class Invalid:
    name: str
    value: str
    reason: str

    def problem(self) -> dict[str, str]:
        return {"name": self.name, "reason": f"{self.value!r}: {self.reason}"}


class ParameterError(ValueError):
    """Every parameter that is wrong, each with its value and why."""

    def __init__(self, invalid: list[Invalid]) -> None:
        super().__init__("; ".join(f"{i.name} {i.value!r}: {i.reason}" for i in invalid))
        self.invalid = invalid


@dataclass(frozen=True)
class Surface:
    """How one interface names the parameters and the periods (Dutch on the API)."""

    label: Callable[[Param], str]
    periods: Mapping[str, str]
    resource: Callable[[str], str]


API = Surface(
    lambda p: p.name,
    DUTCH_PERIODS,
    lambda projection: next(nl for nl, en in RESOURCES.items() if en == projection),
)
CLI = Surface(lambda p: p.option, {p: p for p in PERIODS}, lambda projection: projection)


@dataclass(frozen=True)
class Request:
    """A validated question for one projection (or housing)."""

    projection: str
    period: str = "month"
    by: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    known_at: datetime | None = None
    task_period: str | None = None
    format: str = "json"


def parameters(projection: str, surface: Surface = API) -> list[Param]:
    """The parameters `projection` takes, as `surface` names its periods."""
    known_at = Param(
        "bekend-op",
        "--as-known-at",
        "the figures as the chain knew them at this system time: an ISO date (the end of that "
        "day) or an RFC 3339 date-time with its zone; events and corrections the broker "
        "received later do not count (the broker's time, not the publisher's recorded_at)",
        MOMENT_SCHEMA,
    )
    fmt = Param(
        "formaat",
        "--format",
        "json (default) or csv; without it, `Accept: text/csv` asks for CSV",
        {"type": "string", "enum": list(FORMATS), "default": "json"},
    )
    if projection == HOUSING:
        task = Param(
            "taakperiode",
            "--task-period",
            "one task period, a half year such as 2026-I or 2026-II; default all",
            {"type": "string", "pattern": f"^{TASK_PERIOD.pattern}$", "example": "2026-I"},
        )
        return [task, fmt, known_at]
    p = CATALOGUE[projection]
    words = [w for w, period in surface.periods.items() if period in p.periods]
    default = next(w for w, period in surface.periods.items() if period == p.default_period)
    day = {"type": "string", "format": "date"}
    params = [
        Param("van", "--from", "first day (YYYY-MM-DD); the whole periods overlapping it", day),
        Param("tot", "--to", "last day (YYYY-MM-DD), not before van", day),
        Param(
            "periode",
            "--by",
            f"the period of each row: {', '.join(words)} (default {default})",
            {"type": "string", "enum": words, "default": default},
        ),
    ]
    if p.dimensions:
        params.append(
            Param(
                "indeling",
                "--by",
                f"dimensions, comma-separated, each once: {', '.join(p.dimensions)}",
                {
                    "type": "array",
                    "items": {"enum": list(p.dimensions)},
                    "minItems": 1,
                    "uniqueItems": True,
                },
                explode=False,
            )
        )
    return [*params, fmt, known_at]


def validate(projection: str, given: Mapping[str, str], surface: Surface = API) -> Request:
    """The request `given` (API parameter names → values) asks of `projection`, or
    ParameterError naming every wrong one in `surface`'s words."""
    params = {p.name: p for p in parameters(projection, surface)}
    anywhere = {p.name: p for q in (*CATALOGUE, HOUSING) for p in parameters(q, surface)}
    invalid: list[Invalid] = []

    def bad(name: str, reason: str) -> None:
        param = anywhere.get(name)
        invalid.append(Invalid(surface.label(param) if param else name, given[name], reason))

    known = ", ".join(sorted({surface.label(p) for p in params.values()}))
    for name in given:
        if name == "indeling" and name not in params and projection in CATALOGUE:
            bad(name, f"{surface.resource(projection)} has no dimensions")
        elif name not in params:
            bad(name, f"not a parameter of {surface.resource(projection)}, which takes {known}")
    values: dict[str, Any] = {"projection": projection}
    if "bekend-op" in given:
        try:
            values["known_at"] = parse_moment(given["bekend-op"])
        except ValueError:
            bad("bekend-op", MOMENT_REASON)
    if given.get("formaat", "json") not in FORMATS:
        bad("formaat", f"one of {', '.join(FORMATS)}")
    elif "formaat" in given:
        values["format"] = given["formaat"]
    if projection == HOUSING:
        if "taakperiode" in given:
            if TASK_PERIOD.fullmatch(given["taakperiode"]):
                values["task_period"] = given["taakperiode"]
            elif "taakperiode" in params:
                bad("taakperiode", "a half year such as 2026-I or 2026-II")
    elif projection in CATALOGUE:
        _projection_values(
            projection, given, params=params, surface=surface, values=values, bad=bad
        )
    if invalid:
        raise ParameterError(invalid)
    return Request(**values)


def _projection_values(
    projection: str,
    given: Mapping[str, str],
    *,
    params: Mapping[str, Param],
    surface: Surface,
    values: dict[str, Any],
    bad: Callable[[str, str], None],
) -> None:
    p = CATALOGUE[projection]
    for name, key in (("van", "start"), ("tot", "end")):
        if name in given:
            try:
                values[key] = parse_date(given[name])
            except ValueError:
                bad(name, "not a date (YYYY-MM-DD)")
    if values.get("start") and values.get("end") and values["start"] > values["end"]:
        bad("tot", f"before {surface.label(params['van'])} {given['van']}")
    words = params["periode"].schema["enum"]
    if "periode" in given:
        word = given["periode"]
        if word in words:
            values["period"] = surface.periods[word]
        else:
            bad("periode", f"{surface.resource(projection)} is per one of {', '.join(words)}")
    else:
        values["period"] = p.default_period
    if "indeling" in given and "indeling" in params:
        dims = given["indeling"].split(",")
        unknown = [d for d in dims if d not in p.dimensions]
        if "" in dims:
            # `indeling=` or `kind,,sex`: an empty name, not "no dimensions" (leave it out).
            bad("indeling", "an empty dimension name")
        elif unknown:
            bad(
                "indeling",
                f"{surface.resource(projection)} has no dimension {', '.join(unknown)}; "
                f"it has {', '.join(p.dimensions)}",
            )
        elif len(set(dims)) < len(dims):
            bad("indeling", "a dimension named twice")
        values["by"] = tuple(dims)


def parse_date(text: str) -> date:
    if not DATE.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)


def parse_moment(text: str) -> datetime:
    """`bekend-op`: strictly what the document allows, then projections.as_known_at's reading."""
    if not (DATE.fullmatch(text) or DATE_TIME.fullmatch(text)):
        raise ValueError(text)
    at = as_known_at.parse_moment(text.upper())
    # In UTC: PostgreSQL takes offsets up to 15:59 only, RFC 3339 up to 23:59.
    try:
        return at.astimezone(UTC)
    except OverflowError:
        # Past the calendar's end or before its start in UTC: the same as its last or first
        # moment, as far as what the log had recorded by then goes.
        return (datetime.max if at.year > 1 else datetime.min).replace(tzinfo=UTC)
