"""Who published a record, provably: each organisation signs what it publishes with its own
Ed25519 key (the `cryptography` package), in the Kafka header `ketenlog-signature`, next to the
hash-chain link of schemas/chain.py. The chain shows that nothing was rewritten, removed or
slipped in; the signature shows that the organisation whose topic it is wrote it — a forger
who computes a correct link still cannot sign. Pure: keys are handed in (infra/signing_keys.py
keeps them); the publisher signs, the gate and `verify-chains` check.

What is signed: the topic, the record's chain link, and the SHA-256 of its key and value. The
link covers the timestamp and the previous link, so the signature vouches for those too
through it; the content hash lets the gate check a record on its own, without its chain.

Two header forms, both accepted:
- version 1, one signature per record: the signing key's id (16 hex characters, ASCII), '.',
  the 64-byte signature of `message`;
- version 2, one signature per chunk of records (what the publisher sends): the key id, ':',
  the 64-byte signature of `tree_message` (the topic, the chunk's size and the root of an
  RFC 9162 Merkle tree whose leaves are the records' `message`s, schemas/merkle.py), the
  record's index in the chunk and the chunk's size (2 bytes each, big-endian), and the
  record's audit path (32 bytes per level). Each record still proves itself on its own; a
  checker that has verified a chunk's root once (`Verifier` remembers them) checks the rest
  of the chunk with a few hashes instead of a public-key operation, which was most of the
  gate's cost.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from schemas import chain, merkle

HEADER = "ketenlog-signature"
_DOMAIN = b"ketenlog-signature/1\x00"
_TREE_DOMAIN = b"ketenlog-signature/2\x00"
_ID_LEN = 16
_SIG_LEN = 64
_V1, _V2 = b".", b":"
_V2_FIXED = _ID_LEN + 1 + _SIG_LEN + 4
MAX_CHUNK = 0xFFFF
# Chunk roots a Verifier remembers as verified: a live batch or a replay's partition group
# meets each chunk's records close together, so a few thousand cover every chunk in flight.
VERIFIED_ROOTS = 4096


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


def tree_message(topic: str, size: int, root: bytes) -> bytes:
    """The bytes a version-2 (chunk) signature is over."""
    return _TREE_DOMAIN + topic.encode() + b"\x00" + size.to_bytes(2, "big") + root


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
        return self.key_id.encode("ascii") + _V1 + signature

    def sign_chunk(
        self, topic: str, records: Sequence[tuple[bytes, bytes | None, bytes | None]]
    ) -> list[bytes]:
        """The header values for (link, key, value) records on `topic`, one signature for all
        of them (version 2; a single record gets version 1, which is shorter)."""
        if len(records) == 1:
            return [self.sign(topic, *records[0])]
        if not 0 < len(records) <= MAX_CHUNK:
            raise ValueError(f"a signed chunk holds 1 to {MAX_CHUNK} records, not {len(records)}")
        tree = merkle.levels([merkle.leaf_hash(message(topic, *r)) for r in records])
        size = len(records).to_bytes(2, "big")
        head = (
            self.key_id.encode("ascii")
            + _V2
            + self.private.sign(tree_message(topic, len(records), merkle.root(tree)))
        )
        return [
            head + i.to_bytes(2, "big") + size + b"".join(merkle.path(tree, i))
            for i in range(len(records))
        ]


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
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self.load(keys)

    def load(self, keys: Iterable[PublicKey]) -> None:
        """Trust exactly `keys` from now on (a registry read again)."""
        self._keys = {k.key_id: k for k in keys}
        self._verified.clear()

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
        form = header[_ID_LEN : _ID_LEN + 1]
        v1 = form == _V1 and len(header) == _ID_LEN + 1 + _SIG_LEN
        v2 = form == _V2 and len(header) >= _V2_FIXED and (len(header) - _V2_FIXED) % 32 == 0
        if not (v1 or v2):
            return f"the {HEADER} header is malformed ({len(header)} bytes)"
        kid = header[:_ID_LEN].decode("ascii", "replace")
        known = self._keys.get(kid)
        if known is None:
            return f"signed with key {kid}, which is in no organisation's registry"
        if known.org != org:
            return f"signed with key {kid} of {known.org}, not of {org}"
        signature = header[_ID_LEN + 1 : _ID_LEN + 1 + _SIG_LEN]
        signed = message(record.topic, link, record.key, record.value)
        if v2:
            signed_or_problem = _chunk_message(record.topic, header, signed)
            if isinstance(signed_or_problem, str):
                return signed_or_problem
            signed = signed_or_problem
            # A root verified before under this key with this very signature: no need again.
            remembered = header[: _ID_LEN + 1 + _SIG_LEN] + signed
            if remembered in self._verified:
                self._verified.move_to_end(remembered)
                return None
        try:
            known.key.verify(signature, signed)
        except InvalidSignature:
            return f"the signature does not match the record (key {kid} of {org})"
        if v2:
            self._verified[remembered] = None
            if len(self._verified) > VERIFIED_ROOTS:
                self._verified.popitem(last=False)
        return None


def _chunk_message(topic: str, header: bytes, signed: bytes) -> bytes | str:
    """The tree message a version-2 header's signature must be over, from the record's own
    bytes and its audit path; or what is wrong with the path."""
    at = _ID_LEN + 1 + _SIG_LEN
    index = int.from_bytes(header[at : at + 2], "big")
    size = int.from_bytes(header[at + 2 : at + 4], "big")
    rest = header[_V2_FIXED:]
    audit = [rest[i : i + merkle.HASH_LEN] for i in range(0, len(rest), merkle.HASH_LEN)]
    root = merkle.root_from_path(index, size, merkle.leaf_hash(signed), audit)
    if root is None:
        return f"the {HEADER} header's audit path does not fit record {index} of {size}"
    return tree_message(topic, size, root)


def header_of(headers: Iterable[tuple[str, bytes]], header: str = HEADER) -> bytes | None:
    for name, value in headers:
        if name == header:
            return bytes(value)
    return None
