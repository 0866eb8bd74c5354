"""The API's bearer tokens: one per subject (a role — analyst, auditor, admin — or an
organisation, role `organisation` with the organisation's code as subject), stored hashed in an
owner-only JSON file (KETENLOG_API_TOKENS, default KETENLOG_HOME/api/tokens.json). `ketenlog
tokens` issues and rotates them; projections.http_api checks every request's token here, and
the store reads the file again when it changed, so a rotation takes effect without a restart.
Sits at the edge of the API: file I/O and hashing only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROLES = ("analyst", "auditor", "admin")
ORGANISATION = "organisation"
# 32 random bytes: 256 bits, far beyond any guessing.
TOKEN_BYTES = 32


class TokenError(Exception):
    """The store cannot be read or written, or a subject is unknown; the message says which."""


@dataclass(frozen=True)
class Holder:
    """Who a valid token belongs to; never the token itself."""

    id: str
    subject: str
    role: str
    created: str


@dataclass(frozen=True)
class Issued:
    """A new token: shown once, to whoever ran `ketenlog tokens`."""

    holder: Holder
    token: str


def digest(token: str) -> str:
    # SHA-256, not argon2 or bcrypt: those slow hashes protect low-entropy passwords against
    # guessing; a token of 256 random bits cannot be guessed, so one fast hash suffices and
    # costs nothing per request. surrogateescape: aiohttp keeps a header's non-UTF-8 bytes as
    # surrogates, and such a header is a wrong token, not a server error.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def subject_role(name: str, organisations: tuple[str, ...]) -> tuple[str, str]:
    """(subject, role) for what a person types: a role name or an organisation's code."""
    lowered = name.strip().lower()
    if lowered in ROLES:
        return lowered, lowered
    upper = name.strip().upper()
    if upper in organisations:
        return upper, ORGANISATION
    raise TokenError(
        f"unknown role or organisation {name!r}: one of {', '.join(ROLES)} "
        f"or an organisation ({', '.join(organisations)})"
    )


class TokenStore:
    """The token file. `holder(token)` answers who holds a token (or None), comparing in
    constant time against every stored hash; `issue` makes a subject's token, replacing any
    old one (which stops working as soon as the file is written)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._entries: list[dict[str, str]] = []

    def holder(self, token: str) -> Holder | None:
        given = digest(token).encode()
        found = None
        # Every entry is compared, found or not: the time taken says nothing about which.
        for entry in self._current():
            if hmac.compare_digest(given, entry["sha256"].encode()):
                found = entry
        if found is None:
            return None
        return Holder(found["id"], found["subject"], found["role"], found["created"])

    def holders(self) -> list[Holder]:
        return [Holder(e["id"], e["subject"], e["role"], e["created"]) for e in self._current()]

    def find(self, subject: str) -> Holder | None:
        return next((h for h in self.holders() if h.subject == subject), None)

    def issue(self, subject: str, role: str) -> Issued:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        holder = Holder(
            id=secrets.token_hex(8),
            subject=subject,
            role=role,
            created=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )
        kept = [e for e in self._current() if e["subject"] != subject]
        self._write([*kept, {**asdict(holder), "sha256": digest(token)}])
        return Issued(holder, token)

    def _current(self) -> list[dict[str, str]]:
        """The entries, read again when the file changed since the last look."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._entries = None, []
            return []
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            try:
                entries = json.loads(self.path.read_text(encoding="utf-8"))["tokens"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise TokenError(f"the token store {self.path} cannot be read: {exc}") from exc
            self._seen, self._entries = seen, entries
        return self._entries

    def _write(self, entries: list[dict[str, str]]) -> None:
        """Atomically, owner-only: a reader sees the old file or the new one, never half."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tokens-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"tokens": entries}, out, indent=1)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
