"""What every lifecycle step of the fold leaves behind: a state change naming the event that
caused it, so a person's timeline shows why each state was reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.lifecycle.anomalies import Anomaly


class Lifecycle(StrEnum):
    CASE = "CASE"
    RECEPTION = "RECEPTION"
    NAREIS = "NAREIS"
    PROTECTION = "PROTECTION"
    GUARDIANSHIP = "GUARDIANSHIP"


@dataclass(frozen=True, slots=True)
class StateChange:
    event_id: str
    occurred_at: datetime
    lifecycle: Lifecycle
    subject: str
    """The case id for CASE and NAREIS; the lifecycle's name for the per-person ones."""
    from_state: str | None
    to_state: str
    detail: str | None = None


@dataclass(slots=True)
class Log:
    """The fold's output so far: changes and anomalies in fold order (internal, mutable)."""

    changes: list[StateChange] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
