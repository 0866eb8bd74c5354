"""`ketenlog publish` streams its input: its peak memory does not grow with the file. Two files
of the same lines, one five times the other, each published by its own process (peak resident
memory from `os.wait4`) with `publish_file` and a real Publisher, onto a topic of this test's
own (tests.integration.publish_child): the larger one's peak may not exceed the smaller one's by
as much as the file grew — an implementation that holds the file (or its checked lines, ~4 kB
each) does. Both are larger than one chunk (file_publish.CHUNK_LINES), so both fill the same
buffers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra import topics
from producers.file_publish import CHUNK_LINES
from schemas.topics import RETAIN_FOREVER, TopicSpec
from tests.conftest import RunningServices

pytestmark = pytest.mark.integration

TOPIC = "test.publish-streams"
ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 2, 1, tzinfo=UTC)


def write_file(path: Path, n: int, run: str) -> int:
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            row = {
                "type": "ReceptionStarted",
                "v_nummer": f"{4_100_000_000 + i:010d}",
                "occurred_at": (START + timedelta(seconds=i)).isoformat(),
                # Long references: more bytes per line, so the file's growth is a wide bound.
                "ref": f"COA-STREAM-{run}-{i}".ljust(120, "x"),
                "case_id": f"Z-{run}-{i}".ljust(120, "z"),
                "data": {"reception_group": "ASYLUM_SEEKER"},
            }
            out.write(json.dumps(row) + "\n")
    return path.stat().st_size


def peak_publish(services: RunningServices, file: Path) -> int:
    """Peak resident bytes of a process publishing FILE, which must publish it all."""
    env = {
        **os.environ,
        **services.kafka_env,
        "KETENLOG_DATABASE_URL": services.dsn,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.publish_child", TOPIC, str(file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    err = proc.stderr.read().decode()  # small: the summary lines only
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, err[-3000:]
    receipts = Path(f"{file}.receipts.jsonl").read_text().splitlines()
    assert len(receipts) == sum(1 for _ in file.open()), "every line published"
    return usage.ru_maxrss * 1024


def test_publish_memory_does_not_grow_with_the_file(
    services: RunningServices, tmp_path: Path
) -> None:
    topics.ensure(services.settings, print, [TopicSpec(TOPIC, "test", dict(RETAIN_FOREVER))])
    run = datetime.now(UTC).strftime("%H%M%S%f")
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    # Each file more than a chunk.
    small_bytes = write_file(small, CHUNK_LINES + 500, f"{run}-s")
    large_bytes = write_file(large, 5 * (CHUNK_LINES + 500), f"{run}-l")
    small_peak = peak_publish(services, small)
    large_peak = peak_publish(services, large)
    grown = large_bytes - small_bytes
    assert large_peak - small_peak < grown, (
        f"peak {small_peak / 2**20:.0f} MiB for {small_bytes / 2**20:.1f} MiB, "
        f"{large_peak / 2**20:.0f} MiB for {large_bytes / 2**20:.1f} MiB"
    )
