"""The retention rule for personal data (docs/security.md "Personal data and erasure"): a
person's personal fields are erased `PERSONAL_FIELDS_YEARS` after their last event (valid
time), the term of the Eurodac regulation for applicants' data (domain.md §6). Counts, states
and the pseudonymous key stay: they are what the figures are made of and identify no one once
the attributes are gone. Pure: `ketenlog retention` gives it the persons and the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

PERSONAL_FIELDS_YEARS = 10


@dataclass(frozen=True)
class LastSeen:
    """A person's last event other than an erasure, and their last erasure (if any)."""

    person_key: str
    last_event: datetime
    erased_at: datetime | None


def expiry(last_event: datetime, years: int = PERSONAL_FIELDS_YEARS) -> datetime:
    """When personal data of a person last seen at `last_event` is due for erasure."""
    try:
        return last_event.replace(year=last_event.year + years)
    except ValueError:  # 29 February
        return last_event.replace(year=last_event.year + years, day=28)


def due(
    persons: Iterable[LastSeen], now: datetime, years: int = PERSONAL_FIELDS_YEARS
) -> list[str]:
    """The persons whose personal fields must be erased at `now`: their term has passed and no
    erasure followed their last event."""
    return sorted(
        p.person_key
        for p in persons
        if expiry(p.last_event, years) <= now
        and (p.erased_at is None or p.erased_at < p.last_event)
    )
