"""The read side for analysts: each projection of the `analyst` views, per period (day, week,
month, year) and the dimensions asked for, between two dates. Flows (inflow, decisions,
departures) are summed over the period; stocks (occupancy) are the value on the period's last
day. Person-based counts and percentiles do not add up over days: their views hold rows per
period type, and a query takes the whole periods overlapping its dates. Disclosure control is
applied by the caller (ketenlog query, the API) through `publishable`, on rows asked for with
`keys=True`: each row then ends with its counts' record-key sums (the views' `<count>_key`
columns), the cell keys of projections.disclosure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from psycopg import sql

from projections.db import ANALYST
from projections.disclosure import Disclosure

PERIODS = ("day", "week", "month", "year")
# How a view holds its figures: per day (summed, or a stock's last day); per period type and
# period, additive over dimensions (person-based counts); per period type, period and every
# combination of the dimensions, NULL = all (statistics such as percentiles).
DAILY, PERIODIC, ROLLUP = "daily", "periodic", "rollup"


@dataclass(frozen=True)
class Ratio:
    """A column computed from two summed ones: numerator * factor / denominator, rounded; for
    analysts from the published (disclosure-controlled) values, so it reveals nothing more."""

    name: str
    numerator: str
    denominator: str
    factor: float = 1.0
    per_year: bool = False
    """Also times the days in the period's year: person-days in the denominator make it a rate
    per person-year."""
    digits: int = 1

    def of(self, values: dict[str, Any], period: date) -> float | None:
        num, den = values[self.numerator], values[self.denominator]
        if num is None or not den:
            return None
        factor = Decimal(str(self.factor))
        if self.per_year:
            factor *= (date(period.year + 1, 1, 1) - date(period.year, 1, 1)).days
        # Half away from zero, as PostgreSQL's round() in the views.
        exact = Decimal(int(num)) * factor / Decimal(int(den))
        return float(exact.quantize(Decimal(1).scaleb(-self.digits), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Projection:
    name: str
    view: str
    measure: str
    dimensions: tuple[str, ...]
    stock: bool
    description: str
    layout: str = DAILY
    periods: tuple[str, ...] = PERIODS
    statistics: tuple[str, ...] = ()
    """Columns after the count that describe the counted items (not counts themselves)."""
    counts: tuple[str, ...] = ()
    """Further counts of persons after the measure, summed and disclosure-controlled alike."""
    public: tuple[str, ...] = ()
    """Summed figures after the counts that count no persons (a location's places): published
    as they are, like a housing task."""
    ratios: tuple[Ratio, ...] = ()
    """Computed last, from the summed columns."""
    always_by: tuple[str, ...] = ()
    """Dimensions every query splits by (put first when not asked for): figures of different
    values do not add up into anything (a case's states and a reception's)."""
    default_by: tuple[str, ...] = ()
    """The split when none is asked for."""
    keyed: bool = True
    """The view has a `<count>_key` record-key sum per count (else the cell key is a label)."""

    def split(self, by: list[str]) -> list[str]:
        asked = by or list(self.default_by)
        return [*(d for d in self.always_by if d not in asked), *asked]

    @property
    def sums(self) -> tuple[str, ...]:
        return (self.measure, *self.counts, *self.public)

    @property
    def keys(self) -> tuple[str, ...]:
        """The record-key sums of the counts (measure and further counts), if the view has them."""
        counted = (self.measure, *self.counts) if self.keyed else ()
        return tuple(f"{c}_key" for c in counted)

    @property
    def default_period(self) -> str:
        return "month" if "month" in self.periods else self.periods[0]


CATALOGUE = {
    p.name: p
    for p in (
        Projection(
            "inflow",
            "inflow",
            "applications",
            ("kind", "unaccompanied_minor", "nationality", "age_band", "sex"),
            False,
            "asylum applications lodged (FIRST, REPEAT) and nareizigers arrived (NAREIS); by "
            "nationality, age band (0-13, 14-17, 18-34, 35-64, 65+) and sex as registered",
        ),
        Projection(
            "inflow_eurostat",
            "inflow_eurostat",
            "applicants",
            ("applicant_type", "nationality", "age_band", "sex"),
            False,
            "Eurostat's asylum applicants: persons with a FIRST or REPEAT application, each "
            "once per month or year; applicant_type FIRST_TIME (first application in the log "
            "in that period) or SUBSEQUENT",
            PERIODIC,
            ("month", "year"),
        ),
        Projection(
            "decisions",
            "decisions",
            "decisions",
            ("track", "outcome"),
            False,
            "IND decisions by track and outcome (A, B, REJECTED, INADMISSIBLE, "
            "MANIFESTLY_UNFOUNDED)",
        ),
        Projection(
            "lead_times",
            "decision_lead_times",
            "decisions",
            ("track", "outcome"),
            False,
            "days from a case's first application to its decision: p50 and p90 per period, "
            "of the decisions counted",
            ROLLUP,
            statistics=("p50_lead_days", "p90_lead_days"),
        ),
        Projection(
            "departures",
            "departures",
            "departures",
            ("kind", "demonstrable"),
            False,
            "departures by kind; demonstrable (DT&V) = INDEPENDENT + FORCED + DUBLIN_TRANSFER",
        ),
        Projection(
            "occupancy",
            "coa_occupancy",
            "persons",
            ("location_type",),
            True,
            "persons in COA reception at the end of the period's last day, by location type "
            "(COA definition: nareizigers and repeat applicants excluded)",
        ),
        Projection(
            "residents",
            "coa_residents",
            "persons",
            ("location_type", "location_id", "resident_status"),
            True,
            "persons in COA reception at the end of the period's last day by location type, "
            "location and resident status (IN_PROCEDURE, STATUS_HOLDER, REJECTED, OTHER); "
            "status holders in reception are those awaiting housing",
        ),
        Projection(
            "capacity",
            "coa_occupancy_capacity",
            "persons",
            ("location_type", "location_id"),
            True,
            "COA occupancy against capacity at the end of the period's last day: persons, "
            "places at open locations (published as they are) and the occupancy rate in percent "
            "(of the published persons)",
            public=("places",),
            ratios=(Ratio("occupancy_rate", "persons", "places", factor=100.0),),
        ),
        Projection(
            "relocations",
            "coa_relocations",
            "relocations",
            (),
            False,
            "relocations of COA residents per year, per resident-year (relocations ÷ the "
            "year's average number of residents, annualised for part of a year), and the same "
            "for children",
            PERIODIC,
            ("year",),
            counts=("resident_days", "child_relocations", "child_resident_days"),
            # One row a year and no dimensions: nothing to difference but the years.
            keyed=False,
            ratios=(
                Ratio(
                    "relocations_per_resident_year",
                    "relocations",
                    "resident_days",
                    per_year=True,
                    digits=2,
                ),
                Ratio(
                    "child_relocations_per_resident_year",
                    "child_relocations",
                    "child_resident_days",
                    per_year=True,
                    digits=2,
                ),
            ),
        ),
        Projection(
            "backlog",
            "decision_backlog",
            "pending",
            (),
            True,
            "asylum cases pending at the IND (first application lodged, no decision yet)",
        ),
        Projection(
            "backlog_late",
            "decision_backlog",
            "pending_beyond_legal_period",
            (),
            True,
            "pending cases lodged more than six months ago (the legal decision period)",
        ),
        Projection(
            "lifecycle",
            "lifecycle",
            "subjects",
            ("lifecycle", "state"),
            True,
            "cases, receptions, family reunifications, protection and guardianships per state "
            "at the end of the period (all cases, MVV holders included); always split by "
            "lifecycle (default: lifecycle and state)",
            always_by=("lifecycle",),
            default_by=("lifecycle", "state"),
        ),
        Projection(
            "anomalies",
            "anomalies",
            "anomalies",
            ("kind",),
            False,
            "facts that did not fit the lifecycle, by kind (docs/lifecycle.md)",
        ),
        Projection(
            "goo",
            "goo_occupancy",
            "persons",
            (),
            True,
            "persons in municipal shelter for displaced persons from Ukraine (GOO)",
        ),
        # The EU Migration Pact (docs/projections.md, "The EU Migration Pact").
        Projection(
            "screenings",
            "pact_screenings",
            "started",
            ("location", "referral"),
            False,
            "screenings (Screening Regulation 2024/1356) started, by location and the referral "
            "they ended with (NOT_COMPLETED while running); completed, and of those within 7 "
            "days (art. 8(3)), in the period they were completed; the share within 7 days in "
            "percent",
            counts=("completed", "within_7_days"),
            ratios=(Ratio("within_7_days_percent", "within_7_days", "completed", factor=100.0),),
        ),
        Projection(
            "screening_durations",
            "pact_screening_durations",
            "completed",
            ("location", "referral"),
            False,
            "hours from a screening's start to its completion: mean and median per period, of "
            "the screenings completed in it",
            ROLLUP,
            statistics=("mean_duration_hours", "median_duration_hours"),
        ),
        Projection(
            "border_procedures",
            "pact_border_procedures",
            "started",
            ("outcome",),
            False,
            "asylum border procedures (APR 2024/1348 art. 43-54): started; decided within the "
            "maximum (by outcome), maximum reached (moved to the regular procedure), ended "
            "otherwise, in the period they ended; still open with the maximum passed, in the "
            "period the maximum passed (outcome NONE on all counts but decided)",
            counts=("decided", "maximum_reached", "ended_otherwise", "open_past_maximum"),
        ),
        Projection(
            "border_returns",
            "pact_border_returns",
            "departures",
            ("kind",),
            False,
            "departures from the return border procedure (Regulation 2024/1349), by kind",
        ),
        Projection(
            "eurodac_hits",
            "pact_eurodac_hits",
            "hits",
            ("category", "member_state"),
            False,
            "Eurodac hits (Regulation 2024/1358) by category and the member state they point to",
        ),
        Projection(
            "ammr",
            "pact_ammr",
            "requested",
            ("direction", "kind", "member_state"),
            False,
            "AMMR (2024/1351) take-charge requests and take-back notifications, OUT of and IN "
            "to the Netherlands: requested, accepted, refused, transferred and transferred "
            "within the time limit (art. 46), each in the period it happened; accepted and "
            "still not transferred after the time limit, in the period it passed; always split "
            "by direction",
            counts=(
                "accepted",
                "refused",
                "transferred",
                "transferred_within_time_limit",
                "open_past_time_limit",
            ),
            always_by=("direction",),
        ),
        Projection(
            "solidarity",
            "pact_solidarity",
            "decided",
            ("direction", "relocation_group", "pledge_year", "member_state"),
            False,
            "solidarity relocations (AMMR art. 67-68) INTO_NETHERLANDS and OUT_OF_NETHERLANDS: "
            "decided and transferred, each in the period it happened, by applicant group and "
            "the pledge year they count against; always split by direction",
            counts=("transferred",),
            always_by=("direction",),
        ),
    )
}


class QueryError(ValueError):
    pass


def plan(
    projection: str,
    period: str,
    by: list[str],
    start: date | None,
    end: date | None,
    *,
    views: str = ANALYST,
    keys: bool = False,
) -> tuple[list[str], sql.Composed, dict[str, Any]]:
    """Column names (period, the asked dimensions, the count), the query and its parameters.
    `views`: the schema of the views (projections.as_known_at builds other moments' views).
    `keys`: each row also ends with the counts' record-key sums (not among the columns)."""
    p = CATALOGUE.get(projection)
    if p is None:
        raise QueryError(f"unknown projection {projection!r}; choose from {', '.join(CATALOGUE)}")
    if period not in PERIODS:
        raise QueryError(f"unknown period {period!r}; choose from {', '.join(PERIODS)}")
    unknown = [d for d in by if d not in p.dimensions]
    if unknown:
        raise QueryError(
            f"{projection} has no dimension {', '.join(unknown)}; "
            f"it has {', '.join(p.dimensions) or 'none'}"
        )
    if period not in p.periods:
        raise QueryError(f"{projection} is per {', '.join(p.periods)}, not per {period}")
    by = p.split(by)
    params = {"period": period, "start": start or date(1900, 1, 1), "end": end or date(9999, 1, 1)}
    dims = [sql.Identifier(d) for d in by]
    view = sql.Identifier(views, p.view)
    key_sums = p.keys if keys else ()
    sums = sql.SQL(", ").join(
        [
            *(sql.SQL("sum({})::bigint").format(sql.Identifier(c)) for c in p.sums),
            *(sql.SQL("sum({})::numeric").format(sql.Identifier(c)) for c in key_sums),
        ]
    )
    select_dims = sql.SQL("").join(sql.SQL(", {}").format(d) for d in dims)
    group = sql.SQL(", ").join([sql.SQL("1"), *dims])
    # The whole periods overlapping start..end.
    periodic = sql.SQL(
        "period_type = %(period)s AND period BETWEEN"
        " date_trunc(%(period)s, %(start)s::timestamp)::date AND %(end)s"
    )
    if p.layout == PERIODIC:
        query = sql.SQL(
            "SELECT period{dims}, {sums} FROM {view} WHERE {where}"
            " GROUP BY {group} ORDER BY {group}"
        ).format(dims=select_dims, sums=sums, view=view, where=periodic, group=group)
    elif p.layout == ROLLUP:
        rolled = [
            sql.SQL(" AND {} IS {}NULL").format(
                sql.Identifier(d), sql.SQL("NOT ") if d in by else sql.SQL("")
            )
            for d in p.dimensions
        ]
        values = sql.SQL(", ").join(
            sql.Identifier(c) for c in (p.measure, *p.statistics, *key_sums)
        )
        query = sql.SQL(
            "SELECT period{dims}, {values} FROM {view} WHERE {where}{rolled} ORDER BY {group}"
        ).format(
            dims=select_dims,
            values=values,
            view=view,
            where=periodic,
            rolled=sql.SQL("").join(rolled),
            group=group,
        )
    elif not p.stock:
        query = sql.SQL(
            "SELECT date_trunc(%(period)s, day)::date AS period{dims}, {sums}"
            " FROM {view} WHERE day BETWEEN %(start)s AND %(end)s"
            " GROUP BY {group} ORDER BY {group}"
        ).format(dims=select_dims, sums=sums, view=view, group=group)
    else:
        # views.sql's <view>_ends: the rows on each period's last day, from the level at start
        # (the view itself expands every day since the first change).
        query = sql.SQL(
            "SELECT date_trunc(%(period)s, day)::date AS period{dims}, {sums}"
            " FROM {ends}(%(period)s, %(start)s, %(end)s)"
            " GROUP BY {group} ORDER BY {group}"
        ).format(
            dims=select_dims,
            sums=sums,
            ends=sql.Identifier(views, f"{p.view}_ends"),
            group=group,
        )
    return ["period", *by, *p.sums, *p.statistics], query, params


def publishable(
    projection: str, columns: list[str], rows: list[tuple[Any, ...]], disclosure: Disclosure
) -> list[tuple[Any, ...]]:
    """The rows of `run(..., keys=True)` with disclosure control, without the key sums: counts
    perturbed by their cell key, suppressed or rounded; statistics withheld where their count is
    too small; public figures as they are; ratios again from the published values. A row whose
    counts are all suppressed and which has no public figure is left out: its presence alone
    would tell that it counts someone."""
    p = CATALOGUE[projection]
    first = columns.index(p.measure)
    counts = 1 + len(p.counts)
    public = first + counts + len(p.public)
    end = public + len(p.statistics)
    shown = []
    for r in rows:
        keys = r[len(columns) :]
        if p.keyed and len(keys) != counts:
            raise ValueError(f"{projection}: publishable needs the rows of run(..., keys=True)")
        keys = keys or tuple(_label(projection, c, r[1:first]) for c in p.sums[:counts])
        values = r[first : first + counts]
        published = [disclosure(int(v), _cell_key(k)) for v, k in zip(values, keys, strict=True)]
        if all(v is None for v in published) and not any(r[first + counts : public]):
            continue
        row = (
            *r[:first],
            *published,
            *r[first + counts : public],
            *(disclosure.statistic(v, int(values[0]), _cell_key(keys[0])) for v in r[public:end]),
        )
        shown.append(_with_ratios(p, columns[:end], row))
    return shown


def _cell_key(key: Any) -> int | str:
    return key if isinstance(key, str) else int(key or 0)


def _label(projection: str, column: str, dimensions: tuple[Any, ...]) -> str:
    """The cell key of a figure no view keys by record: what it counts, not when, so the same
    figure asked over other dates keeps its noise as long as its count stays the same."""
    return ":".join(map(str, (projection, column, *dimensions)))


def _with_ratios(p: Projection, columns: list[str], row: tuple[Any, ...]) -> tuple[Any, ...]:
    if not p.ratios:
        return row
    values = dict(zip(columns, row, strict=True))
    return (*row, *(ratio.of(values, row[0]) for ratio in p.ratios))


def run(
    conn: psycopg.Connection,
    projection: str,
    *,
    period: str = "month",
    by: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    views: str = ANALYST,
    keys: bool = False,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows: period, the asked dimensions, then the raw counts (and the
    figures computed from them); with `keys`, each row ends with its counts' record-key sums
    (for `publishable`)."""
    columns, query, params = plan(projection, period, by or [], start, end, views=views, keys=keys)
    return _result(projection, columns, conn.execute(query, params).fetchall())


def _result(projection: str, columns: list[str], rows: list[Any]) -> tuple[list[str], list[Any]]:
    p = CATALOGUE[projection]
    names = [*columns, *(r.name for r in p.ratios)]
    width = len(columns)
    return names, [(*_with_ratios(p, columns, tuple(r[:width])), *r[width:]) for r in rows]


async def run_async(
    conn: psycopg.AsyncConnection[Any],
    projection: str,
    *,
    period: str = "month",
    by: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    views: str = ANALYST,
    keys: bool = False,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """`run` for the HTTP API's async connection."""
    columns, query, params = plan(projection, period, by or [], start, end, views=views, keys=keys)
    cur = await conn.execute(query, params)
    return _result(projection, columns, await cur.fetchall())


HOUSING_COLUMNS = ["municipality_code", "task_period", "task", "linked", "housed", "backlog"]


def publishable_housing(
    rows: list[tuple[Any, ...]], disclosure: Disclosure
) -> list[tuple[Any, ...]]:
    """Housing rows with disclosure control: linked and housed published as counts, the
    backlog derived from the published task and housed (so task = housed + backlog, and the
    backlog never exceeds the task)."""
    shown = []
    for municipality, period, task, linked, housed, _ in rows:
        published = disclosure(int(housed), _label("housing", "housed", (municipality, period)))
        shown.append(
            (
                municipality,
                period,
                task,
                disclosure(int(linked), _label("housing", "linked", (municipality, period))),
                published,
                disclosure.left_of(int(task), published),
            )
        )
    return shown


def _housing_sql(views: str) -> sql.Composed:
    return sql.SQL(
        "SELECT municipality_code, task_period, task, linked, housed, backlog FROM {}"
        " WHERE %(period)s::text IS NULL OR task_period = %(period)s ORDER BY task_period,"
        " municipality_code"
    ).format(sql.Identifier(views, "housing"))


def housing(
    conn: psycopg.Connection, task_period: str | None = None, views: str = ANALYST
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Per municipality and task period (e.g. 2026-I): task, linked, housed, backlog."""
    rows = conn.execute(_housing_sql(views), {"period": task_period}).fetchall()
    return HOUSING_COLUMNS, [tuple(r) for r in rows]


async def housing_async(
    conn: psycopg.AsyncConnection[Any], task_period: str | None = None, views: str = ANALYST
) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = await conn.execute(_housing_sql(views), {"period": task_period})
    return HOUSING_COLUMNS, [tuple(r) for r in await cur.fetchall()]


def _data_until_sql(views: str) -> sql.Composed:
    return sql.SQL("SELECT day FROM {}").format(sql.Identifier(views, "data_until"))


def data_until(conn: psycopg.Connection, views: str = ANALYST) -> date | None:
    """The last day the log holds data for (no view has a later day); None when it is empty."""
    row = conn.execute(_data_until_sql(views)).fetchone()
    return row[0] if row else None


async def data_until_async(conn: psycopg.AsyncConnection[Any], views: str = ANALYST) -> date | None:
    cur = await conn.execute(_data_until_sql(views))
    row = await cur.fetchone()
    return row[0] if row else None
