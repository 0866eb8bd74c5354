"""The live log into an archive (`ketenlog export`): every organisation topic up to the end
offsets taken at the start — a consistent cut — written with infra.archive, then the manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from infra import archive, kafka_log
from schemas.access import KafkaAccess
from schemas.records import Raw
from schemas.topics import event_topics


class Ticker(Protocol):
    def tick(self, n: int = 1) -> None: ...
    def finish(self) -> None: ...


class ExportError(Exception):
    """The export could not start or is incomplete; `exit_code` 2 for a wrong directory."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Exported:
    records: int
    # The manifest's SHA-256: the one value to keep apart from the archive.
    anchor: str


def export_log(
    kafka: KafkaAccess,
    directory: Path,
    progress: Callable[[int], Ticker],
    signing_keys: dict[str, Any],
) -> Exported:
    """Write every organisation topic to `directory` (new or empty), with the public-key
    registry `signing_keys`; `progress(total)` counts the records read."""
    if directory.exists() and any(directory.iterdir()):
        raise ExportError(f"{directory} is not empty; export into a new directory", exit_code=2)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        ends = kafka_log.end_offsets(kafka, event_topics())
    except kafka_log.KafkaLogError as exc:
        raise ExportError(f"{exc}; is Kafka running (`ketenlog status`)?") from exc
    ticker = progress(sum(ends.values()))
    topics: dict[str, Any] = {}
    for topic in event_topics():
        parts = sorted(p for t, p in ends if t == topic)

        def counted(partition: int, stop: int, topic: str = topic) -> Iterator[Raw]:
            for record in kafka_log.read(kafka, topic, partition, 0, stop):
                ticker.tick()
                yield record

        try:
            topics[topic] = archive.write_topic(
                directory, topic, ((p, counted(p, ends[(topic, p)])) for p in parts)
            )
        except kafka_log.KafkaLogError as exc:
            raise ExportError(f"export: {exc}; the export in {directory} is incomplete") from exc
    anchor = archive.write_manifest(directory, topics, kafka.bootstrap, signing_keys)
    ticker.finish()
    return Exported(sum(t["records"] for t in topics.values()), anchor)
