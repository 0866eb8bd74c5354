"""The differencing attack of issue 14 against the real API (tests/unit/differencing.py):
applications written into a scratch database, every split by nationality and sex over every
day-aligned van..tot range asked of `ketenlog serve` (periode=jaar, so one figure per range),
and the attacker's interval reasoning over what came back. The same figures under the old rule
(computed from the exact ones) give cells away; the API's give none. `ketenlog query` answers
the same figure as the API (one method, one key)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path

import pytest

from projections.db import connect, migrate
from projections.disclosure import Disclosure
from tests.integration.scratch_db import log_event
from tests.integration.serving import get, serving
from tests.unit.differencing import Cell, Rounding, attack, cells, recovered

FIRST = date(2026, 3, 2)
DAYS = 10
DIMENSIONS = (("SYR", "ERI", "TUR"), ("F", "M"))
NAMES = ("nationality", "sex")
RATES = {"SYR": 2.0, "ERI": 0.8, "TUR": 0.3}  # applications per day, of either sex
PERSON = "ab" * 32


def applications() -> list[tuple[int, str, str]]:
    rng = random.Random(14)
    return [
        (day, nationality, sex)
        for day in range(DAYS)
        for nationality, rate in RATES.items()
        for sex in DIMENSIONS[1]
        for _ in range(sum(rng.random() < rate / 8 for _ in range(4)))
    ]


@pytest.fixture
def inflow_db(fresh_db: str) -> str:
    with connect(fresh_db) as conn:
        migrate(conn)
        log_event(conn, PERSON, FIRST + timedelta(days=DAYS))
        for day, nationality, sex in applications():
            conn.execute(
                "INSERT INTO inflow_items (person_key, event_id, day, kind, unaccompanied_minor,"
                " nationality, age_band, sex) VALUES (%s, %s, %s, 'FIRST', false, %s, '18-34', %s)",
                (PERSON, uuid.uuid4(), FIRST + timedelta(days=day), nationality, sex),
            )
    return fresh_db


def test_the_api_gives_no_cell_away_to_differencing_and_boundary_walking(
    inflow_db: str, tmp_path: Path
) -> None:
    truth: dict[Cell, int] = dict.fromkeys(cells(DAYS, DIMENSIONS), 0)
    for day, nationality, sex in applications():
        for cell in truth:
            first, last, (n, s) = cell
            if first <= day <= last and n in (None, nationality) and s in (None, sex):
                truth[cell] += 1
    key = {"KETENLOG_DISCLOSURE_KEY_FILE": str(tmp_path / "disclosure.key")}
    published: dict[Cell, int | None] = dict.fromkeys(truth)
    with serving(inflow_db, **key) as base:
        for first in range(DAYS):
            for last in range(first, DAYS):
                van, tot = FIRST + timedelta(days=first), FIRST + timedelta(days=last)
                for k in range(len(NAMES) + 1):
                    for split in combinations(range(len(NAMES)), k):
                        by = ",".join(NAMES[i] for i in split)
                        status, _, body = get(
                            f"{base}/v1/instroom?periode=jaar&van={van}&tot={tot}"
                            + (f"&indeling={by}" if by else "")
                        )
                        assert status == 200, body
                        for row in json.loads(body)["resultaten"]:
                            values = tuple(
                                row[NAMES[i]] if i in split else None for i in range(len(NAMES))
                            )
                            published[(first, last, values)] = row["applications"]
    rule = Disclosure()  # the public parameters the server runs with (the defaults)
    most = len(applications())
    assert recovered(attack(published, rule, DAYS, DIMENSIONS, most), truth) == (
        0,
        sum(1 for n in truth.values() if n),
    )
    old = {cell: Rounding()(n, 0) for cell, n in truth.items()}
    found, of = recovered(attack(old, Rounding(), DAYS, DIMENSIONS, most), truth)
    assert found > of // 2, (found, of)

    # `ketenlog query` publishes what the API does.
    asked = ["inflow", "--by", "year,nationality", "--from", str(FIRST)]
    asked += ["--to", str(FIRST + timedelta(days=DAYS - 1)), "--format", "json"]
    done = subprocess.run(
        [sys.executable, "-m", "ketenlog.cli", "query", *asked],
        env={**os.environ, "KETENLOG_DATABASE_URL": inflow_db, **key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    cli = {r["nationality"]: r["applications"] for r in json.loads(done.stdout)}
    api = {
        values[0]: value
        for (first, last, values), value in published.items()
        if (first, last) == (0, DAYS - 1) and values[0] is not None and values[1] is None
    }
    assert cli == {n: v for n, v in api.items() if v is not None}
