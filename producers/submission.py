"""What an agency hands the publisher: one fact about one person, before pseudonymisation.

The same shape is one line of a `ketenlog publish` JSONL file (see docs/publish-format.md).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class Submission(BaseModel):
    """An event as an agency submits it. One of `v_nummer` / `person_key` identifies the person
    (neither for events about a location, a task or a policy, which are keyed by their subject);
    `data` holds the event type's own fields (see the schema of `type`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    type: str = Field(description="event type, e.g. AsylumApplicationLodged")
    occurred_at: datetime = Field(description="when it happened (valid time), RFC 3339")
    v_nummer: str | None = Field(default=None, description="the V-nummer; never leaves the agency")
    person_key: str | None = Field(default=None, description="an already pseudonymised person key")
    recorded_at: datetime | None = Field(
        default=None, description="when the agency recorded it; default: now"
    )
    ref: str | None = Field(
        default=None,
        description="the agency's own reference of this fact; makes the event id deterministic",
    )
    case_id: str | None = Field(
        default=None, description="the chain's case reference (a person may have several cases)"
    )
    corrects: str | None = Field(default=None, description="event_id this event corrects")
    retracts: str | None = Field(default=None, description="event_id this event withdraws")
    sensitivity: Literal["NORMAL", "MINOR", "SPECIAL"] | None = Field(
        default=None, description="NORMAL (default), MINOR for events about minors, or SPECIAL"
    )
    correlation_id: str | None = Field(default=None, description="optional tracing id")
    causation_id: str | None = Field(
        default=None, description="optional: the event that caused this"
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description="the event type's own fields (below)"
    )

    @field_validator("corrects", "retracts")
    @classmethod
    def _event_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError("must be the event_id (a UUID) of an earlier event") from None

    @field_validator("occurred_at", "recorded_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone (e.g. 2026-03-01T09:30:00+01:00 or ...Z)")
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            # 0001-01-01T00:00+01:00 is a valid RFC 3339 text but no time in UTC.
            raise ValueError(
                "is out of range: before 0001-01-01 or after 9999-12-31 in UTC"
            ) from None

    @model_validator(mode="after")
    def _one_person(self) -> Submission:
        if self.v_nummer is not None and self.person_key is not None:
            raise ValueError("give v_nummer or person_key, not both")
        if self.corrects and self.retracts:
            raise ValueError("an event corrects or retracts another, not both")
        return self


def problems_of(error: ValidationError) -> list[tuple[str, str]]:
    """(field, reason) for each problem pydantic found, fields as dotted paths."""
    out = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(line)"
        out.append((field, item["msg"]))
    return out
