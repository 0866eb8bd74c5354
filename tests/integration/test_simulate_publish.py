"""The simulator's files are what `ketenlog publish` accepts, every line of every organisation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.topics import Org, event_topic
from tests.conftest import RunningServices
from tests.integration.kafka_tools import end_offsets

pytestmark = pytest.mark.integration


def ketenlog(services: RunningServices, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **services.kafka_env,
        "KETENLOG_DATABASE_URL": services.dsn,
        "KETENLOG_CHAIN_KEY": "s" * 40,
    }
    return subprocess.run(
        [sys.executable, "-m", "ketenlog.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_every_simulated_file_publishes_whole(services: RunningServices, tmp_path: Path) -> None:
    out = tmp_path / "sim"
    made = ketenlog(
        services,
        "simulate",
        "--seed",
        "3",
        "--scale",
        "0.002",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-30",
        "--out",
        str(out),
    )
    assert made.returncode == 0, made.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    for org in Org:
        path = out / f"{org.value.lower()}.jsonl"
        lines = manifest["files"].get(path.name, 0)
        if not lines:
            continue
        before = sum(end_offsets(services.kafka("auditor"), event_topic(org)).values())
        published = ketenlog(services, "publish", "--org", org.value, str(path))
        assert published.returncode == 0, f"{org}: {published.stderr[-2000:]}"
        after = sum(end_offsets(services.kafka("auditor"), event_topic(org)).values())
        duplicates = int(published.stderr.split("duplicates ")[1].split()[0])
        assert after - before == lines - duplicates, org
