"""Schema evolution rules, checked in CI: every version of an event type must be readable by every
other version of it, both ways (full transitive compatibility), with the reference `avro` package's
checker. Not on the hot path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from schemas.registry import Registry, SchemaVersion


@dataclass(frozen=True)
class Incompatibility:
    """Data written with `writer` cannot be read with `reader`."""

    reader: str
    writer: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        listed = "; ".join(self.problems)
        return f"{self.reader} cannot read data written with {self.writer}: {listed}"


def parse(schema: Mapping[str, Any]) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(schema))


def check_pair(
    reader: Mapping[str, Any], writer: Mapping[str, Any], reader_name: str, writer_name: str
) -> Incompatibility | None:
    """None if `reader` can read what `writer` wrote; otherwise what stands in the way, with the
    location (field path) of each problem."""
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(parse(reader), parse(writer))
    if result.compatibility is SchemaCompatibilityType.compatible:
        return None
    kinds = sorted(str(getattr(k, "value", k)) for k in result.incompatibilities)
    problems = _explain(reader, writer, kinds, result.messages, result.locations)
    return Incompatibility(reader_name, writer_name, problems)


def _explain(
    reader: Mapping[str, Any],
    writer: Mapping[str, Any],
    kinds: Iterable[str],
    messages: Iterable[str],
    locations: Iterable[str],
) -> tuple[str, ...]:
    explained = []
    writer_fields = {f["name"] for f in writer.get("fields", [])}
    for fld in reader.get("fields", []):
        if fld["name"] not in writer_fields and "default" not in fld:
            explained.append(
                f"field {fld['name']!r} is new and has no default: give it a default "
                "(e.g. make it optional with default null)"
            )
    explained.append(
        f"avro checker: {', '.join(kinds)}: {', '.join(sorted(map(str, messages)))} "
        f"(at {', '.join(sorted(locations))})"
    )
    return tuple(explained)


def check_versions(versions: Iterable[SchemaVersion]) -> list[Incompatibility]:
    """Every ordered pair of distinct versions, both directions."""
    listed = list(versions)
    found = []
    for a in listed:
        for b in listed:
            if a is not b:
                problem = check_pair(a.schema, b.schema, _label(a), _label(b))
                if problem is not None:
                    found.append(problem)
    return found


def check_registry(registry: Registry) -> list[Incompatibility]:
    """Full transitive compatibility of every event type in the registry."""
    found = []
    for event_type in registry.event_types():
        found.extend(check_versions(registry.versions(event_type)))
    return found


def _label(sv: SchemaVersion) -> str:
    return f"{sv.event_type} v{sv.version} ({sv.path})"
