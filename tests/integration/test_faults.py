"""Faults survived without a hand: PostgreSQL restarted under a running `ketenlog process`. The
worker says what failed, waits, reconnects and carries on from the store's positions; every
event published before, during and after the restart is stored once. And under a running
`ketenlog serve`: while the database is down the API answers a clear 503 problem (no traceback,
no hang), and once it is back it answers again on a new connection."""

from __future__ import annotations

import json
import signal
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from infra import postgres
from producers.prepare import Preparer
from producers.publisher import Publisher
from producers.submission import Submission
from tests.conftest import RunningServices
from tests.integration.pipeline import Output, ketenlog, process, until_idle
from tests.integration.serving import get, serving

pytestmark = pytest.mark.integration


def _publish(services: RunningServices, preparer: Preparer, first: int, n: int) -> list[str]:
    now = datetime.now(UTC) - timedelta(hours=1)
    with Publisher("COA", preparer, services.kafka("COA"), signer=services.signer("COA")) as pub:
        for i in range(first, first + n):
            pub.publish(
                Submission(
                    type="ReceptionStarted",
                    v_nummer=f"{5_700_000_000 + i:010d}",
                    occurred_at=now,
                    ref=f"F-{uuid.uuid4().hex}",
                    data={"reception_group": "ASYLUM_SEEKER"},
                )
            )
        return [r.event_id for r in pub.flush()]


def _stored(dsn: str, ids: list[str]) -> int:
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT count(*) FROM timeline_events WHERE event_id = ANY(%s::uuid[])", (ids,)
            ).fetchone()
    except psycopg.Error:
        return -1
    return int(row[0]) if row else 0


def _wait_stored(dsn: str, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _stored(dsn, ids) != len(ids):
        if time.monotonic() > deadline:
            raise AssertionError(f"{_stored(dsn, ids)} of {len(ids)} stored after {timeout} s")
        time.sleep(0.5)


def test_postgres_restarted_under_the_processor_needs_no_human(
    services: RunningServices, fresh_db: str
) -> None:
    if not services.settings.starts_postgres:
        pytest.skip("restarting needs the project's own PostgreSQL, not KETENLOG_DATABASE_URL")
    preparer = Preparer(f"faults-{uuid.uuid4().hex}".encode(), services.settings.oin_prefix)
    group = f"faults-{uuid.uuid4().hex[:8]}"
    proc = process(services, fresh_db, group)
    out = Output(proc)
    try:
        before = _publish(services, preparer, 0, 20)
        _wait_stored(fresh_db, before, 300)

        def say(line: str) -> None:
            print(line, file=sys.stderr)

        assert postgres.stop(services.settings, say)
        during = _publish(services, preparer, 20, 20)
        time.sleep(3)  # the worker meets the stopped server
        postgres.start(services.settings, say)
        after = _publish(services, preparer, 40, 20)
        _wait_stored(fresh_db, before + during + after, 180)
        assert proc.poll() is None, "the worker is still running"
        out.wait_for(r"trying again in", 10)
        with psycopg.connect(fresh_db) as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM timeline_events"
                " WHERE event_id = ANY(%s::uuid[])",
                (before + during + after,),
            ).fetchone()
        assert row == (60, 60)
        # The fault the worker rode out is where an operator looks.
        shown = ketenlog(services, fresh_db, "status", "--group", group)
        (line,) = [x for x in shown.stdout.splitlines() if x.startswith(group)]
        assert "never" not in line and line.split()[-1] != "-", shown.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except Exception:
            proc.kill()
        out.text()


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _assert_unavailable(answer: tuple[int, dict[str, str], bytes], took: float) -> None:
    status, headers, body = answer
    assert status == 503, (status, body[:2000])
    assert headers["Content-Type"].startswith("application/problem+json"), headers
    problem = json.loads(body)
    assert problem["status"] == 503 and "database" in problem["detail"], problem
    assert "Traceback" not in body.decode() and int(headers["Retry-After"]) > 0
    assert took < 30, f"answered after {took:.0f} s"


def test_the_api_answers_again_after_postgres_restarted(
    services: RunningServices, fresh_db: str
) -> None:
    if not services.settings.starts_postgres:
        pytest.skip("restarting needs the project's own PostgreSQL, not KETENLOG_DATABASE_URL")
    with serving(fresh_db) as base:
        url = f"{base}/v1/instroom?periode=maand"
        status, _, before = get(url)
        assert status == 200, before[:2000]
        assert postgres.stop(services.settings, _say)
        try:
            t0 = time.monotonic()
            down = get(url)
            _assert_unavailable(down, time.monotonic() - t0)
        finally:
            postgres.start(services.settings, _say)
        t0 = time.monotonic()
        first = get(url)
        if first[0] != 200:  # allowed: the first request after the restart may find it gone
            _assert_unavailable(first, time.monotonic() - t0)
        status, _, after = get(url)
        assert status == 200, after[:2000]
        assert json.loads(after) == json.loads(before)

        # Restarted between two requests: the connection the server holds is stale, found so
        # only when used; it is opened again and the request answered, not failed.
        assert postgres.stop(services.settings, _say)
        postgres.start(services.settings, _say)
        status, _, again = get(url)
        assert status == 200, again[:2000]
        assert json.loads(again) == json.loads(before)


def test_status_and_the_api_health_resource_fail_while_a_worker_group_is_stalled(
    services: RunningServices, fresh_db: str
) -> None:
    preparer = Preparer(f"status-{uuid.uuid4().hex}".encode(), services.settings.oin_prefix)
    _publish(services, preparer, 100, 3)
    group = f"status-{uuid.uuid4().hex[:8]}"
    stalled = ketenlog(services, fresh_db, "status", "--group", group)
    assert stalled.returncode == 1, stalled.stdout + stalled.stderr
    assert f"worker group {group} has stalled" in stalled.stdout
    with serving(fresh_db) as base:
        status, headers, body = get(f"{base}/v1/gezondheid?groep={group}")
        assert status == 503, body[:2000]
        assert headers["Content-Type"].startswith("application/json")
        failing = json.loads(body)
        assert failing["status"] == "fail"
        assert f"worker group {group} has stalled" in " ".join(failing["problems"])
        (mine,) = [g for g in failing["groups"] if g["group"] == group]
        assert mine["state"] == "stalled" and mine["lag"] >= 3 and mine["last_commit"] is None
        assert {s["name"]: s["up"] for s in failing["services"]} == {
            "kafka": True,
            "postgres": True,
        }

        # By default it watches the processor's default group, which never ran here.
        status, _, body = get(f"{base}/v1/gezondheid")
        assert status == 503 and "ketenlog-process has stalled" in body.decode()

        until_idle(services, fresh_db, group)
        healthy = ketenlog(services, fresh_db, "status", "--group", group)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        (line,) = [x for x in healthy.stdout.splitlines() if x.startswith(group)]
        assert " idle " in line
        status, _, body = get(f"{base}/v1/gezondheid?groep={group}")
        assert status == 200, body[:2000]
        passing = json.loads(body)
        (mine,) = [g for g in passing["groups"] if g["group"] == group]
        assert passing["status"] == "pass" and passing["problems"] == []
        assert mine["state"] == "idle" and mine["lag"] == 0 and mine["last_commit"]

        status, _, body = get(f"{base}/v1/gezondheid?groep=a%20b&onbekend=1")
        assert status == 400
        assert [p["name"] for p in json.loads(body)["invalidParams"]] == ["onbekend", "groep"]
