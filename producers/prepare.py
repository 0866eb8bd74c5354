"""From an agency's submission to a Kafka record: check it, pseudonymise the person, give it its
id and sequence, seal its personal fields with the person's data key (schemas/sealing.py),
encode it (Avro single-object) and add the CloudEvents headers. Pure apart from the clock and
the person keys, so `ketenlog publish` can check a whole file before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from producers.identity import Sequence, event_id
from producers.pseudonym import normalise_v_nummer, person_key
from producers.submission import Submission
from schemas.cloudevents import build_headers, format_sequence, format_time
from schemas.codec import Codec, ContractError, default_codec
from schemas.jsonform import payload_from_json
from schemas.sealing import SEALED, seal_record, seals
from schemas.topics import Org
from schemas.validation import expected_subject_key

_PERSON_KEY = re.compile(r"^[0-9a-f]{32,128}$")
DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=5)

SealingKeys = Callable[[str], tuple[bytes, bytes]]
"""Person key -> (key id, data key) to seal with, created on first use (infra/person_keys.py)."""


class InvalidEventError(ValueError):
    """A submission that breaks the contract: names the event type and every (field, reason)."""

    def __init__(self, event_type: str, problems: list[tuple[str, str]]) -> None:
        self.event_type = event_type
        self.problems = problems
        listed = "; ".join(f"{field}: {reason}" for field, reason in problems)
        super().__init__(f"{event_type or '(no type)'}: {listed}")


@dataclass(frozen=True)
class Prepared:
    """A checked, encoded event, ready to send."""

    event_id: str
    event_type: str
    source_ref: str | None
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


class Preparer:
    """Turns submissions of any organisation into records; holds the chain key and the clock."""

    def __init__(
        self,
        chain_key: bytes,
        oin_prefix: str,
        codec: Codec | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
        person_keys: SealingKeys | None = None,
    ) -> None:
        """`person_keys`: seal personal fields with them; None writes the last version of each
        type before sealing, in clear (tests, benchmarks; never the CLI)."""
        self._chain_key = chain_key
        self._oin_prefix = oin_prefix
        self._codec = codec or default_codec()
        self._clock = clock
        self._tolerance = future_tolerance
        self._sequence = Sequence()
        self._headers = _HeaderCache(oin_prefix, self._codec)
        self._person_keys = person_keys

    def record_of(self, org: Org, sub: Submission) -> dict[str, Any]:
        """The Avro record (envelope + payload) of a submission; raises InvalidEventError."""
        registry = self._codec.registry
        problems: list[tuple[str, str]] = []
        if sub.type not in registry:
            raise InvalidEventError(sub.type, [("type", "unknown event type")])
        if not registry.may_publish(org, sub.type):
            owner = registry.org_of(sub.type)
            raise InvalidEventError(
                sub.type, [("type", f"is published by {owner.value if owner else '?'}, not {org}")]
            )
        now = self._clock()
        recorded_at = sub.recorded_at or now
        for field, moment in (("occurred_at", sub.occurred_at), ("recorded_at", recorded_at)):
            if moment > now + self._tolerance:
                problems.append((field, f"{moment.isoformat()} is in the future"))
        if sub.occurred_at > recorded_at + self._tolerance:
            problems.append(("occurred_at", "is after recorded_at: a fact is recorded after it"))
        sv = self._codec.schema_version(sub.type)
        key = self._person_key(sv.subject_key, sub, problems)
        if problems:
            raise InvalidEventError(sub.type, problems)
        envelope = {
            "event_id": event_id(org.value, sub.ref),
            "event_type": sub.type,
            "producer": org.value,
            "person_key": key,
            "case_id": sub.case_id,
            # Microseconds, as the wire has them: spares fastavro a conversion per event.
            "occurred_at": _micros(sub.occurred_at),
            "recorded_at": _micros(recorded_at),
            "producer_seq": self._sequence.next(),
            "corrects": sub.corrects,
            "retracts": sub.retracts,
            "sensitivity": sub.sensitivity or "NORMAL",
            "correlation_id": sub.correlation_id,
            "causation_id": sub.causation_id,
            "source_ref": sub.ref,
        }
        record = {"envelope": envelope, **payload_from_json(sv, sub.data)}
        for own in ("envelope", SEALED):
            if own in sub.data:
                raise InvalidEventError(sub.type, [(f"data.{own}", "is set by the publisher")])
        if sv.subject_key is not None:
            try:
                envelope["person_key"] = expected_subject_key(sv, record)
            except KeyError as exc:
                raise InvalidEventError(sub.type, [(f"data.{exc.args[0]}", "missing")]) from None
        return record

    def _person_key(
        self, subject_key: str | None, sub: Submission, problems: list[tuple[str, str]]
    ) -> str:
        if subject_key is not None:
            if sub.v_nummer or sub.person_key:
                problems.append(("v_nummer", f"not about a person: keyed by {subject_key}"))
            return ""
        if sub.v_nummer is not None:
            try:
                normalise_v_nummer(sub.v_nummer)
            except ValueError as exc:
                problems.append(("v_nummer", str(exc)))
                return ""
            return person_key(sub.v_nummer, self._chain_key)
        if sub.person_key is None:
            problems.append(("v_nummer", "missing: give v_nummer or person_key"))
            return ""
        if not _PERSON_KEY.match(sub.person_key):
            problems.append(("person_key", "must be a lowercase hex key, never a V-nummer"))
        return sub.person_key

    def prepare(self, org: Org | str, sub: Submission) -> Prepared:
        """Check and encode; raises InvalidEventError naming the type, field and reason."""
        org = Org(org)
        record = self.record_of(org, sub)
        sv = self._codec.schema_version(sub.type)
        version = sv.version
        try:
            # The envelope is ours, built from input pydantic already checked: walk the payload.
            self._codec.validate_payload(sub.type, record)
            if seals(sv) and self._person_keys is not None:
                key_id, key = self._person_keys(record["envelope"]["person_key"])
                record = seal_record(sv, record, key_id, key)
            elif seals(sv):
                version -= 1
                record.pop(SEALED, None)
            value = self._codec.encode(sub.type, record, version=version, check=False)
        except ContractError as exc:
            raise InvalidEventError(
                sub.type, [(_data_path(p.path), p.message) for p in exc.problems]
            ) from None
        envelope = record["envelope"]
        headers = self._headers(org, sub.type, version, envelope)
        return Prepared(
            event_id=envelope["event_id"],
            event_type=sub.type,
            source_ref=sub.ref,
            key=envelope["person_key"].encode(),
            value=value,
            headers=headers,
        )


class _HeaderCache:
    """The CloudEvents headers that depend only on (organisation, type), encoded once."""

    def __init__(self, oin_prefix: str, codec: Codec) -> None:
        self._oin_prefix = oin_prefix
        self._codec = codec
        self._static: dict[tuple[Org, str, int], list[tuple[str, bytes]]] = {}

    def __call__(
        self, org: Org, event_type: str, version: int, envelope: dict[str, Any]
    ) -> list[tuple[str, bytes]]:
        static = self._static.get((org, event_type, version))
        if static is None:
            sample = build_headers(
                event_type,
                {"envelope": envelope},
                version=version,
                oin_prefix=self._oin_prefix,
                registry=self._codec.registry,
            )
            static = [(k, v) for k, v in sample if k not in _VARYING]
            self._static[(org, event_type, version)] = static
        return [
            *static,
            ("ce_id", envelope["event_id"].encode()),
            (
                "ce_time",
                format_time(_EPOCH + timedelta(microseconds=envelope["recorded_at"])).encode(),
            ),
            ("ce_sequence", format_sequence(envelope["producer_seq"]).encode()),
        ]


_VARYING = {"ce_id", "ce_time", "ce_sequence"}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _data_path(path: str) -> str:
    """Schema paths are relative to the record; submissions put payload fields under `data`,
    and the agency's reference (`envelope.source_ref`) in `ref`."""
    if path == "envelope.source_ref":
        return "ref"
    if path.startswith("envelope.") or path in ("", "envelope"):
        return path.removeprefix("envelope.")
    return f"data.{path}"
