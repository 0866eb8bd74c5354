"""The timeline processor's gate: one raw record from an agency topic in, either a decoded,
checked event or a rejection with its reason out. Pure: the faust app calls it per record.

A record is accepted only when it has a key on the partition that key belongs to, decodes
with a released schema, its envelope is complete, the organisation that sent it owns the topic
(an organisation cannot speak for another), its key is the person key in its envelope and a
chain pseudonym (or the subject key its schema names), every field keeps the contract's
constraints and limits (so the store can hold it, and no V-nummer is in free text), its
CloudEvents headers say what its body says, and its times are plausible. Anything else is a
dead letter with its reason: a record can only go to the timeline or to the dead letter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from aiokafka.partitioner import murmur2

from schemas.cloudevents import HeaderError, format_time, parse_headers, source_system
from schemas.codec import Codec, Decoded, DecodeError, UnknownFingerprintError
from schemas.errors import Problem
from schemas.limits import V_NUMMER_PROBLEM
from schemas.records import Raw
from schemas.registry import SchemaVersion
from schemas.sealing import KeyLookup, open_record, personal_fields, seals
from schemas.signature import HEADER as SIGNATURE_HEADER
from schemas.signature import Verifier, header_of
from schemas.topics import owner_of
from schemas.validation import decoded_problems

# Agencies' clocks drift; a recorded time a little after the broker received it is tolerated.
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
REQUIRED = ("event_id", "event_type", "producer", "person_key", "occurred_at", "recorded_at")


class Reason(StrEnum):
    """Why a record went to the dead-letter topic (header `dl_reason`)."""

    EMPTY = "EMPTY"
    UNDECODABLE = "UNDECODABLE"
    UNKNOWN_FINGERPRINT = "UNKNOWN_FINGERPRINT"
    ENVELOPE_INCOMPLETE = "ENVELOPE_INCOMPLETE"
    NOT_AN_EVENT_TOPIC = "NOT_AN_EVENT_TOPIC"
    WRONG_PRODUCER = "WRONG_PRODUCER"
    KEY_MISMATCH = "KEY_MISMATCH"
    IMPLAUSIBLE_TIME = "IMPLAUSIBLE_TIME"
    NO_KEY = "NO_KEY"
    WRONG_PARTITION = "WRONG_PARTITION"
    CONTRACT_VIOLATION = "CONTRACT_VIOLATION"
    V_NUMMER_IN_TEXT = "V_NUMMER_IN_TEXT"
    """A free-text field holds something shaped like a V-nummer (schemas/limits.py); the
    detail names the field, never the value."""
    HEADERS_MISSING = "HEADERS_MISSING"
    UNSIGNED = "UNSIGNED"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    HEADERS_CONTRADICT_BODY = "HEADERS_CONTRADICT_BODY"
    FOREIGN_CORRECTION = "FOREIGN_CORRECTION"
    """Corrects or retracts an event another organisation published (an organisation may
    correct or retract only its own events). Judged where the person's history is at hand
    (processors.timeline.refuse_foreign), not per record; the store keeps the fact so the
    person's fold records the anomaly."""
    STORE_REFUSED = "STORE_REFUSED"
    """Passed every check, but the store refused it (the database's error is the detail)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Accepted:
    decoded: Decoded

    @property
    def record(self) -> dict[str, Any]:
        return self.decoded.record


@functools.lru_cache(maxsize=200_000)
def partition_of(key: bytes, partitions: int) -> int:
    """The partition every ketenlog topic puts `key` on: murmur2, as the Java client and
    kafka-python (the publisher) compute it."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def check(
    codec: Codec,
    raw: Raw,
    partitions: int | None = None,
    signatures: Verifier | None = None,
    keys: KeyLookup | None = None,
) -> Accepted | Rejected:
    """Decode and check one record from an agency topic. `partitions`: the topic's partition
        count, to check the record is where its key belongs (None: not checked). `signatures`: the
        registry of the organisations' public keys, to check the record is signed by the owner of
        its topic (schemas/signature.py; None: not checked). `keys`: the person key store, to open
    sealed personal fields (schemas/sealing.py); a destroyed key (or None) leaves them None."""
    if not raw.value:
        return Rejected(Reason.EMPTY, "the record has no value")
    if raw.key is None:
        return Rejected(Reason.NO_KEY, "the record has no key (it must be the person key)")
    if partitions is not None and raw.partition != partition_of(raw.key, partitions):
        return Rejected(
            Reason.WRONG_PARTITION,
            f"on partition {raw.partition}, but its key belongs on partition "
            f"{partition_of(raw.key, partitions)} of {partitions}: all of a person's events "
            "must share one partition",
        )
    try:
        decoded = codec.decode(raw.value)
    except UnknownFingerprintError as exc:
        return Rejected(Reason.UNKNOWN_FINGERPRINT, exc.reason)
    except DecodeError as exc:
        return Rejected(Reason.UNDECODABLE, exc.reason)
    envelope = decoded.record.get("envelope") or {}
    missing = [name for name in REQUIRED if _absent(envelope.get(name))]
    if missing:
        return Rejected(Reason.ENVELOPE_INCOMPLETE, f"envelope lacks {', '.join(missing)}")
    if envelope["event_type"] != decoded.event_type:
        return Rejected(
            Reason.ENVELOPE_INCOMPLETE,
            f"envelope.event_type {envelope['event_type']!r} is not {decoded.event_type!r}",
        )
    owner = owner_of(raw.topic)
    if owner is None:
        return Rejected(Reason.NOT_AN_EVENT_TOPIC, f"{raw.topic} is no organisation's event topic")
    producer = str(envelope["producer"])
    if producer != owner.value:
        return Rejected(
            Reason.WRONG_PRODUCER, f"producer {producer} published on {raw.topic}, owned by {owner}"
        )
    if not codec.registry.may_publish(owner, decoded.event_type):
        return Rejected(
            Reason.WRONG_PRODUCER, f"{decoded.event_type} is not an event type of {owner}"
        )
    if raw.key.decode("utf-8", "replace") != envelope["person_key"]:
        return Rejected(Reason.KEY_MISMATCH, "the record key is not the envelope's person_key")
    reader = codec.registry.get(decoded.event_type, decoded.reader_version)
    writer = codec.registry.get(decoded.event_type, decoded.version)
    problems = open_record(writer, reader, decoded.record, keys)
    problems = problems or _withheld(writer, reader, decoded_problems(reader, decoded.record))
    if problems:
        leak = any(p.message == V_NUMMER_PROBLEM for p in problems)
        return Rejected(
            Reason.V_NUMMER_IN_TEXT if leak else Reason.CONTRACT_VIOLATION,
            "; ".join(f"{p.path}: {p.message}" for p in problems),
        )
    headers = _header_problem(codec, raw, decoded, producer)
    if headers is not None:
        return headers
    occurred: datetime = envelope["occurred_at"]
    recorded: datetime = envelope["recorded_at"]
    try:
        broker_time = raw.broker_time
    except (OverflowError, ValueError, OSError):
        # The broker bounds its timestamps (schemas/topics.py); a record read from elsewhere
        # (an archive) may carry any 64-bit number.
        return Rejected(
            Reason.IMPLAUSIBLE_TIME, f"timestamp {raw.timestamp_ms} ms is no time a broker gives"
        )
    # Differences, not sums: a time at 9999-12-31 plus the skew would overflow.
    if recorded - broker_time > CLOCK_SKEW:
        return Rejected(
            Reason.IMPLAUSIBLE_TIME,
            f"recorded_at {recorded.isoformat()} is after the broker received it "
            f"({broker_time.isoformat()})",
        )
    if occurred - recorded > CLOCK_SKEW:
        return Rejected(
            Reason.IMPLAUSIBLE_TIME,
            f"occurred_at {occurred.isoformat()} is after recorded_at {recorded.isoformat()}",
        )
    if occurred < EARLIEST:
        return Rejected(Reason.IMPLAUSIBLE_TIME, f"occurred_at {occurred.isoformat()} is too old")
    # Last: the one check that costs a public-key operation.
    if signatures is not None:
        problem = signatures.problem(producer, raw)
        if problem is not None:
            unsigned = header_of(raw.headers, SIGNATURE_HEADER) is None
            return Rejected(Reason.UNSIGNED if unsigned else Reason.BAD_SIGNATURE, problem)
    return Accepted(decoded)


def _absent(value: Any) -> bool:
    # Not `value in (None, "")`: that asks each UUID and datetime of the envelope to compare
    # itself with "" (uuid.UUID.__eq__ is Python), for every record the gate reads.
    return value is None or (type(value) is str and not value)


def _withheld(
    writer: SchemaVersion, reader: SchemaVersion, problems: list[Problem]
) -> list[Problem]:
    """A dead letter's detail travels in clear on keten.deadletter: a sealed personal value
    that breaks the contract is named by its field, never repeated (the V-nummer problem
    repeats no value, and keeps its own reason)."""
    if not problems or not seals(writer):
        return problems
    personal = set(personal_fields(reader))
    return [
        Problem(p.path, "breaks the contract (a personal value: not repeated here)")
        if p.path.split(".")[0] in personal and p.message != V_NUMMER_PROBLEM
        else p
        for p in problems
    ]


def _header_problem(codec: Codec, raw: Raw, decoded: Decoded, producer: str) -> Rejected | None:
    """The CloudEvents headers (binary mode) must be there and say what the body says: they
    are copied onto the timeline, and consumers route by them without decoding the body."""
    try:
        attributes = parse_headers(raw.headers)
    except HeaderError as exc:
        return Rejected(Reason.HEADERS_MISSING, str(exc))
    envelope = decoded.record["envelope"]
    ce_type = codec.registry.ce_type(decoded.event_type, decoded.version)
    system = source_system(attributes.source) or attributes.source
    # Compared field by field first: the dictionaries below are built for a mismatch only.
    if (
        attributes.id == str(envelope["event_id"])
        and attributes.type == ce_type
        and attributes.time == envelope["recorded_at"]
        and system == producer.lower()
    ):
        return None
    expected = {
        "ce_id": str(envelope["event_id"]),
        "ce_type": ce_type,
        "ce_time": envelope["recorded_at"],
        "ce_source system": producer.lower(),
    }
    actual = {
        "ce_id": attributes.id,
        "ce_type": attributes.type,
        "ce_time": attributes.time,
        "ce_source system": system,
    }
    wrong = [
        f"{k} is {_shown(actual[k])}, the body says {_shown(expected[k])}"
        for k in expected
        if actual[k] != expected[k]
    ]
    return Rejected(Reason.HEADERS_CONTRADICT_BODY, "; ".join(wrong))


def _shown(value: object) -> str:
    return repr(format_time(value)) if isinstance(value, datetime) else repr(value)
