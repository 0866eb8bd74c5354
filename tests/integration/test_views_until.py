"""The analyst views against a real PostgreSQL, on rows written straight into the projection
tables (the shapes the fold writes): no view has a day after today or, for a stock, after the
log's last valid time (analyst.data_until) — a child's stay that ends on an 18th birthday years
ahead counts up to that day only — and the API says up to which day the log holds data.
Demonstrable departures include Dublin transfers (DT&V)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import psycopg
import pytest

from projections.db import ANALYST, connect, migrate
from tests.integration.serving import get, serving

# Every analyst view with a day, and the column it is in.
DAILY_VIEWS = (
    "inflow",
    "decisions",
    "departures",
    "coa_occupancy",
    "coa_residents",
    "coa_capacity",
    "coa_occupancy_capacity",
    "goo_occupancy",
    "decision_backlog",
    "lifecycle",
    "anomalies",
)
STOCKS = (
    "coa_occupancy",
    "coa_residents",
    "coa_capacity",
    "coa_occupancy_capacity",
    "goo_occupancy",
    "decision_backlog",
    "lifecycle",
)
PERSON = "ab" * 32
CHILD = "cd" * 32


def _today(conn: psycopg.Connection) -> date:
    row = conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()
    assert row is not None
    today: date = row[0]
    return today


def _event(conn: psycopg.Connection, person: str, day: date) -> None:
    conn.execute(
        "INSERT INTO timeline_events (event_id, person_key, event_type, producer, occurred_at,"
        " recorded_at, source_topic, source_partition, source_offset, fact, logged_at)"
        " VALUES (%s, %s, 'X', 'COA', %s, now(), 'keten.timeline', 0, 0, '{}', now())",
        (uuid.uuid4(), person, f"{day.isoformat()}T12:00:00Z"),
    )


def fill(conn: psycopg.Connection, last: date) -> None:
    """A log whose latest event is on `last`, with a child whose stay ends on an 18th birthday
    ten years on, open stays, a pending case, open capacity and one departure of each kind."""
    birthday = date(last.year + 10, 6, 1)
    _event(conn, PERSON, last - timedelta(days=40))
    _event(conn, CHILD, last)
    stays = [
        (PERSON, 0, last - timedelta(days=50), None, "AZC", "AZC-1", "IN_PROCEDURE", False),
        (CHILD, 0, last - timedelta(days=400), birthday, "AZC", "AZC-1", "IN_PROCEDURE", True),
        (CHILD, 1, birthday, None, "AZC", "AZC-1", "IN_PROCEDURE", False),
    ]
    for row in stays:
        conn.execute(
            "INSERT INTO coa_stays (person_key, seq, from_day, to_day, location_type,"
            " location_id, resident_status, minor) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            row,
        )
    conn.execute(
        "INSERT INTO goo_stays (person_key, seq, from_day, to_day, location_type)"
        " VALUES (%s, 0, %s, NULL, 'GOO')",
        (PERSON, last - timedelta(days=30)),
    )
    conn.execute(
        "INSERT INTO location_capacity VALUES ('location:AZC-1', 0, %s, NULL, 'AZC-1', 'AZC', 50)",
        (last - timedelta(days=500),),
    )
    conn.execute(
        "INSERT INTO relocation_items VALUES (%s, %s, %s, true, 'AZC')",
        (CHILD, uuid.uuid4(), last - timedelta(days=10)),
    )
    conn.execute(
        "INSERT INTO case_items VALUES (%s, 'ZK1', %s, NULL)", (PERSON, last - timedelta(days=60))
    )
    conn.execute(
        "INSERT INTO state_changes VALUES (%s, 0, %s, %s, 'case', 'ZK1', NULL, 'IN_GENERAL')",
        (PERSON, uuid.uuid4(), f"{(last - timedelta(days=55)).isoformat()}T00:00:00Z"),
    )
    for kind in ("INDEPENDENT", "FORCED", "DUBLIN_TRANSFER", "UNSUPERVISED"):
        conn.execute(
            "INSERT INTO departure_items VALUES (%s, %s, %s, %s, NULL)",
            (PERSON, uuid.uuid4(), last - timedelta(days=5), kind),
        )


@pytest.fixture
def log_a_month_ago(fresh_db: str) -> Iterator[tuple[str, date]]:
    with connect(fresh_db) as conn:
        migrate(conn)
        last = _today(conn) - timedelta(days=30)
        fill(conn, last)
        conn.commit()
    yield fresh_db, last


def last_days(conn: psycopg.Connection) -> dict[str, date | None]:
    return {
        view: conn.execute(f"SELECT max(day) FROM {ANALYST}.{view}").fetchone()[0]  # type: ignore[index]
        for view in DAILY_VIEWS
    }


def test_stocks_end_at_the_logs_last_valid_time_and_no_year_lies_ahead(
    log_a_month_ago: tuple[str, date],
) -> None:
    dsn, last = log_a_month_ago
    with connect(dsn) as conn:
        assert conn.execute(f"SELECT day FROM {ANALYST}.data_until").fetchone() == (last,)
        ends = last_days(conn)
        assert {v: ends[v] for v in STOCKS} == dict.fromkeys(STOCKS, last)
        assert all(d is None or d <= last for d in ends.values()), ends
        years = conn.execute(
            f"SELECT period, resident_days, child_resident_days, relocations"
            f" FROM {ANALYST}.coa_relocations ORDER BY period"
        ).fetchall()
        first = last - timedelta(days=400)
        assert [y[0].year for y in years] == list(range(first.year, last.year + 1))
        # The child counts from 400 days before the last day through it, the adult from 50:
        # no day beyond, though the child's stay runs for ten more years.
        assert sum(y[1] for y in years) == 401 + 51
        assert sum(y[2] for y in years) == 401
        assert sum(y[3] for y in years) == 1


def test_demonstrable_departures_include_dublin_transfers(
    log_a_month_ago: tuple[str, date],
) -> None:
    dsn, _ = log_a_month_ago
    with connect(dsn) as conn:
        flags: dict[str, bool] = dict(
            conn.execute(f"SELECT kind, demonstrable FROM {ANALYST}.departures").fetchall()
        )
    assert flags == {
        "INDEPENDENT": True,
        "FORCED": True,
        "DUBLIN_TRANSFER": True,
        "UNSUPERVISED": False,
    }


def test_an_event_dated_ahead_gives_no_day_after_today(fresh_db: str) -> None:
    with connect(fresh_db) as conn:
        migrate(conn)
        today = _today(conn)
        fill(conn, today + timedelta(days=20))
        conn.commit()
        assert conn.execute(f"SELECT day FROM {ANALYST}.data_until").fetchone() == (today,)
        ends = last_days(conn)
        assert {v: ends[v] for v in STOCKS} == dict.fromkeys(STOCKS, today)
        assert all(d is None or d <= today for d in ends.values()), ends
        (year,) = conn.execute(f"SELECT max(period) FROM {ANALYST}.coa_relocations").fetchone()  # type: ignore[misc]
        assert year.year == today.year


def test_the_api_says_up_to_which_day_and_answers_no_later_period(
    log_a_month_ago: tuple[str, date],
) -> None:
    dsn, last = log_a_month_ago
    with serving(
        dsn,
        KETENLOG_DISCLOSURE_MIN="1",
        KETENLOG_DISCLOSURE_ROUND="1",
        KETENLOG_DISCLOSURE_NOISE="0",
    ) as base:
        for path in ("verhuisbewegingen", "bezetting?periode=dag", "huisvesting", "vertrek"):
            status, headers, body = get(f"{base}/v1/{path}")
            assert status == 200, body
            assert headers["Gegevens-Tot-En-Met"] == last.isoformat(), path
            answer = json.loads(body)
            assert answer["gegevensTotEnMet"] == last.isoformat(), path
            periods = [
                date.fromisoformat(r["period"]) for r in answer["resultaten"] if "period" in r
            ]
            assert all(p <= last for p in periods), (path, max(periods))
        _, _, body = get(f"{base}/v1/bezetting?periode=dag")
        days = [r["period"] for r in json.loads(body)["resultaten"]]
        assert max(days) == last.isoformat()
        status, headers, _ = get(f"{base}/v1/bezetting?formaat=csv")
        assert status == 200 and headers["Gegevens-Tot-En-Met"] == last.isoformat()
        _, _, page = get(f"{base}/dashboard")
        assert f'<time datetime="{last.isoformat()}">' in page.decode()
