"""The processor as the integration tests run it: a worker per consumer group and database,
started as `ketenlog process` against the test session's services, and what it stored."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import psycopg
import pytest

from producers.submission import Submission
from tests.conftest import RunningServices


@dataclass(frozen=True)
class Published:
    chain_key: bytes
    person_keys: set[str]
    truth: dict[str, dict[str, dict[str, int]]]
    locations: set[str] = field(default_factory=set)
    """The subject keys (`location:<id>`) of the simulation's reception locations."""
    submissions: tuple[tuple[str, Submission], ...] = ()
    """Every (organisation, submission) the simulator made, in publishing order: the raw
    ground truth (before the processors), for tests that must not trust their output."""


def process(services: RunningServices, dsn: str, group: str, *extra: str) -> subprocess.Popen[str]:
    """`ketenlog process` on the live path, whatever the shared log's length: a test that
    means the catch-up at batch speed passes `--catch-up-over`."""
    if not any(arg.startswith("--catch-up-over") for arg in extra):
        extra = (*extra, "--no-catch-up")
    env = {
        **os.environ,
        **services.kafka_env,
        "KETENLOG_DATABASE_URL": dsn,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ketenlog.cli", "process", "--group", group, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def ketenlog(
    services: RunningServices, dsn: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`ketenlog ARGS` against the test session's services and the database `dsn`."""
    env = {
        **os.environ,
        **services.kafka_env,
        "KETENLOG_DATABASE_URL": dsn,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "ketenlog.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def until_idle(services: RunningServices, dsn: str, group: str, *extra: str) -> str:
    proc = process(services, dsn, group, "--until-idle", *extra)
    try:
        out, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()  # never leave a worker behind
        out, _ = proc.communicate()
        pytest.fail(f"the worker did not become idle within 600 s:\n{out[-3000:]}")
    assert proc.returncode == 0, out[-3000:]
    assert "idle: all input present at start is processed" in out
    return out


def states(dsn: str, keys: set[str]) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT person_key, state::text FROM person_state WHERE person_key = ANY(%s)",
            (sorted(keys),),
        ).fetchall()
    return dict(rows)


def half_up(numerator: int, denominator: int, digits: int) -> float:
    """numerator / denominator rounded as PostgreSQL's round() does (half away from zero)."""
    exact = Decimal(numerator) / Decimal(denominator)
    return float(exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


class Output:
    """A worker's output lines, read on a thread so the worker never blocks on a full pipe."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        self._thread = threading.Thread(target=lambda: self.lines.extend(stream), daemon=True)
        self._thread.start()

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(pattern, line):
                    return found
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} within {timeout} s:\n{''.join(self.lines[-30:])}")

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "".join(self.lines)
