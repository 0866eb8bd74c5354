"""`ketenlog export DIR`: the log as an archive (infra/archive.py) — one Avro object container
file per organisation topic and a manifest of counts, offsets and SHA-256 hashes — up to the
end offsets taken at the start, a consistent cut. `replay --from-archive DIR` rebuilds from it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from infra import archive, kafka_log
from ketenlog.commands.base import CommandError, Progress, Registry, say
from ketenlog.settings import Settings
from schemas.records import Raw
from schemas.topics import event_topics


def register(registry: Registry) -> None:
    parser = registry.add(
        "export",
        _run,
        "Write the log to DIR as Avro object container files, one per organisation topic (any "
        "Avro tool reads them), with manifest.json: counts, offsets, SHA-256 per file, the last "
        "chain link per partition. `replay --from-archive DIR` rebuilds from it without Kafka.",
    )
    parser.add_argument("directory", type=Path, metavar="DIR", help="an empty or new directory")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    directory: Path = args.directory
    if directory.exists() and any(directory.iterdir()):
        raise CommandError(f"{directory} is not empty; export into a new directory", exit_code=2)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        ends = kafka_log.end_offsets(settings.bootstrap, event_topics())
    except kafka_log.KafkaLogError as exc:
        raise CommandError(f"{exc}; is Kafka running (`ketenlog status`)?") from exc
    progress = Progress("export: records", sum(ends.values()))
    topics = {}
    for topic in event_topics():
        parts = sorted(p for t, p in ends if t == topic)

        def counted(partition: int, stop: int, topic: str = topic) -> Iterator[Raw]:
            for record in kafka_log.read(settings.bootstrap, topic, partition, 0, stop):
                progress.tick()
                yield record

        try:
            topics[topic] = archive.write_topic(
                directory, topic, ((p, counted(p, ends[(topic, p)])) for p in parts)
            )
        except kafka_log.KafkaLogError as exc:
            raise CommandError(f"export: {exc}; the export in {directory} is incomplete") from exc
    anchor = archive.write_manifest(directory, topics, settings.bootstrap)
    progress.finish()
    say(f"export: {sum(t['records'] for t in topics.values()):,} records in {directory}")
    # The one value to keep apart from the archive: it pins the manifest, which pins the files.
    say(f"export: manifest SHA-256 {anchor} (keep it apart from the archive)")
    print(anchor)
    return 0
