"""Webhook signing and retry schedule: the pure core of the webhook sender
(processors.webhook_sender).

Follows the Standard Webhooks scheme (https://www.standardwebhooks.com/): headers
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``), so receivers can use any
Standard Webhooks library. No I/O here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


class SignatureError(ValueError):
    """A delivery whose signature or timestamp does not verify."""


def new_secret() -> str:
    """A per-subscription secret as Standard Webhooks writes it: `whsec_` + base64 of 32
    random bytes (the HMAC key)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_…` secret; ValueError for anything else."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError as exc:
        raise ValueError(f"a webhook secret is {SECRET_PREFIX} + base64") from exc
    if len(key) < 16:
        raise ValueError("a webhook secret holds at least 16 bytes")
    return key


def sign(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_headers(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(
    secret: bytes,
    headers: dict[str, str],
    body: bytes,
    now: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Raise SignatureError unless one of the signatures matches and the timestamp is fresh."""
    # Header names are case-insensitive (a proxy may write Webhook-Id).
    headers = {name.lower(): value for name, value in headers.items()}
    try:
        msg_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        given = headers["webhook-signature"].split()
    except (KeyError, ValueError) as exc:
        raise SignatureError(f"missing or malformed webhook header: {exc}") from exc
    # The timestamp window is what stops a captured delivery being replayed later.
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(f"webhook-timestamp {timestamp} outside ±{tolerance_s}s of {now}")
    expected = sign(secret, msg_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in given):
        raise SignatureError(f"no valid signature for webhook-id {msg_id}")


def backoff_delay(
    attempt: int,
    base_s: float = 1.0,
    cap_s: float = 300.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds before retry ``attempt`` (1-based): capped exponential backoff, full jitter."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    ceiling = min(cap_s, base_s * 2 ** (attempt - 1))
    # Full jitter spreads the retries of many failing endpoints instead of synchronising them.
    return (rng or random.Random()).uniform(0, ceiling)
