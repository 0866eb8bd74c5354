"""Event identity: deterministic ids, so that re-sending the same fact is a duplicate, not a new
fact; and the per-producer sequence that lets consumers detect gaps.
"""

from __future__ import annotations

import time
import uuid

from producers.pseudonym import person_key

# Fixed namespace for ketenlog event ids (uuid5 of the DNS name; never change it: ids would move).
EVENT_NAMESPACE_NAME = "events.ketenlog.nl"
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, EVENT_NAMESPACE_NAME)


def event_id(org: str, source_ref: str | None) -> str:
    """uuid5(org + the agency's own reference) when there is one; otherwise a random uuid4."""
    if source_ref:
        return str(uuid.uuid5(EVENT_NAMESPACE, f"{org}:{source_ref}"))
    return str(uuid.uuid4())


def ids_of(
    *,
    org: str | None = None,
    ref: str | None = None,
    v_nummer: str | None = None,
    chain_key: bytes | None = None,
) -> dict[str, str]:
    """The ids an agency needs to refer to what it published (`ketenlog ids`): the event id of
    its reference (to correct or retract that event) and the person key of a V-nummer (to name
    a sponsor), computed exactly as the publisher puts them on the wire. Raises ValueError."""
    ids: dict[str, str] = {}
    if ref is not None:
        if not org or not ref:
            raise ValueError("an event id needs the organisation and a non-empty reference")
        ids["event_id"] = event_id(org, ref)
    if v_nummer is not None:
        if chain_key is None:
            raise ValueError("a person key needs the chain key")
        ids["person_key"] = person_key(v_nummer, chain_key)
    return ids


class Sequence:
    """Monotonic per producer process and across restarts: microseconds since the epoch, bumped
    by one when two events fall in the same microsecond (or the clock steps back)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now = time.time_ns() // 1000
        self._last = max(self._last + 1, now)
        return self._last
