"""Signed records (schemas/signature.py, infra/signing_keys.py): each organisation signs what it
publishes; the gate and the chain audit name a record that is unsigned, signed by another
organisation, or altered after signing — also when its chain link was computed correctly."""

from __future__ import annotations

import json
import stat
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from infra import signing_keys
from infra.chain_audit import audit_records
from infra.signing_keys import KeyStore, ReloadingVerifier, verifier_from
from processors.checks import Accepted, Reason, Rejected, check
from schemas import chain, signature
from schemas.codec import default_codec
from schemas.records import Raw
from tests.unit.prepared_records import HEADERS, NOW, record

TOPIC = "keten.ind.events"


def signed_raw(store: KeyStore, org: str, offset: int = 0, prev: bytes = chain.GENESIS) -> Raw:
    key, value = record("IND", "TrackAssigned", {"track": "GENERAL"}, f"S{offset}")
    ts = int(NOW.timestamp() * 1000)
    link = chain.link(prev, key, value, ts)
    signer, _ = store.signer(org)
    headers = [*HEADERS[value], (chain.HEADER, link)]
    headers.append((signature.HEADER, signer.sign(TOPIC, link, key, value)))
    return Raw(TOPIC, 0, offset, key, value, headers, ts)


def verdict(store: KeyStore, raw: Raw) -> tuple[str, str] | None:
    out = check(default_codec(), raw, None, store.verifier())
    if isinstance(out, Rejected):
        return out.reason.value, out.detail
    assert isinstance(out, Accepted)
    return None


def test_a_signed_record_passes_and_every_forgery_is_named(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    good = signed_raw(store, "IND")
    assert verdict(store, good) is None

    unsigned = replace(good, headers=[h for h in good.headers if h[0] != signature.HEADER])
    assert verdict(store, unsigned) == (
        "UNSIGNED",
        "no ketenlog-signature header: the record is not signed",
    )
    # COA signs a record on IND's topic: a correct link, a valid signature, the wrong signer.
    by_coa = signed_raw(store, "COA")
    reason, detail = verdict(store, by_coa) or ("", "")
    assert reason == "BAD_SIGNATURE" and "of COA, not of IND" in detail
    # Altered after signing (the link recomputed to match): the signature no longer fits.
    _, other_value = record("IND", "TrackAssigned", {"track": "EXTENDED"}, "S0")
    link = chain.link(chain.GENESIS, good.key, other_value, good.timestamp_ms)
    sig = dict(good.headers)[signature.HEADER]
    altered = replace(
        good,
        value=other_value,
        headers=[*HEADERS[other_value], (chain.HEADER, link), (signature.HEADER, sig)],
    )
    reason, detail = verdict(store, altered) or ("", "")
    assert reason == "BAD_SIGNATURE" and "does not match the record" in detail
    stranger = KeyStore(tmp_path / "elsewhere")
    reason, detail = verdict(store, signed_raw(stranger, "IND")) or ("", "")
    assert reason == "BAD_SIGNATURE" and "in no organisation's registry" in detail
    garbled = replace(good, headers=[*good.headers[:-1], (signature.HEADER, b"not a signature")])
    assert (verdict(store, garbled) or ("",))[0] == "BAD_SIGNATURE"


def test_the_key_store_keeps_private_keys_owner_only_and_rotation_keeps_old_records_valid(
    tmp_path: Path,
) -> None:
    store = KeyStore(tmp_path / "keys")
    first, created = store.signer("IND")
    again, created_again = store.signer("IND")
    assert created and not created_again and again.key_id == first.key_id
    pem = tmp_path / "keys" / "IND" / f"{first.key_id}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys" / "IND").stat().st_mode) == 0o700
    old = signed_raw(store, "IND")
    second = store.rotate("IND")
    assert second.key_id != first.key_id and store.signer("IND")[0].key_id == second.key_id
    assert verdict(store, old) is None  # signed with the retired key: still verifies
    assert verdict(store, signed_raw(store, "IND", 1)) is None
    entries = {k.key_id: k for k in store.public_keys()}
    assert entries[first.key_id].retired_at is not None
    assert entries[second.key_id].retired_at is None
    # The registry holds public keys only.
    text = store.registry_path.read_text()
    assert "PRIVATE" not in text and set(json.loads(text)) == {"about", "keys"}


def test_two_processes_creating_the_first_key_get_one(tmp_path: Path) -> None:
    results: list[str] = []

    def make() -> None:
        results.append(KeyStore(tmp_path / "keys").signer("DTV")[0].key_id)

    threads = [threading.Thread(target=make) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert [k.key_id for k in KeyStore(tmp_path / "keys").public_keys()] == results[:1]


def test_a_registry_entry_that_does_not_match_its_key_is_refused(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.signer("IND")
    doc = store.registry()
    doc["keys"][0]["key_id"] = "0" * 16
    try:
        verifier_from(doc)
    except Exception as exc:
        assert "does not match its key" in str(exc)
    else:
        raise AssertionError("a tampered registry was accepted")


def test_the_chain_audit_names_a_forged_record_with_a_correct_link(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    first = signed_raw(store, "IND", 0)
    second = signed_raw(store, "IND", 1, prev=dict(first.headers)[chain.HEADER])
    assert audit_records(TOPIC, 0, 0, 2, [first, second], signatures=store.verifier()).breaks == []
    # A forger knows the algorithm, computes the right link, but cannot sign as IND.
    forged = replace(second, headers=[h for h in second.headers if h[0] != signature.HEADER])
    audit = audit_records(TOPIC, 0, 0, 2, [first, forged], signatures=store.verifier())
    assert [(b.offset, b.kind) for b in audit.breaks] == [(1, "unsigned")]
    # Without the registry the same log looks intact: the link alone carries no secret.
    assert audit_records(TOPIC, 0, 0, 2, [first, forged]).breaks == []
    assert Reason.UNSIGNED.value == "UNSIGNED"


def test_a_running_gate_learns_a_key_rotated_after_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = KeyStore(tmp_path / "keys")
    store.signer("IND")
    gate_keys = ReloadingVerifier(store)
    store.rotate("IND")
    fresh = signed_raw(store, "IND")
    monkeypatch.setattr(signing_keys, "RELOAD_AFTER_S", 3600.0)
    assert "in no organisation's registry" in (gate_keys.problem("IND", fresh) or "")
    monkeypatch.setattr(signing_keys, "RELOAD_AFTER_S", 0.0)
    assert gate_keys.problem("IND", fresh) is None


def chunk_raws(store: KeyStore, org: str, n: int) -> list[Raw]:
    """`n` records chained on one partition and signed together (version 2), as the publisher
    signs a chunk."""
    ts = int(NOW.timestamp() * 1000)
    prev, made = chain.GENESIS, []
    for i in range(n):
        key, value = record("IND", "TrackAssigned", {"track": "GENERAL"}, f"C{i}")
        prev = chain.link(prev, key, value, ts)
        made.append((prev, key, value))
    signer, _ = store.signer(org)
    headers = signer.sign_chunk(TOPIC, made)
    return [
        Raw(TOPIC, 0, i, k, v, [*HEADERS[v], (chain.HEADER, link), (signature.HEADER, h)], ts)
        for i, ((link, k, v), h) in enumerate(zip(made, headers, strict=True))
    ]


class CountingKey:
    """A public key that counts its verifications."""

    def __init__(self, key: Any) -> None:
        self.key, self.calls = key, 0

    def verify(self, sig: bytes, data: bytes) -> None:
        self.calls += 1
        self.key.verify(sig, data)


def test_a_chunk_is_signed_once_and_each_record_proves_itself(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    raws = chunk_raws(store, "IND", 37)
    header = dict(raws[5].headers)[signature.HEADER]
    assert header[16:17] == b":" and len(header) == 16 + 1 + 64 + 4 + 32 * 6
    [public] = signing_keys.public_keys(store.registry())
    counting = CountingKey(public.key)
    verifier = signature.Verifier([replace(public, key=counting)])  # type: ignore[arg-type]
    for raw in raws:
        assert verifier.problem("IND", raw) is None
    assert counting.calls == 1, "one public-key operation for the whole chunk"
    # Each record also stands alone, for a checker that never saw the rest of its chunk.
    assert all(verdict(store, raw) is None for raw in raws[::7])


def test_every_forgery_of_a_chunk_record_is_named(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    raws = chunk_raws(store, "IND", 10)
    verifier = store.verifier()
    assert all(verifier.problem("IND", raw) is None for raw in raws)  # the roots are remembered

    def with_header(raw: Raw, header: bytes) -> Raw:
        return replace(raw, headers=[*raw.headers[:-1], (signature.HEADER, header)])

    good = raws[3]
    header = dict(good.headers)[signature.HEADER]
    at = 16 + 1 + 64
    # Altered after signing, its link recomputed to match: the path no longer reaches the root.
    _, other = record("IND", "TrackAssigned", {"track": "EXTENDED"}, "C3")
    link = chain.link(chain.GENESIS, good.key, other, good.timestamp_ms)
    altered = replace(
        good,
        value=other,
        headers=[*HEADERS[other], (chain.HEADER, link), (signature.HEADER, header)],
    )
    another_index = with_header(good, header[:at] + (4).to_bytes(2, "big") + header[at + 2 :])
    another_size = with_header(good, header[: at + 2] + (11).to_bytes(2, "big") + header[at + 4 :])
    flipped_path = with_header(good, header[:-1] + bytes([header[-1] ^ 1]))
    flipped_signature = with_header(good, header[:20] + bytes([header[20] ^ 1]) + header[21:])
    other_topic = replace(good, topic="keten.coa.events")
    for forged in (altered, another_index, another_size, flipped_path, flipped_signature):
        problem = verifier.problem("IND", forged) or ""
        assert "does not match the record" in problem or "audit path does not fit" in problem
        assert verdict(store, forged) is not None
    assert verifier.problem("COA", other_topic) is not None
    short = with_header(good, header[:-32])
    assert "audit path does not fit" in (verifier.problem("IND", short) or "")
    ragged = with_header(good, header[:-1])
    assert "malformed" in (verifier.problem("IND", ragged) or "")
    # Forgeries leave the remembered roots as they were: the genuine records still pass.
    assert all(verifier.problem("IND", raw) is None for raw in raws)
