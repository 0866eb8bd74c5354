"""Progress lines on stderr for long runs (commands, the demo, replay), so stdout stays clean for
data."""

from __future__ import annotations

import sys
import time


def say(line: str) -> None:
    """A progress line: to stderr, so stdout stays clean for data."""
    print(line, file=sys.stderr, flush=True)


class Progress:
    """Prints `label: done/total (rate/s, elapsed, time left)` to stderr at most once a second,
    and a final line."""

    def __init__(self, label: str, total: int | None = None, every_s: float = 1.0) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._every = every_s
        self._start = time.monotonic()
        self._last = self._start

    def tick(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            say(self._line(now))

    def finish(self) -> None:
        say(self._line(time.monotonic()))

    def _line(self, now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        of = f"/{self.total}" if self.total is not None else ""
        pct = f" {100 * self.done / self.total:5.1f}%" if self.total else ""
        left = ""
        if self.total and rate > 0 and self.done < self.total:
            left = f", ~{(self.total - self.done) / rate:.0f}s left"
        return f"{self.label}: {self.done}{of}{pct} ({rate:,.0f}/s, {elapsed:.1f}s{left})"
