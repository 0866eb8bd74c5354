"""The ground truth's figures that `ketenlog demo` recounts from the stored projection rows
(the folded persons give the others, domain.lifecycle.truth_check): inflow by person
attributes, Eurostat's applicants, demonstrable departures (the departure rows counted by the
analyst view's own `demonstrable` flag, so the view's definition meets the truth's), housing,
residents by location type and status, capacity, occupancy per location at month ends,
relocations per year, and the EU Migration Pact's figures (PACT_FIGURES: screenings, border
procedures, returns from the return border procedure, Eurodac hits, AMMR requests, solidarity
relocations; months of UTC instants, only what happened inside the period). Only the demo's
own persons and subjects count, for the log may hold other simulations. Reads in chunks; the
recounting is plain Python over the rows, so it does not share the views' SQL it checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
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
# The Pact's figures, in the ground truth's layout (producers/simulator/truth.py).
PACT_FIGURES = (
    "pact_screenings",
    "pact_border_procedures",
    "pact_border_returns",
    "pact_eurodac_hits",
    "pact_ammr",
    "pact_solidarity",
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
        **pact_figures(conn, persons, first, last),
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


def pact_figures(
    conn: psycopg.Connection, persons: list[str], first: date, last: date
) -> dict[str, Any]:
    """The figures of PACT_FIGURES in the truth's layout, from the Pact rows of `persons`."""

    def rows(query: str) -> list[tuple[Any, ...]]:
        return list(_rows(conn, f"{query} WHERE person_key = ANY(%s)", persons))

    return {
        "pact_screenings": pact_screenings(
            rows("SELECT started_at, completed_at, location, referral FROM screening_items"),
            first,
            last,
        ),
        "pact_border_procedures": pact_border_procedures(
            rows("SELECT started_at, ended_at, result, outcome FROM border_procedure_items"),
            first,
            last,
        ),
        "pact_border_returns": pact_border_returns(
            rows("SELECT day, kind, border_return FROM departure_items"), first, last
        ),
        "pact_eurodac_hits": pact_eurodac_hits(
            rows("SELECT day, category, member_state FROM eurodac_hit_items"), first, last
        ),
        "pact_ammr": pact_ammr(
            rows(
                "SELECT direction, kind, requested_day, answered_day, answer, time_limit,"
                " transferred_day FROM ammr_items"
            ),
            first,
            last,
        ),
        "pact_solidarity": pact_solidarity(
            rows(
                "SELECT direction, relocation_group, pledge_year, decided_day, transferred_day"
                " FROM solidarity_items"
            ),
            first,
            last,
        ),
    }


def _month_in(moment: date | datetime | None, first: date, last: date) -> str | None:
    """The YYYY-MM of a day or of an instant's UTC day, when it lies in [first, last]."""
    if moment is None:
        return None
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    return f"{day:%Y-%m}" if first <= day <= last else None


def _pruned(tree: dict[str, Any]) -> dict[str, Any]:
    """The truth's convention: keys omitted when zero, a month only when it has something."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        kept = _pruned(value) if isinstance(value, dict) else value
        if kept:
            out[key] = kept
    return out


def _add(tree: dict[str, Any], path: tuple[str, ...], n: int = 1) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = tree.get(path[-1], 0) + n


def pact_screenings(rows: list[tuple[Any, ...]], first: date, last: date) -> dict[str, Any]:
    """(started_at, completed_at, location, referral): started by location in the month of the
    start; completed by referral, within 7 days (art. 8(3)) and the whole seconds they took,
    in the month of the completion."""
    out: dict[str, Any] = {}
    for started, completed, location, referral in rows:
        if month := _month_in(started, first, last):
            _add(out, (month, "started", location))
        if month := _month_in(completed, first, last):
            took = completed - started
            _add(out, (month, "completed", str(referral)))
            _add(out, (month, "within_7_days"), int(took <= timedelta(days=7)))
            _add(out, (month, "duration_seconds"), took // timedelta(seconds=1))
    return _pruned(out)


def pact_border_procedures(rows: list[tuple[Any, ...]], first: date, last: date) -> dict[str, Any]:
    """(started_at, ended_at, result, outcome): started in the month of the start; ended by
    DECIDED:<outcome>, MAXIMUM_REACHED or ENDED in the month it ended."""
    out: dict[str, Any] = {}
    for started, ended, result, outcome in rows:
        if month := _month_in(started, first, last):
            _add(out, (month, "started"))
        if month := _month_in(ended, first, last):
            _add(
                out, (month, "ended", f"DECIDED:{outcome}" if result == "DECIDED" else str(result))
            )
    return _pruned(out)


def pact_border_returns(rows: list[tuple[Any, ...]], first: date, last: date) -> dict[str, Any]:
    """(day, kind, border_return): the departures from the return border procedure by kind."""
    out: dict[str, Any] = {}
    for day, kind, border_return in rows:
        if border_return and (month := _month_in(day, first, last)):
            _add(out, (month, kind))
    return _pruned(out)


def pact_eurodac_hits(rows: list[tuple[Any, ...]], first: date, last: date) -> dict[str, Any]:
    """(day, category, member_state): hits per <category>|<member_state>."""
    out: dict[str, Any] = {}
    for day, category, member_state in rows:
        if month := _month_in(day, first, last):
            _add(out, (month, f"{category}|{member_state}"))
    return _pruned(out)


def pact_ammr(rows: list[tuple[Any, ...]], first: date, last: date) -> dict[str, Any]:
    """(direction, kind, requested_day, answered_day, answer, time_limit, transferred_day): per
    <direction>|<kind>, each count in the month of its own day; within the time limit =
    transferred on or before it."""
    out: dict[str, Any] = {}
    for direction, kind, requested, answered, answer, limit, transferred in rows:
        cell = f"{direction}|{kind}"
        if month := _month_in(requested, first, last):
            _add(out, (month, cell, "requested"))
        if answer in ("ACCEPTED", "REFUSED") and (month := _month_in(answered, first, last)):
            _add(out, (month, cell, answer.lower()))
        if month := _month_in(transferred, first, last):
            _add(out, (month, cell, "transferred"))
            within = limit is not None and transferred <= limit
            _add(out, (month, cell, "transferred_within_time_limit"), int(within))
    return _pruned(out)


def pact_solidarity(rows: list[tuple[Any, ...]], first: date, last: date) -> dict[str, Any]:
    """(direction, relocation_group, pledge_year, decided_day, transferred_day): decided and
    transferred per <direction>|<relocation_group>|<pledge_year>."""
    out: dict[str, Any] = {}
    for direction, group, pledge_year, decided, transferred in rows:
        cell = f"{direction}|{group}|{pledge_year}"
        if month := _month_in(decided, first, last):
            _add(out, (month, cell, "decided"))
        if month := _month_in(transferred, first, last):
            _add(out, (month, cell, "transferred"))
    return _pruned(out)


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
    named per figure); a Pact figure the truth does not hold is named too (a simulator
    without the Pact cannot confirm it)."""
    out = []
    for figure in (*FIGURES, *PACT_FIGURES):
        if figure in PACT_FIGURES and figure not in truth:
            out.append(f"{figure}: not in the ground truth")
            continue
        want = truth.get(figure, {})
        mine = got.get(figure, {})
        if figure == "housing":
            want = _without_shared_tasks(mine, want)
        wrong = sorted(p for p in set(want) | set(mine) if want.get(p) != mine.get(p))
        out += [f"{figure} {p}: {mine.get(p)} (truth {want.get(p)})" for p in wrong[:limit]]
        if len(wrong) > limit:
            out.append(f"{figure}: {len(wrong) - limit} more periods differ")
    return out


# What each Pact figure's line in the demo's report counts (the figure's first count).
PACT_HEADLINES: dict[str, tuple[str, Callable[[dict[str, Any]], int]]] = {
    "pact_screenings": ("started", lambda m: sum(m.get("started", {}).values())),
    "pact_border_procedures": ("started", lambda m: m.get("started", 0)),
    "pact_border_returns": ("departures", lambda m: sum(m.values())),
    "pact_eurodac_hits": ("hits", lambda m: sum(m.values())),
    "pact_ammr": ("requests", lambda m: sum(c.get("requested", 0) for c in m.values())),
    "pact_solidarity": ("decided", lambda m: sum(c.get("decided", 0) for c in m.values())),
}


def pact_report(got: dict[str, Any], truth: dict[str, Any]) -> str:
    """One line per Pact figure: its months, its first count over them, and whether the
    recount from the rows equals the ground truth."""
    lines = ["", "Pact figure               months  counted             matches truth"]
    for figure in PACT_FIGURES:
        label, count = PACT_HEADLINES[figure]
        months = got.get(figure, {})
        total = sum(count(m) for m in months.values())
        if figure not in truth:
            verdict = "no truth to compare with"
        else:
            verdict = "yes" if months == truth[figure] else "NO"
        lines.append(f"{figure:<24}  {len(months):>6}  {total:>9,} {label:<10} {verdict}")
    return "\n".join(lines)
