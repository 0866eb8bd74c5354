"""The faust worker writes terminal escape codes (its spinner) only to a terminal: the demo and
`ketenlog process` piped into a file or another program stay plain text."""

from __future__ import annotations

import io
from pathlib import Path

import faust

from processors.app import make_worker


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_spinner_only_runs_on_a_terminal(tmp_path: Path) -> None:
    app = faust.App("t-worker-output", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    assert make_worker(app, io.StringIO()).spinner is None
    assert make_worker(app, Terminal()).spinner is not None
