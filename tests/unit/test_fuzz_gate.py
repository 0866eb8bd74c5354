"""Hostile records fuzzed through the Avro decoder and the timeline gate (schemas/codec.py,
processors/checks.py, processors/timeline.py), as a plain Kafka client could send them:
garbage, truncated and flipped bytes, huge length prefixes, another type's or an unknown
fingerprint, missing or contradicting headers, wrong keys, fields the publisher would refuse.

Whatever arrives, the decoder raises only a DecodeError with a reason, the gate never raises,
every dead letter names its record (topic, partition, offset) and why — a contract violation
names the field —, and the valid records of a batch with hostile ones among them all pass.
Budgets are fixed and the runs derandomized, so CI is bounded and repeatable; the counts are
in docs/security.md ("Hostile input (fuzzing)")."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from infra.signing_keys import KeyStore
from processors.checks import Reason, partition_of
from processors.timeline import gate
from schemas import chain, signature
from schemas.codec import HEADER_SIZE, MAGIC, DecodeError, decode, default_codec
from schemas.records import Raw
from schemas.registry import default_registry
from tests.unit.prepared_records import HEADERS, NOW, record

FUZZ = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TS = int(NOW.timestamp() * 1000)
PARTITIONS = 6
FINGERPRINTS = [sv.fingerprint for sv in default_registry().all()]
# One valid record per organisation and type, as the publisher prepares them.
KINDS = [
    ("COA", "ReceptionStarted", {"reception_group": "OTHER"}),
    ("IND", "TrackAssigned", {"track": "GENERAL"}),
    ("COA", "ReceptionEnded", {"reason": "DEPARTED"}),
]


def _zigzag(n: int) -> bytes:
    """An Avro long (zigzag varint): how every length and count is written."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return KeyStore(Path(tmp_path_factory.mktemp("signing")))


def _signed(keys: KeyStore, org: str, offset: int, key: bytes, value: bytes) -> Raw:
    topic = f"keten.{org.lower()}.events"
    link = chain.link(chain.GENESIS, key, value, TS)
    signer, _ = keys.signer(org)
    headers = [*HEADERS[value], (chain.HEADER, link)]
    headers.append((signature.HEADER, signer.sign(topic, link, key, value)))
    return Raw(topic, partition_of(key, PARTITIONS), offset, key, value, headers, TS)


def _valid(keys: KeyStore, kind: int, n: int, offset: int) -> Raw:
    org, type_, data = KINDS[kind]
    key, value = record(org, type_, data, f"FUZZ-{kind}-{n}")
    return _signed(keys, org, offset, key, value)


Mutation = Callable[[Raw], Raw]


def _with(raw: Raw, **changes: Any) -> Raw:
    return dataclasses.replace(raw, **changes)


@st.composite
def value_mutations(draw: st.DrawFn) -> Mutation:
    """What a hostile client does to the value's bytes."""
    how = draw(
        st.sampled_from(
            ["garbage", "truncate", "flip", "insert", "huge_prefix", "fingerprint", "pad"]
        )
    )
    if how == "garbage":
        junk = draw(st.binary(max_size=400))
        return lambda r: _with(r, value=junk)
    if how == "truncate":
        cut = draw(st.integers(0, 400))
        return lambda r: _with(r, value=(r.value or b"")[: min(cut, len(r.value or b"") - 1)])
    if how == "flip":
        spots = draw(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6))

        def flip(r: Raw) -> Raw:
            data = bytearray(r.value or b"")
            for at, byte in spots:
                data[at % len(data)] = byte
            return _with(r, value=bytes(data))

        return flip
    if how in ("insert", "huge_prefix"):
        at = draw(st.integers(0, 10_000))
        if how == "insert":
            extra = draw(st.binary(min_size=1, max_size=40))
        else:  # a length or block count of up to 2**62 where a small one stood
            extra = _zigzag(draw(st.sampled_from([2**31, 2**40, 2**62, -(2**62), 10**7, -1])))

        def insert(r: Raw) -> Raw:
            data = r.value or b""
            spot = HEADER_SIZE + at % max(1, len(data) - HEADER_SIZE)
            return _with(r, value=data[:spot] + extra + data[spot:])

        return insert
    if how == "fingerprint":  # another type's header over this body, or one never released
        fp = draw(st.sampled_from(FINGERPRINTS) | st.integers(0, 2**64 - 1))
        return lambda r: _with(r, value=MAGIC + fp.to_bytes(8, "little") + (r.value or b"")[10:])
    size = draw(st.sampled_from([1, 1000, 1 << 20]))  # "pad": a huge tail after the record
    return lambda r: _with(r, value=(r.value or b"") + b"\x00" * size)


@st.composite
def record_mutations(draw: st.DrawFn) -> Mutation:
    """What a hostile client does around the value: key, topic, headers, time."""
    how = draw(st.sampled_from(["key", "partition", "topic", "drop_header", "header", "time"]))
    if how == "partition":
        partition = draw(st.integers(0, PARTITIONS - 1))
        return lambda r: _with(r, partition=partition)
    if how == "key":
        key = draw(st.none() | st.binary(max_size=80))
        return lambda r: _with(r, key=key)
    if how == "topic":
        topic = draw(
            st.sampled_from(["keten.ind.events", "keten.timeline", "x"])
            | st.text(st.characters(codec="utf-8"), max_size=60)
        )
        return lambda r: _with(r, topic=topic)
    if how == "drop_header":
        which = draw(st.integers(0, 20))
        return lambda r: _with(r, headers=[h for i, h in enumerate(r.headers) if i != which])
    if how == "header":
        which = draw(st.integers(0, 20))
        junk = draw(st.binary(max_size=120))

        def header(r: Raw) -> Raw:
            headers = list(r.headers)
            name = headers[which % len(headers)][0]
            headers[which % len(headers)] = (name, junk)
            return _with(r, headers=headers)

        return header
    # The broker bounds the timestamp (schemas/topics.py); an export read back may not.
    edges = [-(2**63), -1, 0, 253_402_300_799_999, 2**62, 2**63 - 1]
    ms = draw(st.sampled_from(edges) | st.integers(0, 253_402_300_799_999))
    return lambda r: _with(r, timestamp_ms=ms)


@st.composite
def field_mutations(draw: st.DrawFn) -> tuple[str, Any]:
    """A field of the decoded record set to what the publisher refuses, re-encoded past its
    validation: (dotted path, value)."""
    path = draw(
        st.sampled_from(
            [
                "envelope.case_id",
                "envelope.correlation_id",
                "envelope.causation_id",
                "envelope.source_ref",
            ]
        )
    )
    value = draw(
        st.sampled_from(
            [
                "CASE\x001",  # PostgreSQL cannot hold a NUL
                "C" * 9000,  # longer than the contract's limit
                "V 1234.567.890",  # a V-nummer in free text
                "\U0010ffff" * 3000,
            ]
        )
    )
    return path, value


def _poisoned(raw: Raw, path: str, value: Any) -> Raw | None:
    codec = default_codec()
    decoded = codec.decode(raw.value or b"")
    envelope = decoded.record["envelope"]
    name = path.split(".", 1)[1]
    if name not in envelope:
        return None
    envelope[name] = value
    return _with(raw, value=codec.encode(decoded.event_type, decoded.record, check=False))


def _dead(out: Any) -> list[dict[str, bytes]]:
    return [dict(d.headers) for d in out.deadletters]


def _assert_named(dead: dict[str, bytes]) -> None:
    assert dead["dl_reason"].decode() in set(Reason)
    assert dead["dl_detail"].strip(), dead
    assert dead["dl_source_topic"] is not None and dead["dl_source_offset"].isdigit()


@FUZZ
@given(st.binary(max_size=600))
def test_garbage_bytes_are_a_decode_error_with_a_reason(data: bytes) -> None:
    try:
        decode(data)
    except DecodeError as exc:
        assert exc.reason


@FUZZ
@given(st.sampled_from(range(len(KINDS))), value_mutations())
def test_a_mangled_value_decodes_or_is_a_decode_error(kind: int, mutate: Mutation) -> None:
    org, type_, data = KINDS[kind]
    key, value = record(org, type_, data, "DECODE")
    raw = mutate(Raw("t", 0, 0, key, value, [], TS))
    try:
        decode(raw.value or b"")
    except DecodeError as exc:
        assert exc.reason


@FUZZ
@given(
    valid=st.lists(st.sampled_from(range(len(KINDS))), min_size=1, max_size=6),
    hostile=st.lists(
        st.tuples(st.sampled_from(range(len(KINDS))), value_mutations() | record_mutations()),
        min_size=1,
        max_size=6,
    ),
    order=st.randoms(use_true_random=False),
)
def test_hostile_records_among_valid_ones_never_cost_a_valid_one(
    keys: KeyStore,
    valid: list[int],
    hostile: list[tuple[int, Mutation]],
    order: Any,
) -> None:
    batch: list[tuple[bool, Raw]] = [
        (True, _valid(keys, kind, n, 0)) for n, kind in enumerate(valid)
    ] + [
        (False, mutate(_valid(keys, kind, 100 + n, 0))) for n, (kind, mutate) in enumerate(hostile)
    ]
    order.shuffle(batch)
    records = [_with(raw, offset=i) for i, (_, raw) in enumerate(batch)]
    out = gate(default_codec(), records, NOW, partitions=PARTITIONS, signatures=keys.verifier())
    accepted = {r.offset for r, _ in out.accepted}
    good = {i for i, (is_valid, _) in enumerate(batch) if is_valid}
    assert good <= accepted, "a valid record was lost"
    assert len(out.accepted) + len(out.deadletters) == len(records), "a record vanished"
    for dead in _dead(out):
        _assert_named(dead)
        event(f"dead letter {dead['dl_reason'].decode()}")  # the reasons the run reached


@FUZZ
@given(st.sampled_from(range(len(KINDS))), field_mutations())
def test_a_field_the_store_cannot_hold_is_a_dead_letter_naming_the_field(
    keys: KeyStore, kind: int, change: tuple[str, Any]
) -> None:
    path, value = change
    org, type_, data = KINDS[kind]
    key, good = record(org, type_, data, "FIELD")
    poisoned = _poisoned(_signed(keys, org, 1, key, good), path, value)
    if poisoned is None:
        return
    # Signed after poisoning, as an organisation would sign its own bad record.
    HEADERS[poisoned.value or b""] = HEADERS[good]
    raw = _signed(keys, org, 1, key, poisoned.value or b"")
    fine = _signed(keys, org, 0, key, good)
    out = gate(default_codec(), [fine, raw], NOW, partitions=PARTITIONS, signatures=keys.verifier())
    assert [r.offset for r, _ in out.accepted] == [0]
    (dead,) = _dead(out)
    _assert_named(dead)
    assert dead["dl_reason"].decode() in (Reason.CONTRACT_VIOLATION, Reason.V_NUMMER_IN_TEXT)
    assert path in dead["dl_detail"].decode()
    assert dead["dl_source_offset"] == b"1"


@pytest.mark.parametrize("ms", [-(2**63), 2**62])
def test_a_timestamp_no_datetime_holds_is_an_implausible_time(keys: KeyStore, ms: int) -> None:
    # Found by the fuzzer above: it escaped the gate as ValueError.
    raw = _with(_valid(keys, 0, 0, 0), timestamp_ms=ms)
    (dead,) = _dead(gate(default_codec(), [raw], NOW, partitions=PARTITIONS))
    assert dead["dl_reason"] == b"IMPLAUSIBLE_TIME"


def test_the_clock_skew_check_at_the_calendar_s_end_does_not_overflow(keys: KeyStore) -> None:
    # The broker time plus the skew overflowed at 9999-12-31; recorded before it is plausible.
    raw = _with(_valid(keys, 0, 0, 0), timestamp_ms=253_402_300_799_999)
    out = gate(default_codec(), [raw], NOW, partitions=PARTITIONS)
    assert [r.timestamp_ms for r, _ in out.accepted] == [raw.timestamp_ms]
