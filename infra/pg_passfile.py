"""The passwords of the local cluster's roles, in a libpq passfile (`*:*:*:role:password` per
line) under KETENLOG_HOME, owner-only. Made on first start; every DSN of the local cluster names
the file (`passfile=`), so the passwords stay out of URLs, argument lists and the environment.

Sits under infra.postgres; plain file handling, no database.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from infra.errors import InfraError
from infra.kafka_tls import write_private

Say = Callable[[str], None]


@dataclass(frozen=True)
class Passwords:
    """Each role's password, and which of them were made just now (the server needs them)."""

    values: dict[str, str]
    made: frozenset[str]

    def __getitem__(self, role: str) -> str:
        return self.values[role]


def read(path: Path) -> dict[str, str]:
    """role -> password of a passfile this module wrote ({} when there is none)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) != 5:
            raise InfraError(f"{path}:{number}: not host:port:database:role:password")
        found[fields[3]] = fields[4]
    return found


def render(passwords: dict[str, str]) -> str:
    # token_urlsafe has no ':' or '\\', the characters a passfile would need escaped.
    return "".join(f"*:*:*:{role}:{pw}\n" for role, pw in sorted(passwords.items()))


def ensure_passwords(path: Path, roles: Iterable[str], say: Say) -> Passwords:
    """The passwords of `roles`, making (and saying) any the passfile lacks."""
    values = read(path)
    made = frozenset(role for role in roles if role not in values)
    if made:
        values |= {role: secrets.token_urlsafe(32) for role in made}
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, render(values).encode())
        say(f"postgres: made passwords for {', '.join(sorted(made))} in {path} (owner-only)")
    return Passwords(values, made)
