"""The README's first command on a small scale: `ketenlog demo` simulates the default year,
publishes it, processes the log until idle and finds every figure equal to the ground truth."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import RunningServices

pytestmark = pytest.mark.integration


def test_the_demo_runs_end_to_end_and_agrees_with_the_ground_truth(
    services: RunningServices, fresh_db: str
) -> None:
    env = {
        **os.environ,
        "KETENLOG_KAFKA_BOOTSTRAP": services.bootstrap,
        "KETENLOG_DATABASE_URL": fresh_db,
    }
    done = subprocess.run(
        [sys.executable, "-m", "ketenlog.cli", "demo", "--scale", "0.003", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Every figure equals the simulator's ground truth" in done.stdout
    months = [line for line in done.stdout.splitlines() if line[:4] in ("2025", "2026")]
    assert len(months) == 12 and all(line.endswith("yes") for line in months), done.stdout
