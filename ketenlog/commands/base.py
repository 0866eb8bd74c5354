"""What every subcommand shares: registration, errors with exit codes, the chain key from the
settings; progress lines (ketenlog.progress)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ketenlog.progress import Progress, say
from ketenlog.settings import DEFAULT_GROUP, Settings
from producers.pseudonym import ChainKeyError, demo_chain_key, load_chain_key
from projections import checksums
from projections.as_known_at import parse_moment

# Re-exported: every command imports its progress lines from here.
__all__ = [
    "CommandError",
    "Handler",
    "Progress",
    "Registry",
    "add_replay_options",
    "chain_key",
    "demo_key",
    "moment",
    "print_checksums",
    "say",
]

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


def chain_key(settings: Settings) -> bytes:
    """The chain key from the settings (producers.pseudonym.load_chain_key); a CommandError
    saying how to set it when there is none."""
    try:
        return load_chain_key(settings.chain_key, settings.chain_key_file)
    except ChainKeyError as exc:
        raise CommandError(str(exc)) from exc


def demo_key(settings: Settings) -> bytes:
    """The chain key if one is set; else the demo's own key for its simulated data, which it
    names (the only place a key is ever made up)."""
    if settings.chain_key or settings.chain_key_file:
        return chain_key(settings)
    path = settings.home / "demo-chain.key"
    key, made = demo_chain_key(path)
    say(
        f"demo: no chain key set; {'made' if made else 'using'} a demo key for simulated data "
        f"in {path} (real publishing needs KETENLOG_CHAIN_KEY or KETENLOG_CHAIN_KEY_FILE)"
    )
    return key


def moment(text: str) -> datetime:
    """--as-known-at's argument (projections.as_known_at.parse_moment)."""
    try:
        return parse_moment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date (2026-03-02) or date-time (2026-03-02T12:00:00Z)"
        ) from exc


def add_replay_options(parser: argparse.ArgumentParser) -> None:
    """Options `replay` and `verify` share."""
    parser.add_argument(
        "--group", default=DEFAULT_GROUP, help=f"the live consumer group (default {DEFAULT_GROUP})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that fold partition groups in parallel (default: one per core)",
    )


def print_checksums(sums: list[checksums.Checksum]) -> None:
    print(f"{'TABLE':<20} {'ROWS':>10}  CHECKSUM")
    for c in checksums.per_table(sums):
        print(f"{c.table:<20} {c.rows:>10}  {c.digest}")
