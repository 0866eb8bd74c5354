"""The disclosure control every analyst figure passes (projections.disclosure), as configured:
its parameters from the settings and the server's secret disclosure key, read from its file
(KETENLOG_DISCLOSURE_KEY_FILE; default keys/disclosure.key under KETENLOG_HOME), made there,
random and owner-only, on first use. The key never leaves the server: with it, the noise of a
cell could be computed and taken off."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ketenlog.settings import Settings
from projections.disclosure import Disclosure

KEY_BYTES = 32


def disclosure(settings: Settings) -> Disclosure:
    return Disclosure(
        minimum=settings.disclosure_min,
        rounding=settings.disclosure_round,
        noise=settings.disclosure_noise,
        secret=read_or_make(settings.disclosure_key_file),
        statistic_minimum=settings.disclosure_statistic_min,
    )


def read_or_make(path: Path) -> bytes:
    """The key in `path`; a new random one written there (mode 0600) when there is none."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made by another process just now: read that one
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_hex(KEY_BYTES).encode())
    key = path.read_bytes().strip()
    if len(key) < KEY_BYTES:
        raise SystemExit(
            f"disclosure key file {path} (KETENLOG_DISCLOSURE_KEY_FILE) holds {len(key)} bytes; "
            f"it needs at least {KEY_BYTES} (remove it and a new one is made)"
        )
    return key
