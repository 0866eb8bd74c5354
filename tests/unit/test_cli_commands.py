"""The CLI builds only the parser of the command it runs (ketenlog.cli): every command must be
reachable that way, with the same arguments as in the full parser."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from ketenlog import cli

COMMANDS_DIR = Path(cli.__file__).parent / "commands"


def test_every_command_module_is_listed() -> None:
    on_disk = {p.stem for p in COMMANDS_DIR.glob("*.py")} - {"__init__", "base"}
    assert set(cli.MODULES) == on_disk
    assert len(cli.MODULES) == len(set(cli.MODULES))


def _commands(parser: argparse.ArgumentParser) -> dict[str, str]:
    (choices,) = (a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: sub.format_usage() for name, sub in choices.items()}


def test_each_command_alone_parses_as_in_the_full_parser() -> None:
    everything = _commands(cli.build_parser()[0])
    assert len(everything) > len(cli.MODULES)  # some modules register several commands
    for name, usage in everything.items():
        module = cli._module_of([name, "--help"])
        assert module is not None, name
        alone = _commands(cli.build_parser(only=module)[0])
        assert alone[name] == usage


@pytest.mark.parametrize("argv", [[], ["--help"], ["no-such-command"], ["-x"]])
def test_arguments_naming_no_command_build_every_command(argv: list[str]) -> None:
    assert cli._module_of(argv) is None


def test_importing_the_cli_imports_no_command() -> None:
    # The replay's spawned workers import the parent's main module (this one) again.
    code = (
        "import sys, ketenlog.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('ketenlog.commands.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "['ketenlog.commands.base']"
