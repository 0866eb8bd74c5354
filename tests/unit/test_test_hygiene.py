"""The suite's own rules: `-m "not integration"` collects nothing under tests/integration and
not the calibration check, while an unfiltered run still has both; no test module imports
another test module (builders live in conftest or helper modules)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def collected(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_the_unit_selection_leaves_out_integration_and_calibration() -> None:
    unit = collected("-m", "not integration", "tests/unit", "tests/integration")
    assert unit, "nothing collected"
    assert not [t for t in unit if t.startswith("tests/integration/")]
    assert not [t for t in unit if "test_simulator_calibration" in t]
    some = ("tests/unit/test_simulator_calibration.py", "tests/integration/test_replay_keys.py")
    everything = collected(*some)
    assert any("test_replay_keys.py" in t for t in everything)
    assert any("test_simulator_calibration.py" in t for t in everything)
    calibration = collected("-m", "calibration", *some)
    assert calibration and all("test_simulator_calibration.py" in t for t in calibration)


def test_no_test_module_imports_another() -> None:
    offenders = []
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.rsplit(".", 1)[-1].startswith("test_"):
                    offenders.append(f"{path.relative_to(ROOT)}: from {node.module}")
            elif isinstance(node, ast.Import):
                offenders += [
                    f"{path.relative_to(ROOT)}: import {a.name}"
                    for a in node.names
                    if a.name.rsplit(".", 1)[-1].startswith("test_")
                ]
    assert offenders == []
