"""The ground truth's figures that `ketenlog demo` recounts from the stored projection rows
(the folded persons give the others, domain.lifecycle.truth_check): inflow by person
attributes, Eurostat's applicants, demonstrable departures (the departure rows counted by the
analyst view's own `demonstrable` flag, so the view's definition meets the truth's), housing,
residents by location type and status, capacity, occupancy per location at month ends,
relocations per year. Only the demo's own persons and
subjects count, for the log may hold other simulations. Reads in chunks; the recounting is
plain Python over the rows, so it does not share the views' SQL it checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import psycopg

from projections.db import ANALYST

FIGURES = (
    "inflow_attributes",
    "eurostat_applicants",
    "demonstrable_departures",
    "housing",
    "coa_residents",
    "coa_capacity",
    "coa_locations",
    "relocations",
)
CHUNK = 5000
Stay = tuple[date, date | None, str, str, str, bool]


def _rows(conn: psycopg.Connection, query: str, keys: list[str]) -> Iterator[tuple[Any, ...]]:
    for i in range(0, len(keys), CHUNK):
        yield from conn.execute(query, (keys[i : i + CHUNK],))


def table_figures(
    conn: psycopg.Connection, persons: list[str], subjects: list[str], truth: dict[str, Any]
) -> dict[str, Any]:
    """The figures of FIGURES in the truth's layout, from the rows of `persons` and of the
    non-person `subjects` (locations, housing tasks)."""
    first = date.fromisoformat(truth["period"]["from"])
    last = date.fromisoformat(truth["period"]["to"])
    inflow = list(
        _rows(
            conn,
            "SELECT person_key, day, kind, nationality, age_band, sex FROM inflow_items"
            " WHERE person_key = ANY(%s)",
            persons,
        )
    )
    stays: list[Stay] = [
        tuple(r)
        for r in _rows(
            conn,
            "SELECT from_day, to_day, location_type, location_id, resident_status, minor"
            " FROM coa_stays WHERE person_key = ANY(%s)",
            persons,
        )
    ]
    spans = list(
        _rows(
            conn,
            "SELECT from_day, to_day, location_type, location_id, places FROM location_capacity"
            " WHERE person_key = ANY(%s)",
            subjects,
        )
    )
    # Each kind's flag as the analyst view defines it (every kind of these rows is in the view).
    departures = list(
        _rows(
            conn,
            "SELECT i.day, v.demonstrable FROM departure_items i"
            f" JOIN (SELECT DISTINCT kind, demonstrable FROM {ANALYST}.departures) v USING (kind)"
            " WHERE i.person_key = ANY(%s)",
            persons,
        )
    )
    moves = list(
        _rows(conn, "SELECT day, minor FROM relocation_items WHERE person_key = ANY(%s)", persons)
    )
    steps = list(
        _rows(
            conn,
            "SELECT municipality_code, task_period, step, day FROM housing_items"
            " WHERE person_key = ANY(%s)",
            persons,
        )
    )
    tasks = list(
        _rows(
            conn,
            "SELECT person_key, municipality_code, task_period, task FROM housing_tasks"
            " WHERE person_key = ANY(%s)",
            subjects,
        )
    )
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return {
        "inflow_attributes": _inflow_attributes(inflow, truth["inflow_attributes"]),
        "eurostat_applicants": _eurostat(inflow, truth["eurostat_applicants"]),
        "demonstrable_departures": _demonstrable(departures, truth["demonstrable_departures"]),
        "housing": _housing(steps, tasks, _periods(truth["housing"]), last),
        "coa_residents": _per_day(stays, days, lambda s: ((s[2], s[4]), 1), nested=True),
        "coa_capacity": _per_day(spans, days, lambda s: (s[2], s[4])),
        "coa_locations": _locations(
            stays, spans, [date.fromisoformat(d) for d in truth["coa_locations"]]
        ),
        "relocations": _relocations(stays, moves, first, last),
    }


def _periods(housing: dict[str, dict[str, Any]]) -> set[str]:
    return {p for by_period in housing.values() for p in by_period}


def _inflow_attributes(
    inflow: list[tuple[Any, ...]], months: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {m: {} for m in months}
    for _, day, kind, nationality, band, sex in inflow:
        month = f"{day:%Y-%m}"
        if month in out:
            cell = out[month].setdefault(kind, {}).setdefault(nationality, {})
            cell.setdefault(band, {}).setdefault(sex, 0)
            cell[band][sex] += 1
    return out


def _demonstrable(departures: list[tuple[Any, ...]], months: dict[str, int]) -> dict[str, int]:
    """Per month of the truth, the departures (day, demonstrable) flagged demonstrable."""
    out = dict.fromkeys(months, 0)
    for day, demonstrable in departures:
        month = f"{day:%Y-%m}"
        if demonstrable and month in out:
            out[month] += 1
    return out


def _eurostat(inflow: list[tuple[Any, ...]], want: dict[str, Any]) -> dict[str, Any]:
    days: dict[str, list[date]] = {}
    for key, day, kind, *_ in inflow:
        if kind in ("FIRST", "REPEAT"):
            days.setdefault(key, []).append(day)
    out: dict[str, dict[str, dict[str, int]]] = {
        kind: {p: {"FIRST_TIME": 0, "SUBSEQUENT": 0} for p in want[kind]} for kind in want
    }
    cuts: dict[str, Callable[[date], str]] = {
        "month": lambda d: f"{d:%Y-%m}",
        "year": lambda d: f"{d:%Y}",
    }
    for person_days in days.values():
        for kind, cut in cuts.items():
            first = cut(min(person_days))
            for period in {cut(d) for d in person_days}:
                if period in out.get(kind, {}):
                    out[kind][period]["FIRST_TIME" if period == first else "SUBSEQUENT"] += 1
    return out


def _housing(
    steps: list[tuple[Any, ...]], tasks: list[tuple[Any, ...]], periods: set[str], last: date
) -> dict[str, dict[str, dict[str, int]]]:
    """As the truth's housing; a task whose subject holds more than one (another simulation
    on the same log published one for that municipality and period: the subject key has no
    room for a run tag) is None, not compared."""
    out: dict[str, dict[str, dict[str, Any]]] = {}

    def row(municipality: str, period: str) -> dict[str, Any]:
        return out.setdefault(municipality, {}).setdefault(
            period, {"task": 0, "linked": 0, "housed": 0}
        )

    per_subject = Counter(r[0] for r in tasks)
    for subject, municipality, period, task in tasks:
        if period in periods:
            row(municipality, period)["task"] = task if per_subject[subject] == 1 else None
    for municipality, period, step, day in steps:
        if period in periods and day <= last:
            row(municipality, period)["linked" if step == "LINKED" else "housed"] += 1
    return out


def _per_day(
    rows: list[Any],
    days: list[date],
    cell: Callable[[Any], tuple[Any, int]],
    *,
    nested: bool = False,
) -> dict[str, Any]:
    """Per day, the rows ([from, to) in their first two columns) on it, summed per cell: a
    running sum of what starts and ends each day (a national year has ~10^5 stays)."""
    first, after = days[0], days[-1] + timedelta(days=1)
    deltas: dict[date, Counter[Any]] = {}
    for r in rows:
        start, end = max(r[0], first), min(r[1] or after, after)
        if start < end:
            key, n = cell(r)
            deltas.setdefault(start, Counter())[key] += n
            deltas.setdefault(end, Counter())[key] -= n
    level: Counter[Any] = Counter()
    out: dict[str, Any] = {}
    for day in days:
        level.update(deltas.get(day, Counter()))
        if nested:
            grouped: dict[str, dict[str, int]] = {}
            for (outer, inner), n in sorted(level.items()):
                if n:
                    grouped.setdefault(outer, {})[inner] = n
            out[day.isoformat()] = grouped
        else:
            out[day.isoformat()] = {k: n for k, n in sorted(level.items()) if n}
    return out


def _locations(
    stays: list[Stay], spans: list[tuple[Any, ...]], days: list[date]
) -> dict[str, dict[str, dict[str, int]]]:
    out: dict[str, dict[str, dict[str, int]]] = {}
    for day in days:
        persons = Counter(s[3] for s in stays if s[0] <= day and (s[1] is None or day < s[1]))
        places = Counter(
            {s[3]: s[4] for s in spans if s[0] <= day and (s[1] is None or day < s[1])}
        )
        out[day.isoformat()] = {
            loc: {"persons": persons[loc], "places": places[loc]}
            for loc in sorted(set(persons) | set(places))
        }
    return out


def _relocations(
    stays: list[Stay], moves: list[tuple[Any, ...]], first: date, last: date
) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}

    def year(y: int) -> dict[str, int]:
        zero = ("relocations", "resident_days", "child_relocations", "child_resident_days")
        return out.setdefault(str(y), dict.fromkeys(zero, 0))

    for y in range(first.year, last.year + 1):
        year(y)
    for day, minor in moves:
        if first <= day <= last:
            year(day.year)["relocations"] += 1
            year(day.year)["child_relocations"] += minor
    for start, end, *_, minor in stays:
        for y in range(max(start, first).year, last.year + 1):
            lo = max(start, first, date(y, 1, 1))
            hi = min(end or date.max, last + timedelta(days=1), date(y + 1, 1, 1))
            if lo < hi:
                year(y)["resident_days"] += (hi - lo).days
                year(y)["child_resident_days"] += (hi - lo).days if minor else 0
    return out


def shared_tasks(got: dict[str, Any]) -> int:
    """How many housing tasks were not compared (shared with another simulation's)."""
    return sum(
        1 for by_period in got["housing"].values() for v in by_period.values() if v["task"] is None
    )


def _without_shared_tasks(mine: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for municipality, by_period in want.items():
        out[municipality] = {
            period: {**v, "task": None}
            if mine.get(municipality, {}).get(period, {}).get("task", 0) is None
            else v
            for period, v in by_period.items()
        }
    return out


def differences(got: dict[str, Any], truth: dict[str, Any], *, limit: int = 5) -> list[str]:
    """Each figure and period where the rows disagree with the truth (at most `limit` periods
    named per figure)."""
    out = []
    for figure in FIGURES:
        want = truth.get(figure, {})
        mine = got.get(figure, {})
        if figure == "housing":
            want = _without_shared_tasks(mine, want)
        wrong = sorted(p for p in set(want) | set(mine) if want.get(p) != mine.get(p))
        out += [f"{figure} {p}: {mine.get(p)} (truth {want.get(p)})" for p in wrong[:limit]]
        if len(wrong) > limit:
            out.append(f"{figure}: {len(wrong) - limit} more periods differ")
    return out
