"""`ketenlog export DIR`: the log as an archive (infra/archive.py) — one Avro object container
file per organisation topic and a manifest of counts, offsets and SHA-256 hashes — up to the
end offsets taken at the start, a consistent cut (infra/export.py). `replay --from-archive DIR`
rebuilds from it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from infra.export import ExportError, export_log
from ketenlog.commands.base import CommandError, Progress, Registry, say
from ketenlog.settings import Settings
from ketenlog.signing import registry
from schemas.access import AUDITOR


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
    try:
        exported = export_log(
            settings.kafka(AUDITOR),
            directory,
            lambda total: Progress("export: records", total),
            registry(settings),
        )
    except ExportError as exc:
        raise CommandError(str(exc), exc.exit_code) from exc
    say(f"export: {exported.records:,} records in {directory}")
    # The one value to keep apart from the archive: it pins the manifest, which pins the files.
    say(f"export: manifest SHA-256 {exported.anchor} (keep it apart from the archive)")
    print(exported.anchor)
    return 0
