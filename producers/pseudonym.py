"""Pseudonymisation at the edge: agencies know a person by V-nummer; the chain only ever sees
the person key, a keyed HMAC of it. Resolving a key back needs the chain key and the agency's
own records — a restricted operation that ketenlog does not offer.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

_V_NUMMER = re.compile(r"^\d{10}$")
MIN_KEY_BYTES = 32


class ChainKeyError(Exception):
    """The chain key is missing or too weak; the message says where it is looked for."""


def normalise_v_nummer(raw: str) -> str:
    """A V-nummer is ten digits; agencies write it with dots or spaces (e.g. 1234.567.890)."""
    digits = re.sub(r"[\s.\-]", "", raw)
    if not _V_NUMMER.match(digits):
        raise ValueError("v_nummer must be 10 digits (dots, spaces and dashes are ignored)")
    return digits


def person_key(v_nummer: str, chain_key: bytes) -> str:
    """The pseudonymous person key: HMAC-SHA256 of the normalised V-nummer, hex (64 chars)."""
    return hmac.new(chain_key, normalise_v_nummer(v_nummer).encode(), hashlib.sha256).hexdigest()


NO_KEY = (
    "no chain key: set KETENLOG_CHAIN_KEY (at least {n} bytes) or KETENLOG_CHAIN_KEY_FILE (a "
    "file holding it). Every organisation of one chain must use the same key, or one V-nummer "
    "gets a different person key at each; ketenlog never makes one up (only `ketenlog demo` "
    "does, for its own simulated data, and says so)."
)


def load_chain_key(value: str | None, key_file: Path | None) -> bytes:
    """The chain key from a setting (its text) or a key file (its contents, stripped); a
    ChainKeyError saying how to set one when neither is given."""
    if value:
        key = value.encode()
    elif key_file is not None:
        if not key_file.is_file():
            raise ChainKeyError(f"chain key file {key_file} (KETENLOG_CHAIN_KEY_FILE) not found")
        key = key_file.read_bytes().strip()
    else:
        raise ChainKeyError(NO_KEY.format(n=MIN_KEY_BYTES))
    if len(key) < MIN_KEY_BYTES:
        raise ChainKeyError(f"the chain key must be at least {MIN_KEY_BYTES} bytes")
    return key


def demo_chain_key(path: Path) -> tuple[bytes, bool]:
    """The demo's own key for simulated data: read from `path`, made there (random, mode 0600)
    on first use. Returns the key and whether it was made now."""
    made = False
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_hex(32).encode())
        made = True
    return path.read_bytes().strip(), made
