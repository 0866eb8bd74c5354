"""Builders of timeline facts for the unit tests of the fold and of what is derived from it:
one person's events on days after T0, each with a stable event id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.facts import Fact

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PERSON = "ab" * 32


def ev(
    event_type: str,
    day: float,
    case_id: str | None = "ZK1",
    *,
    event_id: str | None = None,
    corrects: str | None = None,
    retracts: str | None = None,
    sensitivity: str = "NORMAL",
    **data: Any,
) -> Fact:
    at = T0 + timedelta(days=day)
    return Fact(
        event_id=event_id or str(uuid.uuid5(uuid.NAMESPACE_OID, f"{event_type}{day}{case_id}")),
        event_type=event_type,
        producer="IND",
        person_key=PERSON,
        case_id=case_id,
        occurred_at=at,
        recorded_at=at + timedelta(hours=1),
        corrects=corrects,
        retracts=retracts,
        sensitivity=sensitivity,
        data=data,
    )


def arrival(day: float = 0, case_id: str = "ZK1", group: str = "FIRST") -> Fact:
    return ev("ArrivalReported", day, case_id, applicant_group=group, reporting_location="TER_APEL")


def lodged(day: float = 1, case_id: str = "ZK1", kind: str = "FIRST") -> Fact:
    return ev(
        "AsylumApplicationLodged", day, case_id, application_type=kind, unaccompanied_minor=False
    )


def track(day: float, name: str, case_id: str = "ZK1") -> Fact:
    return ev("TrackAssigned", day, case_id, track=name)


def decision(day: float, outcome: str, status: str | None = None) -> Fact:
    return ev("DecisionIssued", day, outcome=outcome, status=status, departure_deadline=None)


def lawyer(day: float, assignment: str = "TV-1", case_id: str = "ZK1") -> Fact:
    return ev("LawyerAssigned", day, case_id, assignment_id=assignment, matter="ASYLUM_APPLICATION")


def lawyer_gone(day: float, reason: str, assignment: str = "TV-1") -> Fact:
    return ev("LegalAidAssignmentEnded", day, assignment_id=assignment, end_reason=reason)
