"""The timeline processor against a real broker and PostgreSQL: poison records reach the
dead-letter topic with their reason while good ones flow on; a simulated period processed with
--until-idle reproduces the simulator's lifecycle ground truth; a SIGKILL mid-run changes nothing.

Each run gets a fresh database and its own consumer group, so it reads every agency topic from
the beginning (including what other tests published) and is compared only on its own persons.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from kafka import KafkaProducer

from domain.lifecycle import PersonState
from domain.lifecycle import counts as c
from producers.prepare import Preparer
from producers.publisher import Publisher
from producers.submission import Submission
from projections import queries
from schemas.codec import MAGIC, decode
from schemas.topics import DEADLETTER, event_topic, event_topics
from tests.conftest import RunningServices
from tests.integration.kafka_tools import end_offsets, read_from, signed
from tests.integration.pipeline import (
    Output,
    Published,
    half_up,
    process,
    states,
    until_idle,
)
from tests.integration.scratch_db import scratch_database

pytestmark = pytest.mark.integration


def first_of_next_month(month: str) -> datetime:
    year, mon = map(int, month.split("-"))
    return datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC)


def test_processed_lifecycle_equals_the_simulators_ground_truth(
    published: Published, processed_db: str
) -> None:
    fresh_db = processed_db
    stored = states(fresh_db, published.person_keys)
    persons = [PersonState.from_json(text) for text in stored.values()]
    assert len(persons) == len(published.person_keys)
    for month, expected in published.truth["lifecycle"].items():
        assert c.case_state_counts(persons, first_of_next_month(month)) == expected, month
    with psycopg.connect(fresh_db) as conn:
        assert_projection_rows_equal_truth(conn, sorted(published.person_keys), published.truth)
        assert_occupancy_rows_equal_truth(
            conn, sorted(published.person_keys), sorted(published.locations), published.truth
        )
        assert_views_sum_the_rows(conn)
        assert_new_views_sum_the_rows(conn)
        assert_occupancy_views_sum_the_rows(conn)
        _, raw = queries.run(conn, "inflow", period="month", by=["kind"])
    shown = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ketenlog.cli",
                "query",
                "inflow",
                "--by",
                "month,kind",
                "--format",
                "json",
            ],
            env={**os.environ, "KETENLOG_DATABASE_URL": fresh_db},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    # What an analyst sees (the cell key method, docs/projections.md): a noise of at most 2,
    # then below 5 suppressed (the row left out) and the rest rounded to 5; so every figure
    # shown is a multiple of 5 within 4 of its count, and a count of 7 or more is always shown.
    figures = {(r["period"], r["kind"]): r["applications"] for r in shown}
    counts = {(p.isoformat(), k): n for p, k, n in raw}
    assert figures and set(figures) <= set(counts), figures
    for cell, n in counts.items():
        value = figures.get(cell)
        if n >= 7:
            assert value is not None, (cell, n)
        if value is not None:
            assert value % 5 == 0 and abs(value - n) <= 4, (cell, n, value)


def by_month(conn: psycopg.Connection, sql: str, keys: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for month, kind, n in conn.execute(sql, (keys,)):
        out.setdefault(month, {})[kind] = n
    return out


def assert_projection_rows_equal_truth(
    conn: psycopg.Connection, keys: list[str], truth: dict[str, dict[str, Any]]
) -> None:
    """The rows the processor stored for these persons give the simulator's figures."""
    month = "to_char(day, 'YYYY-MM')"
    inflow = by_month(
        conn,
        f"SELECT {month}, kind, count(*) FROM inflow_items WHERE person_key = ANY(%s)"
        " GROUP BY 1, 2",
        keys,
    )
    for m, want in truth["inflow"].items():
        assert {k: inflow.get(m, {}).get(k, 0) for k in want} == want, m
    attributes: dict[str, dict[str, Any]] = {m: {} for m in truth["inflow_attributes"]}
    for m, kind, nationality, band, sex, n in conn.execute(
        f"SELECT {month}, kind, nationality, age_band, sex, count(*)::int FROM inflow_items"
        " WHERE person_key = ANY(%s) GROUP BY 1, 2, 3, 4, 5",
        (keys,),
    ):
        if m in attributes:
            attributes[m].setdefault(kind, {}).setdefault(nationality, {}).setdefault(band, {})
            attributes[m][kind][nationality][band][sex] = n
    assert attributes == truth["inflow_attributes"]
    applications = conn.execute(
        "SELECT person_key, day FROM inflow_items WHERE person_key = ANY(%s)"
        " AND kind IN ('FIRST', 'REPEAT')",
        (keys,),
    ).fetchall()
    zero = {"FIRST_TIME": 0, "SUBSEQUENT": 0}
    for cut, want in (
        (lambda d: f"{d:%Y-%m}", truth["eurostat_applicants"]["month"]),
        (lambda d: f"{d:%Y}", truth["eurostat_applicants"]["year"]),
    ):
        persons = eurostat_persons(applications, cut)
        assert {p: {k: persons.get(p, Counter())[k] for k in zero} for p in want} == want
    departures = by_month(
        conn,
        f"SELECT {month}, kind, count(*) FROM departure_items WHERE person_key = ANY(%s)"
        " GROUP BY 1, 2",
        keys,
    )
    for m, want in truth["departures"].items():
        assert {k: departures.get(m, {}).get(k, 0) for k in want} == want, m
    decisions = by_month(
        conn,
        f"SELECT {month}, track || '/' || outcome, count(*) FROM decision_items"
        " WHERE person_key = ANY(%s) GROUP BY 1, 2",
        keys,
    )
    for m, want in truth["decisions"].items():
        got = {
            t: {o: decisions.get(m, {}).get(f"{t}/{o}", 0) for o in row} for t, row in want.items()
        }
        assert got == want, m
    for day, want in truth["coa_occupancy"].items():
        rows = conn.execute(
            "SELECT location_type, count(*) FROM coa_stays WHERE person_key = ANY(%s)"
            " AND from_day <= %s AND (to_day IS NULL OR %s < to_day) GROUP BY 1",
            (keys, day, day),
        ).fetchall()
        occupancy = dict(sorted((str(t), int(n)) for t, n in rows))
        assert {**occupancy, "total": sum(occupancy.values())} == want, day


def assert_occupancy_rows_equal_truth(
    conn: psycopg.Connection, keys: list[str], locations: list[str], truth: dict[str, Any]
) -> None:
    """Residents by location type and status, capacity, per-location occupancy at month ends
    and relocations per year: the stored rows give the simulator's figures."""
    assert locations
    for day, want in truth["coa_residents"].items():
        got: dict[str, dict[str, int]] = {}
        for kind, status, n in conn.execute(
            "SELECT location_type, resident_status, count(*)::int FROM coa_stays"
            " WHERE person_key = ANY(%s) AND from_day <= %s AND (to_day IS NULL OR %s < to_day)"
            " GROUP BY 1, 2",
            (keys, day, day),
        ):
            got.setdefault(kind, {})[status] = n
        assert got == want, day
    for day, want in truth["coa_capacity"].items():
        rows = conn.execute(
            "SELECT location_type, sum(places)::int FROM location_capacity"
            " WHERE person_key = ANY(%s) AND from_day <= %s AND (to_day IS NULL OR %s < to_day)"
            " GROUP BY 1",
            (locations, day, day),
        ).fetchall()
        assert dict(rows) == want, day
    for day, want in truth["coa_locations"].items():
        persons: dict[str, int] = dict(
            conn.execute(
                "SELECT location_id, count(*)::int FROM coa_stays WHERE person_key = ANY(%s)"
                " AND from_day <= %s AND (to_day IS NULL OR %s < to_day) GROUP BY 1",
                (keys, day, day),
            ).fetchall()
        )
        places: dict[str, int] = dict(
            conn.execute(
                "SELECT location_id, places FROM location_capacity WHERE person_key = ANY(%s)"
                " AND from_day <= %s AND (to_day IS NULL OR %s < to_day)",
                (locations, day, day),
            ).fetchall()
        )
        got_locations = {
            loc: {"persons": persons.get(loc, 0), "places": places.get(loc, 0)}
            for loc in sorted(set(persons) | set(places))
        }
        assert got_locations == want, day
    first, last = truth["period"]["from"], truth["period"]["to"]
    years: dict[str, dict[str, int]] = {}
    for year, n, children in conn.execute(
        "SELECT to_char(day, 'YYYY'), count(*)::int, count(*) FILTER (WHERE minor)::int"
        " FROM relocation_items WHERE person_key = ANY(%s) AND day BETWEEN %s AND %s GROUP BY 1",
        (keys, first, last),
    ):
        years[year] = {"relocations": n, "child_relocations": children}
    for year, days, children in conn.execute(
        "SELECT to_char(d, 'YYYY'), count(*)::int, count(*) FILTER (WHERE minor)::int"
        " FROM coa_stays, generate_series(%s::date, %s::date, interval '1 day') AS d"
        " WHERE person_key = ANY(%s) AND from_day <= d AND (to_day IS NULL OR d < to_day)"
        " GROUP BY 1",
        (first, last, keys),
    ):
        years.setdefault(year, {"relocations": 0, "child_relocations": 0})
        years[year] |= {"resident_days": days, "child_resident_days": children}
    assert years == truth["relocations"]


def assert_occupancy_views_sum_the_rows(conn: psycopg.Connection) -> None:
    """The residents, capacity, occupancy-against-capacity and relocation views say what the
    stored rows say, counted here in Python, on a sample of days."""
    stays = conn.execute(
        "SELECT from_day, to_day, location_type, location_id, resident_status, minor FROM coa_stays"
    ).fetchall()
    spans = conn.execute(
        "SELECT from_day, to_day, location_type, location_id, places FROM location_capacity"
    ).fetchall()
    first = min(s[0] for s in stays)
    # Days count up to the last day the log holds data (analyst.data_until), never after it.
    (until,) = conn.execute("SELECT day FROM analyst.data_until").fetchone() or (date.today(),)
    for day in [first + timedelta(days=n) for n in range(0, (until - first).days + 1, 29)]:
        residents = Counter(s[2:5] for s in stays if on_day(s, day))
        in_view = {
            tuple(r[:3]): r[3]
            for r in conn.execute(
                "SELECT location_type, location_id, resident_status, persons"
                " FROM analyst.coa_residents WHERE day = %s",
                (day,),
            )
        }
        assert in_view == dict(residents), day
        places: Counter[tuple[str, str]] = Counter()
        for s in spans:
            if on_day(s, day):
                places[s[2:4]] += s[4]
        persons = Counter(s[2:4] for s in stays if on_day(s, day))
        joined = {
            tuple(r[:2]): tuple(r[2:])
            for r in conn.execute(
                "SELECT location_type, location_id, persons, places, occupancy_rate::float8"
                " FROM analyst.coa_occupancy_capacity WHERE day = %s",
                (day,),
            )
        }
        expected = {
            k: (
                persons[k],
                places[k],
                half_up(100 * persons[k], places[k], 1) if places[k] else None,
            )
            for k in set(persons) | set(places)
        }
        assert joined == expected, day
    relocations = conn.execute("SELECT day, minor FROM relocation_items").fetchall()
    after_data = until + timedelta(days=1)
    for year, n, days, children, child_days, rate in conn.execute(
        "SELECT period, relocations, resident_days, child_relocations, child_resident_days,"
        " relocations_per_resident_year::float8 FROM analyst.coa_relocations"
    ):
        jan1, next_jan1 = year, date(year.year + 1, 1, 1)

        def overlap(s: Any, jan1: date = jan1, next_jan1: date = next_jan1) -> int:
            end = min(s[1] or after_data, after_data, next_jan1)
            return max(0, int((end - max(s[0], jan1)).days))

        moves = [(d, m) for d, m in relocations if d.year == year.year and d <= until]
        assert n == len(moves), year
        assert children == sum(1 for _, m in moves if m), year
        assert days == sum(overlap(s) for s in stays), year
        assert child_days == sum(overlap(s) for s in stays if s[5]), year
        if days:
            assert rate == half_up(n * (next_jan1 - jan1).days, days, 3), year


def on_day(row: Any, day: date) -> bool:
    return bool(row[0] <= day and (row[1] is None or day < row[1]))


def eurostat_persons(applications: list[tuple[str, date]], cut: Any) -> dict[Any, Counter[str]]:
    """Persons per period (`cut` of a day): FIRST_TIME when their first application is in it."""
    days: dict[str, list[date]] = {}
    for person, day in applications:
        days.setdefault(person, []).append(day)
    out: dict[Any, Counter[str]] = {}
    for person_days in days.values():
        first = cut(min(person_days))
        for period in {cut(d) for d in person_days}:
            out.setdefault(period, Counter())[
                "FIRST_TIME" if period == first else "SUBSEQUENT"
            ] += 1
    return out


def percentile(values: list[float], q: float) -> float:
    """PostgreSQL's percentile_cont: linear between the two nearest ranks."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (pos - low) * (ordered[high] - ordered[low])


def assert_new_views_sum_the_rows(conn: psycopg.Connection) -> None:
    """Inflow by person attributes, Eurostat's persons and the lead-time percentiles."""
    rows = conn.execute("SELECT day, kind, nationality, age_band, sex FROM inflow_items")
    viewed = conn.execute(
        "SELECT day, kind, nationality, age_band, sex, sum(applications) FROM analyst.inflow"
        " GROUP BY 1, 2, 3, 4, 5"
    )
    assert {tuple(r[:5]): int(r[5]) for r in viewed} == dict(Counter(map(tuple, rows)))
    applications = conn.execute(
        "SELECT person_key, day FROM inflow_items WHERE kind IN ('FIRST', 'REPEAT')"
    ).fetchall()
    for period_type, cut in (
        ("month", lambda d: d.replace(day=1)),
        ("year", lambda d: date(d.year, 1, 1)),
    ):
        in_view: dict[Any, Counter[str]] = {}
        for period, kind, n in conn.execute(
            "SELECT period, applicant_type, sum(applicants)::int FROM analyst.inflow_eurostat"
            " WHERE period_type = %s GROUP BY 1, 2",
            (period_type,),
        ):
            in_view.setdefault(period, Counter())[kind] = n
        assert in_view == eurostat_persons(applications, cut), period_type
    leads: dict[tuple[date, str], list[float]] = {}
    for day, outcome, lead in conn.execute(
        "SELECT day, outcome, extract(epoch FROM decided_at - lodged_at)::float8 / 86400"
        " FROM decision_items WHERE lodged_at IS NOT NULL"
    ):
        leads.setdefault((day.replace(day=1), outcome), []).append(lead)
        leads.setdefault((day.replace(day=1), ""), []).append(lead)
    assert leads
    for by in ([], ["outcome"]):
        _, got = queries.run(conn, "lead_times", period="month", by=by)
        expected = {
            (m, o): (len(v), percentile(v, 0.5), percentile(v, 0.9))
            for (m, o), v in leads.items()
            if bool(o) == bool(by)
        }
        assert {(r[0], r[1] if by else ""): r[-3:] for r in got}.keys() == expected.keys()
        for r in got:
            n, p50, p90 = expected[(r[0], r[1] if by else "")]
            assert (r[-3], r[-2], r[-1]) == (n, pytest.approx(p50), pytest.approx(p90)), r


def assert_views_sum_the_rows(conn: psycopg.Connection) -> None:
    """The analyst views (SQL) say what the stored rows say, counted here in Python."""
    stays = conn.execute("SELECT from_day, to_day, location_type FROM coa_stays").fetchall()
    # No view has a day after the log's data ends (a child's stay splits on an 18th birthday
    # years ahead; that day has not happened).
    (until,) = conn.execute("SELECT day FROM analyst.data_until").fetchone() or (None,)
    first, last = min(s[0] for s in stays), min(max(s[0] for s in stays), until)
    view = {
        (day, kind): n
        for day, kind, n in conn.execute(
            "SELECT day, location_type, persons FROM analyst.coa_occupancy"
            " WHERE day BETWEEN %s AND %s",
            (first, last),
        )
    }
    counted: Counter[tuple[date, str]] = Counter()
    day = first
    while day <= last:
        for start, end, kind in stays:
            if start <= day and (end is None or day < end):
                counted[(day, kind)] += 1
        day += timedelta(days=7)
    assert counted and all(view.get(k, 0) == n for k, n in counted.items())
    cases = conn.execute("SELECT lodged_day, decided_day FROM case_items").fetchall()
    backlog: dict[date, int] = dict(
        conn.execute("SELECT day, pending FROM analyst.decision_backlog").fetchall()
    )
    some_days = sorted({lodged for lodged, _ in cases})[:: max(1, len(cases) // 20)]
    assert some_days
    for day in some_days:
        pending = sum(
            1 for lodged, decided in cases if lodged <= day and (decided is None or day < decided)
        )
        assert backlog.get(day, 0) == pending, day
    changes = conn.execute(
        "SELECT person_key, subject, (occurred_at AT TIME ZONE 'UTC')::date, to_state, seq"
        " FROM state_changes WHERE lifecycle = 'CASE' ORDER BY person_key, seq"
    ).fetchall()
    sample = sorted({c[2] for c in changes})[:: max(1, len(changes) // 15)]
    for day in sample:
        latest: dict[tuple[str, str], str] = {}
        for person, subject, changed, state, _ in changes:
            if changed <= day:
                latest[(person, subject)] = state
        expected = Counter(latest.values())
        in_view = {
            str(state): int(n)
            for state, n in conn.execute(
                "SELECT state, subjects FROM analyst.lifecycle WHERE lifecycle = 'CASE'"
                " AND day = %s",
                (day,),
            )
        }
        assert in_view == dict(expected), day
    rows = conn.execute("SELECT day, kind FROM inflow_items").fetchall()
    viewed = conn.execute("SELECT day, kind, sum(applications) FROM analyst.inflow GROUP BY 1, 2")
    assert {(d, k): int(n) for d, k, n in viewed} == dict(Counter(rows))


def test_sigkill_mid_run_then_restart_equals_an_uninterrupted_run(
    services: RunningServices, published: Published, fresh_db: str
) -> None:
    group = f"crash-{uuid.uuid4().hex[:8]}"
    proc = process(services, fresh_db, group, "--batch-size", "100")
    total = sum(
        sum(end_offsets(services.kafka("auditor"), event_topic(org)).values())
        for org in ("IND", "COA", "AVIM", "DTV")
    )
    deadline = time.monotonic() + 300
    done = 0
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            with psycopg.connect(fresh_db) as conn:
                row = conn.execute("SELECT coalesce(sum(next_offset), 0) FROM consumer_positions")
                done = int(row.fetchone()[0])  # type: ignore[index]
        except psycopg.errors.UndefinedTable:
            continue
        if done > 200:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert 0 < done < total, "the kill must land mid-run"
    until_idle(services, fresh_db, group)

    with scratch_database(services.dsn) as reference:
        until_idle(services, reference, f"ref-{uuid.uuid4().hex[:8]}")
        everyone = published.person_keys
        assert states(fresh_db, everyone) == states(reference, everyone)
        with psycopg.connect(fresh_db) as a, psycopg.connect(reference) as b:
            query = "SELECT count(*), count(DISTINCT event_id) FROM timeline_events"
            assert a.execute(query).fetchone() == b.execute(query).fetchone()
            # The projection rows, written in the same transactions: identical tables.
            for table in ("inflow_items", "decision_items", "departure_items", "coa_stays"):
                rows = f"SELECT * FROM {table} ORDER BY 1, 2, 3"
                assert a.execute(rows).fetchall() == b.execute(rows).fetchall(), table


def test_poison_records_are_dead_lettered_with_their_reason(
    services: RunningServices, fresh_db: str
) -> None:
    key = f"poison-{uuid.uuid4().hex}".encode()
    preparer = Preparer(key, services.settings.oin_prefix)
    now = datetime.now(UTC) - timedelta(hours=1)

    def started(i: int) -> Submission:
        return Submission(
            type="ReceptionStarted",
            v_nummer=f"{5_500_000_000 + i:010d}",
            occurred_at=now,
            ref=f"P-{uuid.uuid4().hex}",
            data={"reception_group": "ASYLUM_SEEKER"},
        )

    good = [preparer.prepare("COA", started(i)) for i in range(3)]
    wrong_producer = preparer.prepare(
        "IND",
        Submission(
            type="TrackAssigned",
            v_nummer="5500000009",
            occurred_at=now,
            ref=f"P-{uuid.uuid4().hex}",
            data={"track": "GENERAL"},
        ),
    )
    header = good[0].value[:10]
    poison = {
        "UNDECODABLE": (b"k" * 64, b"\x00garbage, not avro at all"),
        "UNKNOWN_FINGERPRINT": (b"k" * 64, MAGIC + b"\x01" * 8 + good[0].value[10:]),
        "WRONG_PRODUCER": (wrong_producer.key, wrong_producer.value),
        "KEY_MISMATCH": (b"f" * 64, good[1].value),
    }
    body_mismatch = (good[0].key, header + b"\xff\xff\xff")
    topic = event_topic("COA")
    dead_before = end_offsets(services.kafka("auditor"), DEADLETTER)
    producer = KafkaProducer(acks="all", **services.kafka("COA").kafka_python())
    # Offsets are per partition: a record is known by (partition, offset).
    sent: dict[str, tuple[int, int]] = {}
    coa = services.signer("COA")
    futures = [
        producer.send(
            topic, key=g.key, value=g.value, headers=signed(coa, topic, g.key, g.value, g.headers)
        )
        for g in good
    ]
    for reason, (k, v) in [*poison.items(), ("BODY", body_mismatch)]:
        meta = producer.send(topic, key=k, value=v).get(timeout=30)
        sent[reason] = (meta.partition, meta.offset)
    for future in futures:
        future.get(timeout=30)
    producer.close()

    until_idle(services, fresh_db, f"poison-{uuid.uuid4().hex[:8]}")

    letters = read_from(services.kafka("auditor"), DEADLETTER, dead_before)
    reasons: dict[tuple[int, int], str] = {}
    originals: dict[tuple[int, int], bytes | None] = {}
    for letter in letters:
        headers = dict(letter.headers)
        if headers.get("dl_source_topic") == topic.encode():
            where = (int(headers["dl_source_partition"]), int(headers["dl_source_offset"]))
            reasons[where] = headers["dl_reason"].decode()
            originals[where] = letter.value
    for reason, where in sent.items():
        expected = "UNDECODABLE" if reason == "BODY" else reason
        assert reasons.get(where) == expected, (reason, reasons)
    assert originals[sent["UNDECODABLE"]] == poison["UNDECODABLE"][1]

    with psycopg.connect(fresh_db) as conn:
        ids = {
            str(row[0])
            for row in conn.execute(
                "SELECT event_id FROM timeline_events WHERE event_id = ANY(%s::uuid[])",
                ([g.event_id for g in good],),
            )
        }
    assert ids == {g.event_id for g in good}, "every good record around the poison got through"
    assert str(decode(good[1].value).record["envelope"]["event_id"]) in ids


def test_two_workers_share_partitions_and_a_stopped_one_hands_over(
    services: RunningServices, published: Published, fresh_db: str
) -> None:
    group = f"pair-{uuid.uuid4().hex[:8]}"
    every = len(event_topics()) * services.settings.partitions
    first = process(services, fresh_db, group, "--until-idle", "--batch-size", "100")
    first_out = Output(first)
    first_out.wait_for(rf"{every} partitions assigned", 120)
    second = process(services, fresh_db, group, "--until-idle", "--batch-size", "100")
    second_out = Output(second)
    try:
        # The group rebalances: each worker holds part of the agency partitions.
        split = second_out.wait_for(r"(\d+) partitions assigned", 120)
        assert 0 < int(split[1]) < every
        first_out.wait_for(rf"\b{every - int(split[1])} partitions assigned", 60)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0, first_out.text()[-3000:]
        # Its partitions move to the one left, which finishes all the input. (A first worker
        # that had already done its share before it stopped leaves the second nothing to take
        # over: it finds every stored position at its target and stops, idle, before the
        # rebalance; the comparison below holds either way.)
        assert second.wait(timeout=600) == 0, second_out.text()[-3000:]
        assert "idle: all input present at start is processed" in second_out.text()
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    with scratch_database(services.dsn) as reference:
        until_idle(services, reference, f"ref-{uuid.uuid4().hex[:8]}")
        everyone = published.person_keys
        assert states(fresh_db, everyone) == states(reference, everyone)
        query = (
            "SELECT (SELECT count(*) FROM timeline_events),"
            " (SELECT sum(facts) FROM person_state),"
            " (SELECT sum(next_offset) FROM consumer_positions)"
        )
        with psycopg.connect(fresh_db) as a, psycopg.connect(reference) as b:
            # Nothing lost (same events, every one folded once) and nothing left behind.
            assert a.execute(query).fetchone() == b.execute(query).fetchone()


def inflow_by_month(dsn: str) -> Counter[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT to_char(day, 'YYYY-MM'), kind, sum(applications)::int FROM analyst.inflow"
            " GROUP BY 1, 2"
        ).fetchall()
    return Counter({(m, k): int(n) for m, k, n in rows})


def test_a_late_event_revises_its_closed_month_only_and_a_retraction_removes_it(
    services: RunningServices, fresh_db: str
) -> None:
    group = f"late-{uuid.uuid4().hex[:8]}"
    until_idle(services, fresh_db, group)
    before = inflow_by_month(fresh_db)
    key = f"late-{uuid.uuid4().hex}".encode()
    preparer = Preparer(key, services.settings.oin_prefix)
    now = datetime.now(UTC)
    lodged = Submission(
        type="AsylumApplicationLodged",
        v_nummer="3141592653",
        case_id="ZK-LATE-1",
        # Valid time in a month long closed; recorded only now.
        occurred_at=datetime(2026, 3, 10, 9, tzinfo=UTC),
        ref="late-application",
        data={"application_type": "FIRST", "unaccompanied_minor": False},
    )
    with Publisher("IND", preparer, services.kafka("IND"), signer=services.signer("IND")) as pub:
        event_id = pub.publish(lodged)
        pub.flush()
    until_idle(services, fresh_db, group)
    after = inflow_by_month(fresh_db)
    assert after - before == Counter({("2026-03", "FIRST"): 1})
    assert before - after == Counter(), "no other month or kind moved"

    retraction = Submission(
        type="EventRetracted",
        v_nummer="3141592653",
        case_id="ZK-LATE-1",
        occurred_at=now - timedelta(minutes=5),
        ref="late-application-retracted",
        retracts=event_id,
        data={"reason": "RECORDED_IN_ERROR"},
    )
    with Publisher("IND", preparer, services.kafka("IND"), signer=services.signer("IND")) as pub:
        pub.publish(retraction)
        pub.flush()
    until_idle(services, fresh_db, group)
    assert inflow_by_month(fresh_db) == before
