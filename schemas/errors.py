"""Exceptions of the contract layer, raised by the registry, the validator and the codec."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class SchemaError(Exception):
    """A .avsc file or the released-versions lock is malformed or inconsistent."""


class DecodeError(ValueError):
    """Bytes from the wire could not be decoded; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadMagicError(DecodeError):
    """The bytes do not start with the Avro single-object marker C3 01."""


class TruncatedError(DecodeError):
    """The bytes end before the header or the body is complete."""


class UnknownFingerprintError(DecodeError):
    """No schema version ever released has the fingerprint in the header."""

    def __init__(self, fingerprint: int) -> None:
        super().__init__(
            f"unknown schema fingerprint {fingerprint:016x}: not a version this contract knows"
        )
        self.fingerprint = fingerprint


class CorruptBodyError(DecodeError):
    """The header is valid but the body does not decode with the writer schema."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a record: the dotted path of the field and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ContractError(ValueError):
    """A record does not satisfy its event schema. Lists every problem found, not just the first."""

    def __init__(self, event_type: str, problems: Iterable[Problem]) -> None:
        self.event_type = event_type
        self.problems = tuple(problems)
        listed = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{event_type}: {listed}")

    @property
    def path(self) -> str:
        """The dotted path of the first problem."""
        return self.problems[0].path if self.problems else ""
