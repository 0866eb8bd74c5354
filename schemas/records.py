"""A record as it comes off (or goes back onto) a Kafka topic, before any decoding: what the
log readers in infra/ yield and the timeline gate in processors/ takes. Transport only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Raw:
    """A record as it came off an agency topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ms: int

    @classmethod
    def of(cls, m: Any) -> Raw:
        """A kafka-python or aiokafka ConsumerRecord as it came (timestamp in milliseconds)."""
        headers = [(k, bytes(v)) for k, v in m.headers or ()]
        return cls(m.topic, m.partition, m.offset, m.key, m.value, headers, m.timestamp)

    @property
    def broker_time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)
