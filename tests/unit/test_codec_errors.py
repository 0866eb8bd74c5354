"""Whatever bytes arrive, decode either returns an event or raises a DecodeError subclass with a
reason; no other exception type leaks out to the processors."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import (
    MAGIC,
    BadMagicError,
    CorruptBodyError,
    DecodeError,
    TruncatedError,
    UnknownFingerprintError,
    decode,
    encode,
)
from schemas.registry import default_registry
from schemas.samples import sample_record


def _valid(event_type: str = "DecisionIssued") -> bytes:
    return encode(event_type, sample_record(default_registry().latest(event_type)))


def test_wrong_magic() -> None:
    data = b"\x00\x01" + _valid()[2:]
    with pytest.raises(BadMagicError, match="bad magic 0001"):
        decode(data)


def test_json_instead_of_avro_is_bad_magic() -> None:
    with pytest.raises(BadMagicError):
        decode(b'{"event_type": "DecisionIssued"}')


@pytest.mark.parametrize("data", [b"", b"\xc3", b"\xc3\x01", b"\xc3\x01\x00\x00\x00"])
def test_shorter_than_the_header(data: bytes) -> None:
    with pytest.raises(TruncatedError, match="header"):
        decode(data)


def test_unknown_fingerprint_names_it() -> None:
    data = MAGIC + (0x0123456789ABCDEF).to_bytes(8, "little") + b"\x00"
    with pytest.raises(UnknownFingerprintError, match="0123456789abcdef") as caught:
        decode(data)
    assert caught.value.fingerprint == 0x0123456789ABCDEF


def test_every_truncation_of_a_valid_record_fails_cleanly() -> None:
    data = _valid()
    for cut in range(len(data)):
        with pytest.raises(DecodeError):
            decode(data[:cut])


def test_trailing_bytes_are_corruption() -> None:
    with pytest.raises(CorruptBodyError, match="left over"):
        decode(_valid() + b"\x00")


def test_not_bytes_at_all() -> None:
    with pytest.raises(DecodeError, match="expected bytes"):
        decode("c301")  # type: ignore[arg-type]


def test_memoryview_and_bytearray_are_accepted() -> None:
    data = _valid()
    assert decode(bytearray(data)).record == decode(memoryview(data)).record


def test_flipped_bytes_never_leak_other_exceptions() -> None:
    rng = random.Random(20260612)
    data = bytearray(_valid("LocationOpened"))
    for _ in range(2000):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(10, len(mutated))] = rng.randrange(256)
        try:
            decode(bytes(mutated))
        except DecodeError as exc:
            assert exc.reason


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    try:
        decode(data)
    except DecodeError as exc:
        assert exc.reason


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from([sv.fingerprint for sv in default_registry().all()]),
    st.binary(max_size=300),
)
def test_random_body_after_a_known_header(fingerprint: int, body: bytes) -> None:
    try:
        decode(MAGIC + fingerprint.to_bytes(8, "little") + body)
    except DecodeError as exc:
        assert exc.reason
