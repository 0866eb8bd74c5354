"""The broker's storage tool gets its SCRAM passwords through an @argfile, not argv: the real
java launcher must read every argument back exactly, whatever characters it holds."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from infra.kafka_broker import java_argfile

JAVA = shutil.which("java")


@pytest.mark.skipif(JAVA is None, reason="needs a java launcher")
@pytest.mark.parametrize(
    "value", ["plain", "with space", 'quo"te', "back\\slash", "eq=[name=a,password=b_-9]"]
)
def test_launcher_reads_each_argument_back_exactly(tmp_path: Path, value: str) -> None:
    assert JAVA is not None
    args = [f"-Dketenlog.probe={value}", "-XshowSettings:properties", "-version"]
    with java_argfile(args, tmp_path) as argfile:
        assert stat.S_IMODE(argfile.stat().st_mode) == 0o600
        out = subprocess.run([JAVA, f"@{argfile}"], capture_output=True, text=True, check=True)
    assert f"ketenlog.probe = {value}\n" in out.stderr
    assert list(tmp_path.iterdir()) == []
