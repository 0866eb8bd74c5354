"""The analysts' dashboard page (`GET /dashboard` of projections.http_api): the projections as
inline SVG charts (projections.charts), through the same disclosure-controlled queries as the
API. Says what it shows: simulated data when it is, the window and up to which day the log
holds data, codes in Dutch. The window is the year up to the log's last day, or the simulated
period when the server knows one (a simulation's warm-up before it is not chain data to show:
its decisions would double where it ends).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import Any, Protocol

from projections import charts

MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)

# The codes of the views in the words of the chain's own publications.
LABELS = {
    # inflow kinds
    "FIRST": "eerste aanvraag",
    "REPEAT": "herhaalde aanvraag",
    "NAREIS": "nareizigers",
    # departure kinds
    "INDEPENDENT": "zelfstandig vertrek",
    "FORCED": "gedwongen vertrek",
    "DUBLIN_TRANSFER": "Dublinoverdracht",
    "UNSUPERVISED": "vertrek zonder toezicht",
    # decision outcomes
    "A": "inwilliging A-status (vluchteling)",
    "B": "inwilliging B-status (subsidiair)",
    "REJECTED": "afwijzing",
    "INADMISSIBLE": "niet-ontvankelijk",
    "MANIFESTLY_UNFOUNDED": "kennelijk ongegrond",
    # location types that are not already Dutch abbreviations
    "UNPLACED": "nog niet geplaatst",
    "NOODOPVANG": "noodopvang",
    "CRISISNOODOPVANG": "crisisnoodopvang",
}


def label(code: str) -> str:
    """The Dutch label of a code; a code without one (AZC, COL, ...) is its own name."""
    return LABELS.get(code, code)


def dutch_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class Simulated:
    """The period a simulation was published for (its warm-up lies before `start`)."""

    start: date
    end: date


class Source(Protocol):
    """What the page reads: the API's disclosure-controlled figures (projections.http_api.Api)."""

    @property
    def disclosure(self) -> Any: ...

    async def query(self, projection: str, **kwargs: Any) -> tuple[list[str], list[Any]]: ...

    async def housing(self, task_period: str | None) -> tuple[list[str], list[Any]]: ...

    async def data_until(self) -> date | None: ...


def window(until: date, simulated: Simulated | None) -> tuple[date, date]:
    """The days the page shows: the simulated period up to the log's last day, or else the
    year (365 days) up to it."""
    if simulated is not None and simulated.start <= until:
        return simulated.start, min(simulated.end, until)
    return until - timedelta(days=364), until


def series(
    rows: list[tuple[Any, ...]], key: Callable[[tuple[Any, ...]], str], *, flow: bool
) -> dict[str, list[tuple[date, float]]]:
    """Points per series. A suppressed count is left out, not drawn as zero; for a flow, a
    period without any row had none of it and is drawn as zero."""
    out: dict[str, dict[date, float]] = {}
    suppressed: set[tuple[str, date]] = set()
    for r in rows:
        if r[-1] is None:
            suppressed.add((key(r), r[0]))
        else:
            out.setdefault(key(r), {})[r[0]] = float(r[-1])
    if flow:
        periods = {r[0] for r in rows}
        for name, points in out.items():
            for p in periods - points.keys():
                if (name, p) not in suppressed:
                    points[p] = 0.0
    return {name: sorted(points.items()) for name, points in out.items()}


def _by_label(r: tuple[Any, ...]) -> str:
    return label(str(r[1]))


async def _housing_chart(source: Source) -> str:
    """The latest task period's fifteen largest tasks: housed, and what is left to house."""
    _, rows = await source.housing(None)
    periods = sorted({r[1] for r in rows}, key=lambda p: (p[:4], len(p)))
    latest = [r for r in rows if periods and r[1] == periods[-1]]
    latest.sort(key=lambda r: -r[2])
    top = latest[:15]
    return charts.category_bars(
        f"Huisvesting statushouders per gemeente, taakperiode {periods[-1] if periods else '-'}",
        [r[0] for r in top],
        {"gehuisvest": [r[4] or 0 for r in top], "nog te huisvesten": [r[5] or 0 for r in top]},
        unit="personen",
    )


def _capacity_chart(rows: list[tuple[Any, ...]]) -> str:
    """Per location type with places: persons (solid) against places (dashed), per week.
    Rows: period, location type, persons, places, occupancy rate."""
    persons = series([r[:3] for r in rows], _by_label, flow=False)
    places = series([(r[0], r[1], r[3]) for r in rows], _by_label, flow=False)
    return charts.against_chart(
        "Bezetting tegen capaciteit COA per locatietype (eind van de week)",
        {kind: (persons.get(kind, []), points) for kind, points in places.items()},
        unit="personen / plaatsen",
        solid="bezetting",
        dashed="capaciteit",
    )


async def _figures(source: Source, start: date, end: date) -> list[str]:
    span = {"start": start, "end": end}
    _, inflow = await source.query("inflow", period="week", by=["kind"], **span)
    _, occupancy = await source.query("occupancy", period="week", by=["location_type"], **span)
    _, capacity = await source.query("capacity", period="week", by=["location_type"], **span)
    _, departures = await source.query("departures", period="month", by=["kind"], **span)
    _, decisions = await source.query("decisions", period="month", by=["outcome"], **span)
    _, pending = await source.query("backlog", period="week", **span)
    _, late = await source.query("backlog_late", period="week", **span)
    backlog = {
        "in behandeling": series(pending, lambda r: "", flow=False).get("", []),
        "langer dan 6 maanden": series(late, lambda r: "", flow=False).get("", []),
    }
    return [
        charts.line_chart(
            "Instroom per week naar soort", series(inflow, _by_label, flow=True), unit="aanvragen"
        ),
        charts.line_chart(
            "Bezetting COA per locatietype (eind van de week)",
            series(occupancy, _by_label, flow=False),
            unit="personen",
        ),
        _capacity_chart(capacity),
        charts.bar_chart(
            "Vertrek per maand naar soort",
            series(departures, _by_label, flow=True),
            unit="personen",
        ),
        charts.bar_chart(
            "Beslissingen per maand naar uitkomst",
            series(decisions, _by_label, flow=True),
            unit="beslissingen",
        ),
        charts.line_chart("Achterstand IND (eind van de week)", backlog, unit="zaken"),
        await _housing_chart(source),
    ]


def _about(until: date | None, shown: tuple[date, date] | None, simulated: Simulated | None) -> str:
    """The lines above the charts: where the figures come from and which days they cover."""
    lines = []
    if simulated is not None:
        lines.append(
            "<p class=simulated><strong>Gesimuleerde gegevens</strong>: een synthetische keten "
            f"(ketenlog simulate) voor {dutch_date(simulated.start)} t/m "
            f"{dutch_date(simulated.end)}; geen echte personen of cijfers.</p>"
        )
    if until is None:
        lines.append("<p class=until>De tijdlijn bevat nog geen gegevens.</p>")
    else:
        lines.append(
            f'<p class=until>Gegevens t/m <time datetime="{until.isoformat()}">'
            f"{escape(dutch_date(until))}</time> (de laatste dag waarover de tijdlijn "
            "gebeurtenissen bevat)"
            + (
                f"; getoond: {dutch_date(shown[0])} t/m {dutch_date(shown[1])}"
                if shown is not None
                else ""
            )
            + ".</p>"
        )
    return "".join(lines)


async def dashboard_page(source: Source, simulated: Simulated | None = None) -> str:
    until = await source.data_until()
    shown = window(until, simulated) if until is not None else None
    figures = await _figures(source, *shown) if shown is not None else []
    d = source.disclosure
    return (
        "<!doctype html><html lang=nl><head><meta charset=utf-8><title>ketenlog — dashboard"
        "</title><style>body{font-family:sans-serif;margin:1.5em;color:#222}"
        "figure{display:inline-block;margin:0 1.5em 1.5em 0;vertical-align:top}"
        "figcaption{font-weight:bold;margin-bottom:.3em}.legend{font-size:12px}"
        ".key{margin-right:1em}.key i{display:inline-block;width:10px;height:10px;"
        "margin-right:4px}.simulated{background:#fff4d6;padding:.4em .6em;display:inline-block}"
        "</style></head><body><h1>De migratieketen in cijfers</h1>"
        + _about(until, shown, simulated)
        + "<p>Afgeleid uit de gedeelde tijdlijn; elk aantal heeft een kleine ruis (ten hoogste "
        f"{d.noise}), aantallen daarna onder {d.minimum} zijn weggelaten, de rest is afgerond "
        f"op {d.rounding}. Data: <a href=/v1/openapi.json>/v1</a>.</p>"
        + "".join(figures)
        + "</body></html>"
    )
