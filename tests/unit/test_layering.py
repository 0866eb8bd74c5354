"""The layering rule (README, "Where things are"), checked on every import statement of every
module, including imports inside functions: a forbidden import fails here, naming the module,
the line and the package it may not reach."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"schemas", "domain", "producers", "processors", "projections", "infra", "ketenlog"}

# Which of our packages each package may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "schemas": set(),
    "domain": {"schemas"},
    "producers": {"schemas"},
    "processors": {"schemas", "domain"},
    "projections": {"schemas", "domain"},
    "infra": {"schemas"},
    "ketenlog": OURS,
}


def imported_packages(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in `source`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, target in imported_packages(path.read_text()):
            if target in OURS and target != package and target not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return bad


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_the_layering_allows(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_a_forbidden_import_even_inside_a_function() -> None:
    source = "import os\ndef f():\n    from processors.timeline import gate\n"
    assert imported_packages(source) == [(1, "os"), (3, "processors")]


def test_every_package_of_ours_has_a_rule() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(ALLOWED)
