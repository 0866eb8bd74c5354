"""A validated timeline event as the lifecycle fold sees it: the envelope, the payload as plain
JSON-able values, and where it sits on `keten.timeline`. Built by the timeline processor from a
decoded Avro record; stored as compact JSON next to the projections.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import orjson

UNKNOWN_POSITION = -1


@dataclass(frozen=True, slots=True)
class Fact:
    """One validated timeline event. `data` holds the payload fields only: dates as ISO strings,
    enums as strings, uuids as strings."""

    event_id: str
    event_type: str
    producer: str
    person_key: str
    case_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    corrects: str | None
    retracts: str | None
    sensitivity: str
    data: Mapping[str, Any]
    topic: str = ""
    partition: int = UNKNOWN_POSITION
    offset: int = UNKNOWN_POSITION
    logged_at: datetime | None = None
    """When the broker appended the record to the agency topic (its record timestamp, which
    the broker bounds to its own clock): the chain's system time, which the publisher cannot
    set, unlike `recorded_at`. Like the position, not part of the fact's content."""

    @property
    def key(self) -> tuple[str, str]:
        """Its identity in the store: event id within person (processors.ports.FactKey)."""
        return (self.event_id, self.person_key)

    def __hash__(self) -> int:
        # `data` is a dict; equal facts share id and position, which is enough to hash.
        return hash((self.event_id, self.topic, self.partition, self.offset))

    @classmethod
    def from_record(
        cls,
        record: Mapping[str, Any],
        topic: str = "",
        partition: int = UNKNOWN_POSITION,
        offset: int = UNKNOWN_POSITION,
        logged_at: datetime | None = None,
    ) -> Fact:
        """From a decoded Avro record (`schemas.codec.decode(value).record`)."""
        env = record["envelope"]
        return cls(
            event_id=str(env["event_id"]),
            event_type=str(env["event_type"]),
            producer=str(env["producer"]),
            person_key=str(env["person_key"]),
            case_id=_opt_str(env.get("case_id")),
            occurred_at=_utc(env["occurred_at"]),
            recorded_at=_utc(env["recorded_at"]),
            corrects=_opt_str(env.get("corrects")),
            retracts=_opt_str(env.get("retracts")),
            sensitivity=str(env.get("sensitivity") or "NORMAL"),
            data={k: _plain(v) for k, v in record.items() if k != "envelope"},
            topic=topic,
            partition=partition,
            offset=offset,
            logged_at=logged_at,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.event_id,
            "type": self.event_type,
            "producer": self.producer,
            "person": self.person_key,
            "occ": _micros(self.occurred_at),
            "rec": _micros(self.recorded_at),
            "data": dict(self.data),
        }
        # Absent rather than null: most facts have no case, correction or position.
        for key, value in (
            ("case", self.case_id),
            ("corrects", self.corrects),
            ("retracts", self.retracts),
        ):
            if value is not None:
                out[key] = value
        if self.sensitivity != "NORMAL":
            out["sens"] = self.sensitivity
        if self.topic:
            out["pos"] = [self.topic, self.partition, self.offset]
        if self.logged_at is not None:
            out["logged"] = _micros(self.logged_at)
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Fact:
        topic, partition, offset = raw.get("pos", ("", UNKNOWN_POSITION, UNKNOWN_POSITION))
        return cls(
            event_id=raw["id"],
            event_type=raw["type"],
            producer=raw["producer"],
            person_key=raw["person"],
            case_id=raw.get("case"),
            occurred_at=_from_micros(raw["occ"]),
            recorded_at=_from_micros(raw["rec"]),
            corrects=raw.get("corrects"),
            retracts=raw.get("retracts"),
            sensitivity=raw.get("sens", "NORMAL"),
            data=dict(raw["data"]),
            topic=topic,
            partition=int(partition),
            offset=int(offset),
            logged_at=None if raw.get("logged") is None else _from_micros(raw["logged"]),
        )

    def to_json(self) -> str:
        """Compact, stable JSON (sorted keys; times as integer microseconds since the epoch)."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Fact:
        return cls.from_dict(orjson.loads(text))

    def same_content(self, other: Fact) -> bool:
        """Equal as a fact, wherever and whenever each copy sits on the log (a re-send is the
        same fact)."""
        where = {"pos": None, "logged": None}
        return self.to_dict() | where == other.to_dict() | where


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamps must be time-zone aware")
        return value.astimezone(UTC)
    if isinstance(value, int):
        return _from_micros(value)
    raise TypeError(f"not a timestamp: {value!r}")


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


_ALREADY_PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    """A payload value as JSON can hold it."""
    # Most payload values are strings and numbers: answer them before six isinstance checks.
    if type(value) in _ALREADY_PLAIN:
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
