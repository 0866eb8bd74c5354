"""Time in the simulator: whole seconds since the epoch (UTC) on the hot path; months,
half-year housing periods, seasonality and RFC 3339 text at the edges.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

MINUTE = 60
HOUR = 3_600
DAY = 86_400
WEEK = 7 * DAY

# Second half-year ~1.5x the first (domain reference §4); Jan..Jun sum 6, Jul..Dec sum 9.
MONTH_WEIGHTS = (0.9, 0.85, 0.95, 1.0, 1.1, 1.2, 1.35, 1.5, 1.65, 1.6, 1.5, 1.4)
_WEIGHT_PER_YEAR = sum(MONTH_WEIGHTS)


def ts_of(day: date, seconds: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + seconds


def date_of(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def iso_date(ts: int) -> str:
    return date_of(ts).isoformat()


def rfc3339(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def month_key(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m")


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end_exclusive: date) -> list[date]:
    """First days of the months from start's month up to (excluding) end_exclusive's month."""
    out = []
    cursor = date(start.year, start.month, 1)
    while cursor < end_exclusive:
        out.append(cursor)
        cursor = add_months(cursor, 1)
    return out


def task_period(ts: int) -> str:
    """The half-yearly housing task period of a moment, e.g. 2026-I or 2026-II."""
    day = date_of(ts)
    return f"{day.year}-{'I' if day.month <= 6 else 'II'}"


def task_periods(start: date, end_exclusive: date) -> list[tuple[str, date]]:
    """(period, first day) for every half-year overlapping [start, end_exclusive)."""
    out = []
    cursor = date(start.year, 1 if start.month <= 6 else 7, 1)
    while cursor < end_exclusive:
        out.append((f"{cursor.year}-{'I' if cursor.month == 1 else 'II'}", cursor))
        cursor = add_months(cursor, 6)
    return out


def month_share(month_first_day: date) -> float:
    """This month's share of a year's seasonal inflow."""
    return MONTH_WEIGHTS[month_first_day.month - 1] / _WEIGHT_PER_YEAR


def month_days(month_first_day: date) -> int:
    return (add_months(month_first_day, 1) - month_first_day).days


def office_time(rng: random.Random, day_ts: int) -> int:
    """A moment during office hours (07:00-19:00 UTC) of the day starting at day_ts."""
    return day_ts + 7 * HOUR + rng.randrange(12 * HOUR)


def birthday_ts(birth_year: int, day_of_year: int, age: int) -> int:
    first = date(birth_year + age, 1, 1)
    return ts_of(first + timedelta(days=min(day_of_year, 364)), 9 * HOUR)


def add_months_clamped(day: date, months: int) -> date:
    """The same day of the month `months` later, clamped to that month's last day (AMMR's
    time limits: six calendar months from the acceptance)."""
    first = add_months(day, months)
    last = (add_months(first, 1) - timedelta(days=1)).day
    return first.replace(day=min(day.day, last))
