"""A Merkle tree over a chunk of records, as RFC 9162 (Certificate Transparency 2.0) §2.1 defines
it: one signature vouches for many records (schemas/signature.py, header version 2), and each
record carries the audit path that proves it is a leaf of the signed root. Pure; SHA-256 from
hashlib.

Hand-written rather than a library: it is the RFC's two functions (the tree's shape and the
inclusion-proof check) over hashlib, and the Python packages that offer them bring storage
back-ends and an API for append-only logs we do not need. The tests check the RFC's definition
(the recursive MTH) against the level-by-level build here, for every size and index up to 130.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_LEN = 32


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d): the prefix keeps a leaf from passing for a node."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """The tree, bottom-up, from leaf hashes: pairs are hashed left to right and an unpaired
    last node moves up as it is, which is RFC 9162's shape (the left subtree always holds the
    largest power of two below the size)."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    out = [list(leaves)]
    while len(out[-1]) > 1:
        level = out[-1]
        up = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        out.append(up)
    return out


def root(tree: list[list[bytes]]) -> bytes:
    return tree[-1][0]


def path(tree: list[list[bytes]], index: int) -> list[bytes]:
    """The audit path of leaf `index` (RFC 9162 §2.1.3.1), leaf to root."""
    if not 0 <= index < len(tree[0]):
        raise IndexError(f"leaf {index} of a tree of {len(tree[0])}")
    out = []
    for level in tree[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            out.append(level[sibling])
        index >>= 1
    return out


def root_from_path(index: int, size: int, leaf: bytes, audit_path: Sequence[bytes]) -> bytes | None:
    """The root that leaf `index` of a tree of `size` leaves hashes up to along `audit_path`
    (RFC 9162 §2.1.3.2), or None when the path cannot belong to that index and size."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    sha256 = hashlib.sha256  # node_hash inlined: the gate checks a path for every record
    for p in audit_path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
