"""The timeline processor's gate: one raw record from an agency topic in, either a decoded,
checked event or a rejection with its reason out. Pure: the faust app calls it per record.

A record is accepted only when it decodes with a released schema, its envelope is complete,
the organisation that sent it owns the topic (an organisation cannot speak for another), its
key is the person key in its envelope, and its times are plausible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from schemas.codec import Codec, Decoded, DecodeError, UnknownFingerprintError
from schemas.topics import owner_of

# Agencies' clocks drift; a recorded time a little after the broker received it is tolerated.
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
REQUIRED = ("event_id", "event_type", "producer", "person_key", "occurred_at", "recorded_at")


class Reason(StrEnum):
    """Why a record went to the dead-letter topic (header `dl_reason`)."""

    EMPTY = "EMPTY"
    UNDECODABLE = "UNDECODABLE"
    UNKNOWN_FINGERPRINT = "UNKNOWN_FINGERPRINT"
    ENVELOPE_INCOMPLETE = "ENVELOPE_INCOMPLETE"
    NOT_AN_EVENT_TOPIC = "NOT_AN_EVENT_TOPIC"
    WRONG_PRODUCER = "WRONG_PRODUCER"
    KEY_MISMATCH = "KEY_MISMATCH"
    IMPLAUSIBLE_TIME = "IMPLAUSIBLE_TIME"


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Accepted:
    decoded: Decoded

    @property
    def record(self) -> dict[str, Any]:
        return self.decoded.record


def check(
    codec: Codec,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    broker_time: datetime,
) -> Accepted | Rejected:
    """Decode and check one record from an agency topic; `broker_time` is the record timestamp."""
    if not value:
        return Rejected(Reason.EMPTY, "the record has no value")
    try:
        decoded = codec.decode(value)
    except UnknownFingerprintError as exc:
        return Rejected(Reason.UNKNOWN_FINGERPRINT, exc.reason)
    except DecodeError as exc:
        return Rejected(Reason.UNDECODABLE, exc.reason)
    envelope = decoded.record.get("envelope") or {}
    missing = [name for name in REQUIRED if envelope.get(name) in (None, "")]
    if missing:
        return Rejected(Reason.ENVELOPE_INCOMPLETE, f"envelope lacks {', '.join(missing)}")
    if envelope["event_type"] != decoded.event_type:
        return Rejected(
            Reason.ENVELOPE_INCOMPLETE,
            f"envelope.event_type {envelope['event_type']!r} is not {decoded.event_type!r}",
        )
    owner = owner_of(topic)
    if owner is None:
        return Rejected(Reason.NOT_AN_EVENT_TOPIC, f"{topic} is no organisation's event topic")
    producer = str(envelope["producer"])
    if producer != owner.value:
        return Rejected(
            Reason.WRONG_PRODUCER, f"producer {producer} published on {topic}, owned by {owner}"
        )
    if not codec.registry.may_publish(owner, decoded.event_type):
        return Rejected(
            Reason.WRONG_PRODUCER, f"{decoded.event_type} is not an event type of {owner}"
        )
    if key is not None and key.decode("utf-8", "replace") != envelope["person_key"]:
        return Rejected(Reason.KEY_MISMATCH, "the record key is not the envelope's person_key")
    occurred: datetime = envelope["occurred_at"]
    recorded: datetime = envelope["recorded_at"]
    if recorded > broker_time + CLOCK_SKEW:
        return Rejected(
            Reason.IMPLAUSIBLE_TIME,
            f"recorded_at {recorded.isoformat()} is after the broker received it "
            f"({broker_time.isoformat()})",
        )
    if occurred > recorded + CLOCK_SKEW:
        return Rejected(
            Reason.IMPLAUSIBLE_TIME,
            f"occurred_at {occurred.isoformat()} is after recorded_at {recorded.isoformat()}",
        )
    if occurred < EARLIEST:
        return Rejected(Reason.IMPLAUSIBLE_TIME, f"occurred_at {occurred.isoformat()} is too old")
    return Accepted(decoded)
