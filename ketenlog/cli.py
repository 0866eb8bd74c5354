"""The `ketenlog` command: one parser, one subcommand per module under `ketenlog.commands`.

This is the composition root: settings are read here once and handed to the layers.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ketenlog import settings as settings_module
from ketenlog.commands import (
    credentials,
    deadletter,
    demo,
    distribute,
    erase,
    export,
    ids,
    keys,
    process,
    publish,
    query,
    reads,
    replay,
    retention,
    serve,
    services,
    simulate,
    subscriptions,
    timeline,
    tokens,
    verify,
    verify_chains,
    webhooks,
)
from ketenlog.commands.base import CommandError, Registry


def build_parser() -> tuple[argparse.ArgumentParser, Registry]:
    parser = argparse.ArgumentParser(
        prog="ketenlog",
        description=(
            "ketenlog: the shared, replayable event timeline of the Dutch migration chain. "
            "Settings are environment variables KETENLOG_* (see the README)."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    registry = Registry(sub)
    services.register(registry)
    credentials.register(registry)
    publish.register(registry)
    ids.register(registry)
    simulate.register(registry)
    process.register(registry)
    distribute.register(registry)
    deadletter.register(registry)
    demo.register(registry)
    query.register(registry)
    serve.register(registry)
    export.register(registry)
    replay.register(registry)
    verify.register(registry)
    verify_chains.register(registry)
    timeline.register(registry)
    subscriptions.register(registry)
    reads.register(registry)
    tokens.register(registry)
    keys.register(registry)
    erase.register(registry)
    retention.register(registry)
    webhooks.register(registry)
    return parser, registry


def main(argv: Sequence[str] | None = None) -> int:
    parser, registry = build_parser()
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
