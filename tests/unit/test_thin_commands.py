"""Commands are thin: a command module imports no other command (only commands.base, what they
share), no package imports the commands, and nothing of ours runs its own CLI as a subprocess."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ROOT / "ketenlog" / "commands"
PACKAGES = ("schemas", "domain", "producers", "processors", "projections", "infra", "ketenlog")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def command_modules() -> set[str]:
    return {f"ketenlog.commands.{p.stem}" for p in COMMANDS.glob("*.py") if p.stem != "__init__"}


def test_no_command_imports_another_command() -> None:
    commands = command_modules() - {"ketenlog.commands.base"}
    offending = {
        path.name: sorted(imported(path) & commands)
        for path in COMMANDS.glob("*.py")
        if imported(path) & commands
    }
    assert offending == {}


def test_only_the_cli_imports_the_commands() -> None:
    commands = command_modules() | {"ketenlog.commands"}
    offending = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if COMMANDS not in path.parents
        and path != ROOT / "ketenlog" / "cli.py"
        and imported(path) & commands
    ]
    assert offending == []


def test_nothing_of_ours_runs_its_own_cli() -> None:
    offending = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "ketenlog.cli" in path.read_text(encoding="utf-8") and path.name != "cli.py"
    ]
    assert offending == []
