"""The wire format: Avro single-object encoding (C3 01, the 8-byte little-endian CRC-64-AVRO
fingerprint, the binary body). Producers encode with it, processors decode with it. The only
fastavro import in the project.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import fastavro

from schemas.errors import (
    BadMagicError,
    ContractError,
    CorruptBodyError,
    DecodeError,
    Problem,
    TruncatedError,
    UnknownFingerprintError,
)
from schemas.registry import Registry, SchemaVersion, default_registry
from schemas.validation import find_problems

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8

__all__ = [
    "HEADER_SIZE",
    "MAGIC",
    "BadMagicError",
    "Codec",
    "ContractError",
    "CorruptBodyError",
    "DecodeError",
    "Decoded",
    "TruncatedError",
    "UnknownFingerprintError",
    "decode",
    "decode_many",
    "default_codec",
    "encode",
    "encode_many",
    "validate",
]


@dataclass(frozen=True)
class Decoded:
    """A decoded event: its type, the version it was written with, and the record read as the
    latest version of that type (fields added since carry their defaults)."""

    event_type: str
    version: int
    fingerprint: int
    record: dict[str, Any]
    reader_version: int


class Codec:
    """Encodes and decodes every type in a registry, with schemas parsed once up front."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        # Each file is parsed on its own: the envelope and shared enums are defined in every file.
        self._parsed: dict[int, Any] = {
            sv.fingerprint: fastavro.parse_schema(dict(sv.schema), named_schemas={})
            for sv in registry.all()
        }
        self._latest: dict[str, SchemaVersion] = {
            t: registry.latest(t) for t in registry.event_types()
        }

    def schema_version(self, event_type: str, version: int | None = None) -> SchemaVersion:
        """The latest version of `event_type`, or the given one; ContractError if unknown."""
        try:
            if version is None:
                return self._latest[event_type]
            return self.registry.get(event_type, version)
        except KeyError:
            what = "unknown event type" if version is None else f"unknown version {version}"
            raise ContractError(event_type, [Problem("", what)]) from None

    def validate(self, event_type: str, record: Any, *, version: int | None = None) -> None:
        """Raise ContractError naming the type, each field's dotted path and what is wrong."""
        problems = find_problems(self.schema_version(event_type, version), record)
        if problems:
            raise ContractError(event_type, problems)

    def validate_payload(self, event_type: str, record: Any) -> None:
        """`validate` for a record whose envelope our own publisher built (the hot path)."""
        problems = find_problems(self.schema_version(event_type), record, trusted_envelope=True)
        if problems:
            raise ContractError(event_type, problems)

    def encode(
        self,
        event_type: str,
        record: Mapping[str, Any],
        *,
        version: int | None = None,
        check: bool = True,
        trusted_envelope: bool = False,
    ) -> bytes:
        """Encode `record` with the latest version of `event_type` (or an older `version`, for a
        producer that has not moved on yet). `check=False` skips contract validation for
        trusted, already-validated records; `trusted_envelope` checks only the payload."""
        sv = self.schema_version(event_type, version)
        if check:
            problems = find_problems(sv, record, trusted_envelope=trusted_envelope)
            if problems:
                raise ContractError(event_type, problems)
        out = io.BytesIO()
        out.write(MAGIC + sv.fingerprint_bytes)
        try:
            fastavro.schemaless_writer(out, self._parsed[sv.fingerprint], record)
        except Exception as exc:
            # Only reachable with check=False: report it the same way validation would.
            problems = find_problems(sv, record) or [Problem("", f"cannot encode: {exc}")]
            raise ContractError(event_type, problems) from exc
        return out.getvalue()

    def decode(self, data: bytes | bytearray | memoryview) -> Decoded:
        """Decode single-object-encoded bytes written with any version ever released."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise DecodeError(f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if data[:2] != MAGIC[: min(2, len(data))]:
            raise BadMagicError(f"bad magic {data[:2].hex()}: expected c301 (Avro single-object)")
        if len(data) < HEADER_SIZE:
            raise TruncatedError(f"{len(data)} bytes: shorter than the {HEADER_SIZE}-byte header")
        fingerprint = int.from_bytes(data[2:HEADER_SIZE], "little")
        writer = self.registry.by_fingerprint(fingerprint)
        if writer is None:
            raise UnknownFingerprintError(fingerprint)
        reader = self._latest[writer.event_type]
        body = io.BytesIO(data)
        body.seek(HEADER_SIZE)
        try:
            record = fastavro.schemaless_reader(
                body,
                self._parsed[writer.fingerprint],
                None if reader is writer else self._parsed[reader.fingerprint],
            )
        except EOFError as exc:
            raise TruncatedError(f"{writer.event_type} v{writer.version}: body ends early") from exc
        except Exception as exc:
            raise CorruptBodyError(
                f"{writer.event_type} v{writer.version}: body does not decode: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if body.tell() != len(data):
            raise CorruptBodyError(
                f"{writer.event_type} v{writer.version}: "
                f"{len(data) - body.tell()} bytes left over after the record"
            )
        if not isinstance(record, dict):
            raise CorruptBodyError(f"{writer.event_type} v{writer.version}: not a record")
        return Decoded(writer.event_type, writer.version, fingerprint, record, reader.version)

    def encode_many(
        self, event_type: str, records: Iterable[Mapping[str, Any]], *, check: bool = True
    ) -> list[bytes]:
        return [self.encode(event_type, r, check=check) for r in records]

    def decode_many(self, datas: Iterable[bytes | bytearray | memoryview]) -> list[Decoded]:
        return [self.decode(d) for d in datas]


@functools.cache
def default_codec() -> Codec:
    """The codec over the installed schemas, built once."""
    return Codec(default_registry())


def encode(
    event_type: str,
    record: Mapping[str, Any],
    *,
    version: int | None = None,
    check: bool = True,
) -> bytes:
    """Encode with the latest version of `event_type`; raises ContractError on a bad record."""
    return default_codec().encode(event_type, record, version=version, check=check)


def decode(data: bytes | bytearray | memoryview) -> Decoded:
    """Decode single-object-encoded bytes; raises a DecodeError subclass, never anything else."""
    return default_codec().decode(data)


def validate(event_type: str, record: Any) -> None:
    """Raise ContractError if `record` does not satisfy the latest schema of `event_type`."""
    default_codec().validate(event_type, record)


def encode_many(
    event_type: str, records: Iterable[Mapping[str, Any]], *, check: bool = True
) -> list[bytes]:
    return default_codec().encode_many(event_type, records, check=check)


def decode_many(datas: Iterable[bytes | bytearray | memoryview]) -> list[Decoded]:
    return default_codec().decode_many(datas)
