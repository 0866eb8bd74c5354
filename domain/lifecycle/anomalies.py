"""Facts that do not fit: the fold keeps them, derives the state anyway and records an anomaly.
Anomalies are a pure function of a person's effective events (and of the cut-off time for
`state_at`), so they are the same in any delivery order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AnomalyKind(StrEnum):
    """The closed set of misfits the fold recognises (docs/lifecycle.md explains each)."""

    # effective events
    CONFLICTING_DUPLICATE = "CONFLICTING_DUPLICATE"
    CORRECTION_OF_UNKNOWN_EVENT = "CORRECTION_OF_UNKNOWN_EVENT"
    RETRACTION_OF_UNKNOWN_EVENT = "RETRACTION_OF_UNKNOWN_EVENT"
    # case lifecycle
    EVENT_WITHOUT_CASE = "EVENT_WITHOUT_CASE"
    DECISION_WITHOUT_APPLICATION = "DECISION_WITHOUT_APPLICATION"
    DEPARTURE_AFTER_GRANT = "DEPARTURE_AFTER_GRANT"
    HOUSING_WITHOUT_GRANT = "HOUSING_WITHOUT_GRANT"
    EVENT_AFTER_DEPARTURE = "EVENT_AFTER_DEPARTURE"
    UNEXPECTED_TRANSITION = "UNEXPECTED_TRANSITION"
    DECISION_WITHOUT_LEGAL_AID = "DECISION_WITHOUT_LEGAL_AID"
    BORDER_PROCEDURE_EXCEEDED = "BORDER_PROCEDURE_EXCEEDED"
    # reception
    DUPLICATE_RECEPTION_START = "DUPLICATE_RECEPTION_START"
    PLACEMENT_WITHOUT_RECEPTION = "PLACEMENT_WITHOUT_RECEPTION"
    RECEPTION_END_WITHOUT_START = "RECEPTION_END_WITHOUT_START"
    LOCATION_MISMATCH = "LOCATION_MISMATCH"
    RECEPTION_AFTER_DEPARTURE = "RECEPTION_AFTER_DEPARTURE"
    # nareis, temporary protection, guardianship
    NAREIS_OUT_OF_ORDER = "NAREIS_OUT_OF_ORDER"
    DUPLICATE_SHELTER_START = "DUPLICATE_SHELTER_START"
    SHELTER_END_WITHOUT_START = "SHELTER_END_WITHOUT_START"
    GUARDIANSHIP_END_WITHOUT_START = "GUARDIANSHIP_END_WITHOUT_START"


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: AnomalyKind
    event_id: str
    occurred_at: datetime
    case_id: str | None
    detail: str
