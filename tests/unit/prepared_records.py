"""Records as the publisher prepares them, for the unit tests of the gate and of signatures:
the key and value of one event, with its CloudEvents headers kept by value in HEADERS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from producers.prepare import Preparer
from producers.submission import Submission

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
HEADERS: dict[bytes, list[tuple[str, bytes]]] = {}


def record(org: str, type_: str, data: dict[str, Any], ref: str) -> tuple[bytes, bytes]:
    preparer = Preparer(b"g" * 32, "urn:x", clock=lambda: NOW)
    sub = Submission(
        type=type_, v_nummer="1234567890", occurred_at=NOW - timedelta(days=1), ref=ref, data=data
    )
    prepared = preparer.prepare(org, sub)
    HEADERS[prepared.value] = prepared.headers
    return prepared.key, prepared.value
