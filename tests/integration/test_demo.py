"""The README's first command on a small scale: `ketenlog demo` simulates the default year,
publishes it, processes the log until idle and finds every figure equal to the ground truth."""

from __future__ import annotations

import os
import re
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
        **services.kafka_env,
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
    lines = done.stdout.splitlines()
    months = [line for line in lines if re.match(r"20\d\d-\d\d  ", line)]
    assert len(months) == 12 and all(line.endswith("yes") for line in months), done.stdout
    # Status holders and places at each month end are shown, and relocations per year.
    for line in months:
        holders, places = (int(v.replace(",", "")) for v in line.split()[5:7])
        assert holders > 0 and places > 0, line
    years = [line.split() for line in lines if re.match(r"20\d\d  ", line)]
    assert [y[0] for y in years] == ["2025", "2026"], done.stdout
    assert all(int(y[1].replace(",", "")) > 0 and float(y[2]) > 0 for y in years), done.stdout
