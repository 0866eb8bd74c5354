"""The EU Migration Pact's figures against a real PostgreSQL, on rows written straight into the
Pact tables (the shapes domain.contributions gives): each analyst view counts on the day of
its own instant and nothing after the log's last day — a screening completed or a border
procedure decided after it is still running, a border procedure open past its deadline counts
as open past the maximum —, `ketenlog query` and the `/v1` resources answer the same rows,
with disclosure control over a real socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest

from projections.db import connect, migrate
from projections.queries import CATALOGUE, run
from tests.integration.scratch_db import log_event
from tests.integration.serving import get, serving

LAST = date(2026, 9, 30)
PERSON = "ef" * 32
EXACT = {
    "KETENLOG_DISCLOSURE_MIN": "1",
    "KETENLOG_DISCLOSURE_ROUND": "1",
    "KETENLOG_DISCLOSURE_NOISE": "0",
    "KETENLOG_DISCLOSURE_STATISTIC_MIN": "1",
}

# location, started_at, completed_at, referral
SCREENINGS = [
    ("SCHIPHOL", "2026-06-13T08:00Z", "2026-06-15T08:00Z", "BORDER_PROCEDURE"),  # 48 h
    ("SCHIPHOL", "2026-06-20T00:00Z", "2026-06-28T00:00Z", "ASYLUM_PROCEDURE"),  # 8 days
    ("TER_APEL", "2026-06-30T20:00Z", "2026-07-01T02:00Z", "ASYLUM_PROCEDURE"),  # 6 h
    ("SCHIPHOL", "2026-07-01T00:00Z", "2026-07-08T00:00Z", "BORDER_PROCEDURE"),  # 7 days exactly
    ("TER_APEL", "2026-09-29T10:00Z", None, None),
    ("TER_APEL", "2026-09-30T10:00Z", "2026-10-02T10:00Z", "RETURN_PROCEDURE"),  # after LAST
]
# started_at, deadline, ended_at, result, outcome
BORDER = [
    ("2026-06-15T10:00Z", "2026-09-07T10:00Z", "2026-07-20T09:00Z", "DECIDED", "REJECTED"),
    ("2026-06-16T10:00Z", "2026-09-08T12:00Z", "2026-09-08T12:00Z", "MAXIMUM_REACHED", None),
    ("2026-06-20T10:00Z", "2026-09-12T10:00Z", None, None, None),  # open past the maximum
    ("2026-07-10T10:00Z", "2026-10-02T10:00Z", None, None, None),  # open, maximum ahead
    ("2026-07-11T10:00Z", "2026-10-03T10:00Z", "2026-08-01T10:00Z", "ENDED", None),
    # Decided after the log's last day: as of the data, open with its maximum passed.
    ("2026-08-01T10:00Z", "2026-09-20T10:00Z", "2026-10-01T10:00Z", "DECIDED", "A"),
]
# day, kind, border_return
DEPARTURES = [
    ("2026-07-05", "FORCED", True),
    ("2026-07-06", "INDEPENDENT", True),
    ("2026-07-07", "FORCED", False),
]
HITS = [("2026-06-14", "APPLICANT", "ITA")] * 7 + [("2026-06-20", "ADMITTED", "DEU")] * 2
# direction, kind, member_state, requested, answered, answer, time_limit, transferred
AMMR = [
    (
        "OUT",
        "TAKE_CHARGE",
        "ITA",
        "2026-06-15",
        "2026-07-01",
        "ACCEPTED",
        "2027-01-01",
        "2026-08-10",
    ),
    ("OUT", "TAKE_BACK", "DEU", "2026-06-20", "2026-06-22", "ACCEPTED", "2026-09-22", None),
    ("OUT", "TAKE_BACK", "DEU", "2026-06-21", "2026-06-23", "ACCEPTED", "2026-08-01", "2026-08-15"),
    ("OUT", "TAKE_CHARGE", "ITA", "2026-07-02", "2026-07-20", "REFUSED", None, None),
    ("IN", "TAKE_BACK", "BEL", "2026-07-03", None, None, None, None),
]
# direction, member_state, relocation_group, pledge_year, decided, transferred
SOLIDARITY = [
    ("OUT_OF_NETHERLANDS", "PRT", "APPLICANT", 2026, "2026-07-01", "2026-08-03"),
    ("OUT_OF_NETHERLANDS", "PRT", "APPLICANT", 2026, "2026-07-02", None),
    ("INTO_NETHERLANDS", "GRC", "BENEFICIARY", 2026, "2026-08-05", "2026-10-01"),  # after LAST
]


def fill(conn: psycopg.Connection) -> None:
    log_event(conn, PERSON, LAST)
    for location, started, completed, referral in SCREENINGS:
        conn.execute(
            "INSERT INTO screening_items VALUES (%s, %s, %s, %s, %s, %s)",
            (PERSON, uuid.uuid4(), started, completed, location, referral),
        )
    for i, (started, deadline, ended, result, outcome) in enumerate(BORDER):
        conn.execute(
            "INSERT INTO border_procedure_items VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (PERSON, uuid.uuid4(), f"ZK{i}", started, deadline, ended, result, outcome),
        )
    for day, kind, border_return in DEPARTURES:
        conn.execute(
            "INSERT INTO departure_items VALUES (%s, %s, %s, %s, NULL, %s)",
            (PERSON, uuid.uuid4(), day, kind, border_return),
        )
    for day, category, member_state in HITS:
        conn.execute(
            "INSERT INTO eurodac_hit_items VALUES (%s, %s, %s, %s, %s)",
            (PERSON, uuid.uuid4(), day, category, member_state),
        )
    for row in AMMR:
        conn.execute(
            "INSERT INTO ammr_items VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (PERSON, uuid.uuid4(), *row),
        )
    for relocation in SOLIDARITY:
        conn.execute(
            "INSERT INTO solidarity_items VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (PERSON, uuid.uuid4(), *relocation),
        )


@pytest.fixture
def pact_db(fresh_db: str) -> Iterator[str]:
    with connect(fresh_db) as conn:
        migrate(conn)
        fill(conn)
        conn.commit()
    yield fresh_db


def by_month(
    conn: psycopg.Connection, projection: str, by: list[str] | None = None
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Exact rows per month (and the dimensions split by): the key columns -> the figures."""
    columns, rows = run(conn, projection, period="month", by=by or [])
    keys = columns.index(CATALOGUE[projection].measure)
    return {
        (r[0].isoformat()[:7], *r[1:keys]): tuple(
            round(float(v), 1) if isinstance(v, float) else v for v in r[keys:]
        )
        for r in rows
    }


def test_screenings_count_each_step_on_its_day_and_none_after_the_data(pact_db: str) -> None:
    with connect(pact_db) as conn:
        # started, completed, within_7_days, within_7_days_percent
        assert by_month(conn, "screenings") == {
            ("2026-06",): (3, 2, 1, 50.0),
            ("2026-07",): (1, 2, 2, 100.0),
            # Completed after the log's last day: still not completed as of the data.
            ("2026-09",): (2, 0, 0, None),
        }
        assert by_month(conn, "screenings", ["referral"]) == {
            ("2026-06", "ASYLUM_PROCEDURE"): (2, 1, 0, 0.0),
            ("2026-06", "BORDER_PROCEDURE"): (1, 1, 1, 100.0),
            ("2026-07", "ASYLUM_PROCEDURE"): (0, 1, 1, 100.0),
            ("2026-07", "BORDER_PROCEDURE"): (1, 1, 1, 100.0),
            ("2026-09", "NOT_COMPLETED"): (2, 0, 0, None),
        }
        # completed, mean and median hours: June 48 and 192, July 6 and 168.
        assert by_month(conn, "screening_durations") == {
            ("2026-06",): (2, 120.0, 120.0),
            ("2026-07",): (2, 87.0, 87.0),
        }
        assert by_month(conn, "screening_durations", ["location"]) == {
            ("2026-06", "SCHIPHOL"): (2, 120.0, 120.0),
            ("2026-07", "SCHIPHOL"): (1, 168.0, 168.0),
            ("2026-07", "TER_APEL"): (1, 6.0, 6.0),
        }


def test_border_procedures_open_past_the_maximum_at_the_datas_end(pact_db: str) -> None:
    with connect(pact_db) as conn:
        # started, decided, maximum_reached, ended_otherwise, open_past_maximum
        assert by_month(conn, "border_procedures") == {
            ("2026-06",): (3, 0, 0, 0, 0),
            ("2026-07",): (2, 1, 0, 0, 0),
            ("2026-08",): (1, 0, 0, 1, 0),
            ("2026-09",): (0, 0, 1, 0, 2),
        }
        assert by_month(conn, "border_procedures", ["outcome"])[("2026-07", "REJECTED")] == (
            0,
            1,
            0,
            0,
            0,
        )


def test_border_returns_eurodac_hits_ammr_and_solidarity(pact_db: str) -> None:
    with connect(pact_db) as conn:
        assert by_month(conn, "border_returns", ["kind"]) == {
            ("2026-07", "FORCED"): (1,),
            ("2026-07", "INDEPENDENT"): (1,),
        }
        assert by_month(conn, "eurodac_hits", ["category", "member_state"]) == {
            ("2026-06", "ADMITTED", "DEU"): (2,),
            ("2026-06", "APPLICANT", "ITA"): (7,),
        }
        # requested, accepted, refused, transferred, within the time limit, open past it;
        # always by direction. The DEU take-back accepted in June with a time limit of 22
        # September is open past it from 23 September.
        assert by_month(conn, "ammr") == {
            ("2026-06", "OUT"): (3, 2, 0, 0, 0, 0),
            ("2026-07", "IN"): (1, 0, 0, 0, 0, 0),
            ("2026-07", "OUT"): (1, 1, 1, 0, 0, 0),
            ("2026-08", "OUT"): (0, 0, 0, 2, 1, 0),
            ("2026-09", "OUT"): (0, 0, 0, 0, 0, 1),
        }
        assert by_month(conn, "ammr", ["kind"])[("2026-08", "OUT", "TAKE_BACK")] == (
            0,
            0,
            0,
            1,
            0,
            0,
        )
        # decided, transferred; the transfer after the log's last day is not there yet.
        assert by_month(conn, "solidarity", ["relocation_group", "pledge_year"]) == {
            ("2026-07", "OUT_OF_NETHERLANDS", "APPLICANT", 2026): (2, 0),
            ("2026-08", "INTO_NETHERLANDS", "BENEFICIARY", 2026): (1, 0),
            ("2026-08", "OUT_OF_NETHERLANDS", "APPLICANT", 2026): (0, 1),
        }


def _cli(dsn: str, *args: str, **settings: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "ketenlog.cli", "query", *args, "--format", "json"],
        env={**os.environ, "KETENLOG_DATABASE_URL": dsn, **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_ketenlog_query_answers_the_pact_figures_with_disclosure_control(pact_db: str) -> None:
    hits = _cli(pact_db, "eurodac_hits", "--by", "month,category")
    # 7 is 5 to 9 with the noise, so 5 or 10; 2 is at most 4, suppressed, and a row of
    # suppressed counts only is left out.
    assert [r["category"] for r in hits] == ["APPLICANT"]
    assert hits[0]["hits"] in (5, 10)
    exact = _cli(pact_db, "border_procedures", "--by", "month", **EXACT)
    assert exact[-1] == {
        "period": "2026-09-01",
        "started": 0,
        "decided": 0,
        "maximum_reached": 1,
        "ended_otherwise": 0,
        "open_past_maximum": 2,
    }
    # As known before the person's only event was recorded, none of their rows exists yet:
    # the views build over that moment's tables too.
    for projection in ("screenings", "border_procedures", "ammr", "solidarity"):
        assert _cli(pact_db, projection, "--as-known-at", "2026-01-01", **EXACT) == []
    # A median of fewer than ten screenings is withheld (their count at most 6 with the noise).
    durations = _cli(pact_db, "screening_durations", "--by", "month")
    assert all(
        r["completed"] in (None, 5) and r["median_duration_hours"] is None for r in durations
    )


RESOURCES = {
    "screenings?indeling=location": [
        {
            "period": "2026-06-01",
            "location": "SCHIPHOL",
            "started": 2,
            "completed": 2,
            "within_7_days": 1,
            "within_7_days_percent": 50.0,
        },
        {
            "period": "2026-06-01",
            "location": "TER_APEL",
            "started": 1,
            "completed": 0,
            "within_7_days": 0,
            "within_7_days_percent": None,
        },
        {
            "period": "2026-07-01",
            "location": "SCHIPHOL",
            "started": 1,
            "completed": 1,
            "within_7_days": 1,
            "within_7_days_percent": 100.0,
        },
        {
            "period": "2026-07-01",
            "location": "TER_APEL",
            "started": 0,
            "completed": 1,
            "within_7_days": 1,
            "within_7_days_percent": 100.0,
        },
        {
            "period": "2026-09-01",
            "location": "TER_APEL",
            "started": 2,
            "completed": 0,
            "within_7_days": 0,
            "within_7_days_percent": None,
        },
    ],
    "doorlooptijden-screening?periode=jaar": [
        {
            "period": "2026-01-01",
            "completed": 4,
            "mean_duration_hours": 104,  # 103.5 to whole hours, half up
            "median_duration_hours": 108,
        },
    ],
    "grensprocedures?periode=jaar": [
        {
            "period": "2026-01-01",
            "started": 6,
            "decided": 1,
            "maximum_reached": 1,
            "ended_otherwise": 1,
            "open_past_maximum": 2,
        },
    ],
    "vertrek-terugkeergrensprocedure?periode=jaar": [
        {"period": "2026-01-01", "departures": 2},
    ],
    "eurodac-treffers?periode=jaar&indeling=member_state": [
        {"period": "2026-01-01", "member_state": "DEU", "hits": 2},
        {"period": "2026-01-01", "member_state": "ITA", "hits": 7},
    ],
    "overdrachten?periode=jaar": [
        {
            "period": "2026-01-01",
            "direction": "IN",
            "requested": 1,
            "accepted": 0,
            "refused": 0,
            "transferred": 0,
            "transferred_within_time_limit": 0,
            "open_past_time_limit": 0,
        },
        {
            "period": "2026-01-01",
            "direction": "OUT",
            "requested": 4,
            "accepted": 3,
            "refused": 1,
            "transferred": 2,
            "transferred_within_time_limit": 1,
            "open_past_time_limit": 1,
        },
    ],
    "herplaatsingen?periode=jaar&indeling=pledge_year": [
        {
            "period": "2026-01-01",
            "direction": "INTO_NETHERLANDS",
            "pledge_year": 2026,
            "decided": 1,
            "transferred": 0,
        },
        {
            "period": "2026-01-01",
            "direction": "OUT_OF_NETHERLANDS",
            "pledge_year": 2026,
            "decided": 2,
            "transferred": 1,
        },
    ],
}


def test_each_pact_resource_answers_the_rows_over_a_socket(pact_db: str) -> None:
    with serving(pact_db, **EXACT) as base:
        for path, rows in RESOURCES.items():
            status, headers, body = get(f"{base}/v1/{path}")
            assert status == 200, (path, body)
            assert headers["Gegevens-Tot-En-Met"] == LAST.isoformat()
            assert json.loads(body)["resultaten"] == rows, path
        status, _, body = get(f"{base}/v1/overdrachten?indeling=nationality")
        assert status == 400
        assert [p["name"] for p in json.loads(body)["invalidParams"]] == ["indeling"]


def test_the_resources_suppress_small_counts_and_withhold_their_statistics(pact_db: str) -> None:
    with serving(pact_db) as base:
        # DEU's 2 hits are at most 4 with the noise: suppressed, and the row left out; ITA's
        # 7 are 5 to 9, published 5 or 10.
        _, _, body = get(f"{base}/v1/eurodac-treffers?periode=jaar&indeling=member_state")
        (ita,) = json.loads(body)["resultaten"]
        assert ita["member_state"] == "ITA" and ita["hits"] in (5, 10)
        # 4 screenings completed: 2 to 6, so suppressed (the row left out) or 5; their mean and
        # median withheld either way (fewer than ten).
        _, _, body = get(f"{base}/v1/doorlooptijden-screening?periode=jaar")
        for row in json.loads(body)["resultaten"]:
            assert row["completed"] == 5
            assert row["mean_duration_hours"] is None and row["median_duration_hours"] is None
        # 6 started is 4 to 8, 4 completed 2 to 6, 3 within 1 to 5: each 5 or suppressed, a
        # row of suppressed counts only left out; the share from the published values.
        _, _, body = get(f"{base}/v1/screenings?periode=jaar")
        rows = json.loads(body)["resultaten"]
        assert len(rows) <= 1
        for row in rows:
            counts = [row["started"], row["completed"], row["within_7_days"]]
            assert set(counts) <= {None, 5} and set(counts) != {None}
            both = row["completed"] is not None and row["within_7_days"] is not None
            assert row["within_7_days_percent"] == (100.0 if both else None)
        # Zero is suppressed like any small count (a 0 would tell the others are at least 1).
        status, _, body = get(f"{base}/v1/herplaatsingen?formaat=csv&periode=jaar")
        assert status == 200
        assert body.decode().splitlines() == ["period,direction,decided,transferred"]
