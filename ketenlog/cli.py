"""The `ketenlog` command: one parser, one subcommand per module under `ketenlog.commands`.

This is the composition root: settings are read here once and handed to the layers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ketenlog import settings as settings_module
from ketenlog.commands.base import CommandError, Registry

# The modules under ketenlog.commands, in the order `ketenlog --help` lists their commands.
MODULES = (
    "services",
    "credentials",
    "publish",
    "ids",
    "simulate",
    "process",
    "distribute",
    "deadletter",
    "demo",
    "query",
    "serve",
    "export",
    "replay",
    "verify",
    "verify_chains",
    "timeline",
    "subscriptions",
    "reads",
    "tokens",
    "keys",
    "erase",
    "retention",
    "webhooks",
)
# The commands not named as their module.
_MODULE_OF = {
    "up": "services",
    "down": "services",
    "status": "services",
    "topics": "services",
    "verify-chains": "verify_chains",
}


def build_parser(only: str | None = None) -> tuple[argparse.ArgumentParser, Registry]:
    """The parser of every command, or of the command module `only` alone: a command imports
    only its own module's dependencies (the CLI as a whole imports in ~2 s what one command
    needs a fraction of, and the replay's worker processes import this module again)."""
    parser = argparse.ArgumentParser(
        prog="ketenlog",
        description=(
            "ketenlog: the shared, replayable event timeline of the Dutch migration chain. "
            "Settings are environment variables KETENLOG_* (see the README)."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    registry = Registry(sub)
    for name in MODULES if only is None else (only,):
        importlib.import_module(f"ketenlog.commands.{name}").register(registry)
    return parser, registry


def _module_of(argv: Sequence[str]) -> str | None:
    """The command module the arguments name, if they name one (else every command is built:
    for --help, or to list the choices in argparse's error)."""
    if not argv or argv[0] in _MODULE_OF:
        return _MODULE_OF.get(argv[0]) if argv else None
    return argv[0] if argv[0] in MODULES else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, registry = build_parser(only=_module_of(argv))
    args = parser.parse_args(argv)
    settings = settings_module.load()
    try:
        return registry.run(args, settings)
    except CommandError as exc:
        print(f"ketenlog {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"ketenlog {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`ketenlog status | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
