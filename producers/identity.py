"""Event identity: deterministic ids, so that re-sending the same fact is a duplicate, not a new
fact; and the per-producer sequence that lets consumers detect gaps.
"""

from __future__ import annotations

import time
import uuid

# Fixed namespace for ketenlog event ids (uuid5 of the DNS name; never change it: ids would move).
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "events.ketenlog.nl")


def event_id(org: str, source_ref: str | None) -> str:
    """uuid5(org + the agency's own reference) when there is one; otherwise a random uuid4."""
    if source_ref:
        return str(uuid.uuid5(EVENT_NAMESPACE, f"{org}:{source_ref}"))
    return str(uuid.uuid4())


class Sequence:
    """Monotonic per producer process and across restarts: microseconds since the epoch, bumped
    by one when two events fall in the same microsecond (or the clock steps back)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now = time.time_ns() // 1000
        self._last = max(self._last + 1, now)
        return self._last
