"""What every subcommand shares: registration, errors with exit codes, progress lines."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ketenlog.settings import Settings
from producers.pseudonym import ChainKeyError, load_chain_key
from projections.as_known_at import parse_moment

Handler = Callable[[argparse.Namespace, Settings], int]


class CommandError(Exception):
    """A failure the user can act on; the message says what to do. Printed without a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Registry:
    """Adds subcommands to the parser and remembers their handlers."""

    def __init__(self, subparsers: Any) -> None:
        self._sub = subparsers
        self._handlers: dict[str, Handler] = {}

    def add(self, name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._sub.add_parser(name, help=help, description=help)
        self._handlers[name] = handler
        return parser

    def run(self, args: argparse.Namespace, settings: Settings) -> int:
        return self._handlers[args.command](args, settings)


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


def chain_key(settings: Settings) -> bytes:
    """The chain key from the settings (producers.pseudonym.load_chain_key)."""
    try:
        return load_chain_key(
            settings.chain_key, settings.chain_key_file, settings.home / "chain.key"
        )
    except ChainKeyError as exc:
        raise CommandError(str(exc)) from exc


def moment(text: str) -> datetime:
    """--as-known-at's argument (projections.as_known_at.parse_moment)."""
    try:
        return parse_moment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date (2026-03-02) or date-time (2026-03-02T12:00:00Z)"
        ) from exc
