"""The lifecycle fold (pure): from a person's validated timeline facts to their case,
reception, nareis, protection and guardianship states, state changes and anomalies; and the
counts the projections and the end-to-end test compare with the simulator's ground truth.
"""

from domain.lifecycle.anomalies import Anomaly, AnomalyKind
from domain.lifecycle.case import CaseKind, CaseState, CaseStatus
from domain.lifecycle.changes import Lifecycle, StateChange
from domain.lifecycle.effective import Effective, effective, valid_time_key
from domain.lifecycle.person import Identity, PersonState, fold, state_at
from domain.routes import PRECEDENCE

__all__ = [
    "PRECEDENCE",
    "Anomaly",
    "AnomalyKind",
    "CaseKind",
    "CaseState",
    "CaseStatus",
    "Effective",
    "Identity",
    "Lifecycle",
    "PersonState",
    "StateChange",
    "effective",
    "fold",
    "state_at",
    "valid_time_key",
]
