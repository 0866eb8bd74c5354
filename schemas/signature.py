"""Who published a record, provably: each organisation signs what it publishes with its own
Ed25519 key (the `cryptography` package), in the Kafka header `ketenlog-signature`, next to the
hash-chain link of schemas/chain.py. The chain shows that nothing was rewritten, removed or
slipped in; the signature shows that the organisation whose topic it is wrote it — a forger
who computes a correct link still cannot sign. Pure: keys are handed in (infra/signing_keys.py
keeps them); the publisher signs, the gate and `verify-chains` check.

What is signed: the topic, the record's chain link, and the SHA-256 of its key and value. The
link covers the timestamp and the previous link, so the signature vouches for those too
through it; the content hash lets the gate check a record on its own, without its chain.
Header value: the signing key's id (16 hex characters, ASCII), '.', the 64-byte signature.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from schemas import chain

HEADER = "ketenlog-signature"
_DOMAIN = b"ketenlog-signature/1\x00"
_ID_LEN = 16
_SIG_LEN = 64


def key_id(public: Ed25519PublicKey) -> str:
    """A public key's id: the first 16 hex characters of the SHA-256 of its raw bytes."""
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:_ID_LEN]


def message(topic: str, link: bytes, key: bytes | None, value: bytes | None) -> bytes:
    """The bytes a signature is over."""
    h = hashlib.sha256()
    for part in (key, value):
        h.update((-1 if part is None else len(part)).to_bytes(8, "big", signed=True))
        h.update(part or b"")
    return _DOMAIN + topic.encode() + b"\x00" + link + h.digest()


@dataclass(frozen=True)
class Signer:
    """One organisation's current signing key."""

    org: str
    private: Ed25519PrivateKey

    @cached_property
    def key_id(self) -> str:
        # Once: deriving the public key costs as much as a signature, and each call into the
        # crypto library lets the producer's I/O thread take the GIL.
        return key_id(self.private.public_key())

    def sign(self, topic: str, link: bytes, key: bytes | None, value: bytes | None) -> bytes:
        """The header value for a record with this link, key and value on `topic`."""
        signature = self.private.sign(message(topic, link, key, value))
        return self.key_id.encode("ascii") + b"." + signature


class Record(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> list[tuple[str, bytes]]: ...


@dataclass(frozen=True)
class PublicKey:
    org: str
    key_id: str
    key: Ed25519PublicKey


class Verifier:
    """The public keys the auditor trusts (infra/signing_keys.py's registry), by key id. A
    rotated key stays in the registry, so what it signed still verifies."""

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        self._keys: dict[str, PublicKey] = {}
        self.load(keys)

    def load(self, keys: Iterable[PublicKey]) -> None:
        """Trust exactly `keys` from now on (a registry read again)."""
        self._keys = {k.key_id: k for k in keys}

    def __len__(self) -> int:
        return len(self._keys)

    def knows(self, header: bytes) -> bool:
        return header[:_ID_LEN].decode("ascii", "replace") in self._keys

    def orgs(self) -> Mapping[str, str]:
        """Key id -> organisation."""
        return {k.key_id: k.org for k in self._keys.values()}

    def problem(self, org: str, record: Record) -> str | None:
        """None when the record carries `org`'s valid signature; else what is wrong."""
        header = header_of(record.headers)
        link = header_of(record.headers, chain.HEADER)
        if header is None:
            return f"no {HEADER} header: the record is not signed"
        if link is None:
            return "no chain link to check the signature against"
        if len(header) != _ID_LEN + 1 + _SIG_LEN or header[_ID_LEN : _ID_LEN + 1] != b".":
            return f"the {HEADER} header is malformed ({len(header)} bytes)"
        kid = header[:_ID_LEN].decode("ascii", "replace")
        known = self._keys.get(kid)
        if known is None:
            return f"signed with key {kid}, which is in no organisation's registry"
        if known.org != org:
            return f"signed with key {kid} of {known.org}, not of {org}"
        try:
            signed = message(record.topic, link, record.key, record.value)
            known.key.verify(header[_ID_LEN + 1 :], signed)
        except InvalidSignature:
            return f"the signature does not match the record (key {kid} of {org})"
        return None


def header_of(headers: Iterable[tuple[str, bytes]], header: str = HEADER) -> bytes | None:
    for name, value in headers:
        if name == header:
            return bytes(value)
    return None
