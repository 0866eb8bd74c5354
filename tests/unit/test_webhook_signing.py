import random

import pytest

from domain.webhook_signing import SignatureError, backoff_delay, signature_headers, verify

SECRET = b"s" * 32


def test_signed_delivery_verifies() -> None:
    body = b'[{"id":"e1"}]'
    headers = signature_headers(SECRET, "msg_1", 1_000, body)
    verify(SECRET, headers, body, now=1_010)


def test_tampered_body_is_rejected() -> None:
    headers = signature_headers(SECRET, "msg_1", 1_000, b"a")
    with pytest.raises(SignatureError, match="msg_1"):
        verify(SECRET, headers, b"b", now=1_000)


def test_other_secret_is_rejected() -> None:
    headers = signature_headers(SECRET, "msg_1", 1_000, b"a")
    with pytest.raises(SignatureError):
        verify(b"t" * 32, headers, b"a", now=1_000)


def test_stale_timestamp_is_rejected() -> None:
    headers = signature_headers(SECRET, "msg_1", 1_000, b"a")
    with pytest.raises(SignatureError, match="outside"):
        verify(SECRET, headers, b"a", now=1_000 + 301)


def test_missing_header_is_rejected() -> None:
    with pytest.raises(SignatureError, match="missing"):
        verify(SECRET, {"webhook-id": "x"}, b"a", now=0)


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(7)
    for attempt in range(1, 20):
        delay = backoff_delay(attempt, base_s=1, cap_s=60, rng=rng)
        assert 0 <= delay <= min(60, 2 ** (attempt - 1))
    maxima = [backoff_delay(a, base_s=1, cap_s=60, rng=_Top()) for a in range(1, 10)]
    assert maxima == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_backoff_rejects_attempt_zero() -> None:
    with pytest.raises(ValueError):
        backoff_delay(0)


class _Top(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b
