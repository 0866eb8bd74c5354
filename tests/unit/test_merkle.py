"""The Merkle tree of chunk signatures (schemas/merkle.py) against RFC 9162 §2.1: the tree built
level by level has the RFC's recursive shape, every leaf's audit path leads to the root, and a
path for another index or leaf, or altered, leads nowhere or elsewhere."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import merkle


def mth(data: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, as written: MTH(D[n]) splits at the largest power of two below n."""
    if len(data) == 1:
        return merkle.leaf_hash(data[0])
    k = 1
    while k * 2 < len(data):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(data[:k]) + mth(data[k:])).digest()


def data(n: int) -> list[bytes]:
    return [f"record {i}".encode() for i in range(n)]


@pytest.mark.parametrize("n", range(1, 131))
def test_every_leaf_of_every_size_proves_itself_against_the_rfc_root(n: int) -> None:
    leaves = data(n)
    tree = merkle.levels([merkle.leaf_hash(d) for d in leaves])
    assert merkle.root(tree) == mth(leaves)
    for i, d in enumerate(leaves):
        path = merkle.path(tree, i)
        assert merkle.root_from_path(i, n, merkle.leaf_hash(d), path) == merkle.root(tree)


@given(st.integers(2, 300), st.data())
def test_a_path_for_another_index_or_leaf_does_not_reach_the_root(
    n: int, draw: st.DataObject
) -> None:
    leaves = data(n)
    tree = merkle.levels([merkle.leaf_hash(d) for d in leaves])
    root = merkle.root(tree)
    i = draw.draw(st.integers(0, n - 1))
    j = draw.draw(st.integers(0, n - 1).filter(lambda j: j != i))
    path = merkle.path(tree, i)
    leaf = merkle.leaf_hash(leaves[i])
    assert merkle.root_from_path(j, n, leaf, path) != root
    # Another size may hash the same path to the same root (only the sides follow from it):
    # that is why a chunk signature signs the size with the root (tests/unit/test_signature.py).
    assert merkle.root_from_path(i, n, merkle.leaf_hash(b"forged"), path) != root
    if path:
        flipped = bytes([path[0][0] ^ 1]) + path[0][1:]
        assert merkle.root_from_path(i, n, leaf, [flipped, *path[1:]]) != root
        assert merkle.root_from_path(i, n, leaf, path[:-1]) is None
    assert merkle.root_from_path(i, n, leaf, [*path, root]) is None
    assert merkle.root_from_path(n, n, leaf, path) is None


def test_a_leaf_cannot_pass_for_an_inner_node() -> None:
    # Domain separation: the hash of two leaves, offered as one leaf's data, is another hash.
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)
