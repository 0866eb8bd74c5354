"""Faults survived without a hand: PostgreSQL restarted under a running `ketenlog process`. The
worker says what failed, waits, reconnects and carries on from the store's positions; every
event published before, during and after the restart is stored once."""

from __future__ import annotations

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


def test_status_exits_non_zero_while_a_worker_group_is_stalled(
    services: RunningServices, fresh_db: str
) -> None:
    preparer = Preparer(f"status-{uuid.uuid4().hex}".encode(), services.settings.oin_prefix)
    _publish(services, preparer, 100, 3)
    group = f"status-{uuid.uuid4().hex[:8]}"
    stalled = ketenlog(services, fresh_db, "status", "--group", group)
    assert stalled.returncode == 1, stalled.stdout + stalled.stderr
    assert f"worker group {group} has stalled" in stalled.stdout
    until_idle(services, fresh_db, group)
    healthy = ketenlog(services, fresh_db, "status", "--group", group)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    (line,) = [x for x in healthy.stdout.splitlines() if x.startswith(group)]
    assert " idle " in line
