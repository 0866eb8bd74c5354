"""Every event schema version under schemas/avro, indexed by (event type, version) and by
fingerprint. The codec, the validator, CloudEvents headers and code generation all read from here.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from schemas.canonical import canonical_form, crc64_avro, full_name, namespace_of
from schemas.errors import SchemaError
from schemas.topics import CO_PUBLISHERS, Org

ENVELOPE_FILE = "envelope.avsc"
NAMESPACE = "nl.keten"
COMMON = "common"
"""Directory (and namespace suffix) of event types any organisation may publish."""

_FILE_NAME = re.compile(r"^(?P<type>[A-Z][A-Za-z0-9]*)\.v(?P<version>[1-9][0-9]*)\.avsc$")


@dataclass(frozen=True)
class SchemaVersion:
    """One released or unreleased version of one event type, as read from its .avsc file."""

    event_type: str
    version: int
    org: Org | None
    """The organisation that owns the type; None for a type any organisation may publish."""
    path: str
    """Path relative to schemas/avro, e.g. `ind/DecisionIssued.v1.avsc`."""
    schema: Mapping[str, Any] = field(repr=False)
    canonical_form: str = field(repr=False)
    fingerprint: int
    ce_type: str
    subject_key: str | None
    """Template of envelope.person_key for events that are not about a person, e.g.
    `location:{location_id}`; None for events keyed by the pseudonymous person key."""
    named_types: Mapping[str, Mapping[str, Any]] = field(repr=False)
    """Every named type defined in the file, by full name."""

    @property
    def full_name(self) -> str:
        return str(self.schema["namespace"]) + "." + self.event_type

    @property
    def fingerprint_bytes(self) -> bytes:
        """The fingerprint as the single-object encoding writes it: 8 bytes little-endian."""
        return self.fingerprint.to_bytes(8, "little")


def collect_named_types(schema: Any, namespace: str = "") -> dict[str, Mapping[str, Any]]:
    """Every record, enum and fixed definition in a schema, by full name."""
    found: dict[str, Mapping[str, Any]] = {}

    def walk(node: Any, ns: str) -> None:
        if isinstance(node, list):
            for branch in node:
                walk(branch, ns)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in ("record", "error", "enum", "fixed"):
                name = full_name(node["name"], node.get("namespace") or ns)
                found[name] = node
                for fld in node.get("fields", []):
                    walk(fld["type"], namespace_of(name))
            elif kind == "array":
                walk(node["items"], ns)
            elif kind == "map":
                walk(node["values"], ns)
            elif isinstance(kind, dict | list):
                walk(kind, ns)

    walk(schema, namespace)
    return found


def load_version(relative_path: str, text: str) -> SchemaVersion:
    """Parse one event .avsc file and check the conventions its path and attributes follow."""
    parts = relative_path.split("/")
    match = _FILE_NAME.match(parts[-1])
    if len(parts) != 2 or match is None:
        raise SchemaError(f"{relative_path}: expected <org>/<EventName>.v<N>.avsc")
    directory, event_type, version = parts[0], match["type"], int(match["version"])
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{relative_path}: not JSON: {exc}") from exc
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise SchemaError(f"{relative_path}: the top level must be a record")
    if schema.get("name") != event_type:
        raise SchemaError(f"{relative_path}: record name {schema.get('name')!r} != {event_type!r}")
    if schema.get("namespace") != f"{NAMESPACE}.{directory}":
        raise SchemaError(f"{relative_path}: namespace must be {NAMESPACE}.{directory}")
    if directory == COMMON:
        org = None
    else:
        try:
            org = Org(directory.upper())
        except ValueError as exc:
            raise SchemaError(f"{relative_path}: {directory!r} is not an organisation") from exc
    ce_type = schema.get("ce_type")
    if not isinstance(ce_type, str) or not ce_type.endswith(f".v{version}"):
        raise SchemaError(f"{relative_path}: ce_type must be set and end with .v{version}")
    fields = schema.get("fields") or []
    if not fields or fields[0].get("name") != "envelope":
        raise SchemaError(f"{relative_path}: the first field must be the inlined envelope")
    canonical = canonical_form(schema)
    subject_key = schema.get("subject_key")
    return SchemaVersion(
        event_type=event_type,
        version=version,
        org=org,
        path=relative_path,
        schema=schema,
        canonical_form=canonical,
        fingerprint=crc64_avro(canonical.encode("utf-8")),
        ce_type=ce_type,
        subject_key=subject_key if isinstance(subject_key, str) else None,
        named_types=collect_named_types(schema),
    )


def default_root() -> Traversable:
    """schemas/avro as installed package data."""
    return resources.files("schemas").joinpath("avro")


def _avsc_files(root: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _avsc_files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".avsc") and not (prefix == "" and entry.name == ENVELOPE_FILE):
            yield f"{prefix}{entry.name}", entry


class Registry:
    """All schema versions, indexed for the codec and for everyone who asks about event types."""

    def __init__(self, versions: Iterable[SchemaVersion], envelope: Mapping[str, Any]) -> None:
        self.envelope = envelope
        self._by_key: dict[tuple[str, int], SchemaVersion] = {}
        self._by_fingerprint: dict[int, SchemaVersion] = {}
        self._versions: dict[str, list[SchemaVersion]] = {}
        self._may_publish: dict[tuple[Org | str, str], bool] = {}
        for sv in versions:
            key = (sv.event_type, sv.version)
            if key in self._by_key:
                raise SchemaError(f"{sv.path}: {sv.event_type} v{sv.version} is defined twice")
            clash = self._by_fingerprint.get(sv.fingerprint)
            if clash is not None:
                raise SchemaError(f"{sv.path}: same canonical form as {clash.path}")
            owners = {v.org for v in self._versions.get(sv.event_type, [])}
            if owners and owners != {sv.org}:
                raise SchemaError(f"{sv.path}: {sv.event_type} already belongs to another owner")
            self._by_key[key] = sv
            self._by_fingerprint[sv.fingerprint] = sv
            self._versions.setdefault(sv.event_type, []).append(sv)
        for event_type, listed in self._versions.items():
            listed.sort(key=lambda v: v.version)
            numbers = [v.version for v in listed]
            if numbers != list(range(1, len(numbers) + 1)):
                raise SchemaError(
                    f"{event_type}: versions must be 1..N without gaps, got {numbers}"
                )

    @classmethod
    def load(cls, root: Traversable | Path | None = None) -> Registry:
        """Read every .avsc under `root` (default: the installed schemas/avro)."""
        base: Traversable = default_root() if root is None else root
        versions = [load_version(rel, f.read_text("utf-8")) for rel, f in _avsc_files(base)]
        envelope = json.loads(base.joinpath(ENVELOPE_FILE).read_text("utf-8"))
        return cls(versions, envelope)

    def all(self) -> list[SchemaVersion]:
        """Every version of every type, ordered by type then version."""
        return [sv for t in self.event_types() for sv in self._versions[t]]

    def event_types(self) -> list[str]:
        return sorted(self._versions)

    def event_types_of(self, org: Org | str) -> list[str]:
        """The types an organisation owns (not counting the common ones)."""
        owner = Org(org)
        return [t for t in self.event_types() if self._versions[t][0].org is owner]

    def co_published_by(self, org: Org | str) -> list[str]:
        """The types another organisation owns that `org` may also publish (CO_PUBLISHERS)."""
        publisher = Org(org)
        return [t for t in self.event_types() if publisher in CO_PUBLISHERS.get(t, ())]

    def common_event_types(self) -> list[str]:
        """Types any organisation may publish, such as EventRetracted and PersonErased."""
        return [t for t in self.event_types() if self._versions[t][0].org is None]

    def org_of(self, event_type: str) -> Org | None:
        """The owning organisation; None for a common type."""
        return self.versions(event_type)[0].org

    def may_publish(self, org: Org | str, event_type: str) -> bool:
        """Whether `org` may publish `event_type` on its own topic."""
        # Asked for every record the gate reads; the registry does not change once loaded.
        answer = self._may_publish.get((org, event_type))
        if answer is None:
            answer = self._may_publish[(org, event_type)] = self._allowed(org, event_type)
        return answer

    def _allowed(self, org: Org | str, event_type: str) -> bool:
        if event_type not in self._versions:
            return False
        owner = self.org_of(event_type)
        return owner is None or owner is Org(org) or Org(org) in CO_PUBLISHERS.get(event_type, ())

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._versions

    def versions(self, event_type: str) -> list[SchemaVersion]:
        try:
            return list(self._versions[event_type])
        except KeyError:
            raise KeyError(f"unknown event type {event_type!r}") from None

    def get(self, event_type: str, version: int) -> SchemaVersion:
        try:
            return self._by_key[(event_type, version)]
        except KeyError:
            raise KeyError(f"unknown schema version {event_type} v{version}") from None

    def latest(self, event_type: str) -> SchemaVersion:
        return self.versions(event_type)[-1]

    def latest_version(self, event_type: str) -> int:
        return self.latest(event_type).version

    def by_fingerprint(self, fingerprint: int) -> SchemaVersion | None:
        return self._by_fingerprint.get(fingerprint)

    def ce_type(self, event_type: str, version: int | None = None) -> str:
        sv = self.latest(event_type) if version is None else self.get(event_type, version)
        return sv.ce_type


@functools.cache
def default_registry() -> Registry:
    """The registry of the installed schemas, loaded once."""
    return Registry.load()
