"""Files that hold V-nummers or secrets (publish's rejects and resend files, its receipts, a
simulation's agency files), created owner-only: 0600 files, 0700 folders we create.

Used by producers.file_publish and producers.simulator.output; infra keeps its own
(infra/kafka_tls.write_private) for keys and credentials.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def open_private(path: Path) -> IO[str]:
    """`path` opened for writing text (truncated), readable and writable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    # O_CREAT's mode applies only to a new file: an existing one is made private too.
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "w", encoding="utf-8", newline="\n")


def private_dir(path: Path) -> None:
    """Create `path` (and parents) owner-only; a folder that exists is left as it is (it is the
    user's choice where to write)."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
