"""CloudEvents attributes for a record on Kafka: NL GOV profile, Kafka protocol binding, binary
content mode. The value is the Avro single-object bytes; the attributes travel as headers. No
personal identifier (person key, case id, V-nummer) goes into any header.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.registry import Registry, SchemaVersion, default_registry
from schemas.topics import Org

SPECVERSION = "1.0"
CONTENT_TYPE = "application/avro"
DEFAULT_OIN_PREFIX = "urn:nld:oin:00000000000000000000"
"""Placeholder until the organisations' real OINs are configured (settings `oin_prefix`)."""
DATASCHEMA_PREFIX = "urn:ketenlog:schema:"
SEQUENCE_DIGITS = 19
"""Wide enough for any non-negative Avro long, so zero-padded sequences sort as numbers do."""

Headers = list[tuple[str, bytes]]
_SOURCE = re.compile(r"^(?P<prefix>urn:nld:oin:[^:]+):systeem:(?P<system>[a-z0-9-]+)$")


@dataclass(frozen=True)
class CloudEventAttributes:
    """The CloudEvents context attributes of one Kafka record."""

    id: str
    source: str
    type: str
    time: dt.datetime
    specversion: str = SPECVERSION
    datacontenttype: str = CONTENT_TYPE
    dataschema: str | None = None
    sequence: str | None = None

    @property
    def org(self) -> Org | None:
        """The organisation named by the source, if it names one."""
        match = _SOURCE.match(self.source)
        if match is None:
            return None
        try:
            return Org(match["system"].upper())
        except ValueError:
            return None

    @property
    def producer_seq(self) -> int | None:
        return None if self.sequence is None else int(self.sequence)


def source_system(source: str) -> str | None:
    """The system part of a `ce_source` (`urn:nld:oin:…:systeem:ind` -> `ind`); None when the
    source names no system. The OIN prefix before it is each deployment's setting."""
    prefix, sep, system = source.rpartition(":systeem:")
    return system if sep and prefix else None


def ce_source(org: Org | str, oin_prefix: str = DEFAULT_OIN_PREFIX) -> str:
    """`<oin prefix>:systeem:<org lowercase>`, e.g. urn:nld:oin:…:systeem:ind."""
    return f"{oin_prefix}:systeem:{Org(org).value.lower()}"


def ce_dataschema(sv: SchemaVersion) -> str:
    """A URN naming the .avsc file, e.g. urn:ketenlog:schema:ind/DecisionIssued.v2.avsc."""
    return DATASCHEMA_PREFIX + sv.path


def format_time(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with microseconds and a Z."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_sequence(producer_seq: int) -> str:
    if producer_seq < 0:
        raise ValueError("producer_seq must not be negative")
    return str(producer_seq).zfill(SEQUENCE_DIGITS)


def attributes_for(
    event_type: str,
    record: Mapping[str, Any],
    *,
    version: int | None = None,
    oin_prefix: str = DEFAULT_OIN_PREFIX,
    registry: Registry | None = None,
) -> CloudEventAttributes:
    """The attributes of a record about to be published (version defaults to the latest)."""
    reg = registry or default_registry()
    sv = reg.latest(event_type) if version is None else reg.get(event_type, version)
    envelope = record["envelope"]
    recorded_at = envelope["recorded_at"]
    if isinstance(recorded_at, int):
        recorded_at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            microseconds=recorded_at
        )
    return CloudEventAttributes(
        id=str(envelope["event_id"]),
        source=ce_source(envelope["producer"], oin_prefix),
        type=sv.ce_type,
        time=recorded_at,
        dataschema=ce_dataschema(sv),
        sequence=format_sequence(int(envelope["producer_seq"])),
    )


def to_headers(attributes: CloudEventAttributes) -> Headers:
    """Kafka headers in kafka-python's format: a list of (name, UTF-8 bytes)."""
    pairs = [
        ("content-type", attributes.datacontenttype),
        ("ce_specversion", attributes.specversion),
        ("ce_id", attributes.id),
        ("ce_source", attributes.source),
        ("ce_type", attributes.type),
        ("ce_time", format_time(attributes.time)),
    ]
    if attributes.dataschema is not None:
        pairs.append(("ce_dataschema", attributes.dataschema))
    if attributes.sequence is not None:
        pairs.append(("ce_sequence", attributes.sequence))
    return [(name, value.encode("utf-8")) for name, value in pairs]


def build_headers(
    event_type: str,
    record: Mapping[str, Any],
    *,
    version: int | None = None,
    oin_prefix: str = DEFAULT_OIN_PREFIX,
    registry: Registry | None = None,
) -> Headers:
    """Headers for publishing `record` as `event_type`."""
    return to_headers(
        attributes_for(
            event_type, record, version=version, oin_prefix=oin_prefix, registry=registry
        )
    )


class HeaderError(ValueError):
    """Kafka headers that are not a valid CloudEvent in binary mode."""


def parse_headers(headers: Iterable[tuple[str, bytes | None]]) -> CloudEventAttributes:
    """Read the attributes back from Kafka headers; raises HeaderError when required ones lack."""
    values: dict[str, str] = {}
    for name, raw in headers:
        # Other headers (the hash chain's binary link, the dead letter's) are not ours to read.
        if raw is None or not (name.startswith("ce_") or name == "content-type"):
            continue
        try:
            values[name] = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HeaderError(f"header {name} is not UTF-8") from exc
    required = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time")
    missing = [name for name in required if name not in values]
    if missing:
        raise HeaderError(f"missing CloudEvents headers: {', '.join(missing)}")
    if values["ce_specversion"] != SPECVERSION:
        raise HeaderError(f"unsupported ce_specversion {values['ce_specversion']!r}")
    try:
        time = dt.datetime.fromisoformat(values["ce_time"])
    except ValueError as exc:
        raise HeaderError(f"ce_time {values['ce_time']!r} is not RFC 3339") from exc
    if time.tzinfo is None:
        raise HeaderError("ce_time has no offset")
    return CloudEventAttributes(
        id=values["ce_id"],
        source=values["ce_source"],
        type=values["ce_type"],
        time=time,
        specversion=values["ce_specversion"],
        datacontenttype=values.get("content-type", CONTENT_TYPE),
        dataschema=values.get("ce_dataschema"),
        sequence=values.get("ce_sequence"),
    )
