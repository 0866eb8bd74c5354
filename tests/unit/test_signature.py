"""Signed records (schemas/signature.py, infra/signing_keys.py): each organisation signs what it
publishes; the gate and the chain audit name a record that is unsigned, signed by another
organisation, or altered after signing — also when its chain link was computed correctly."""

from __future__ import annotations

import json
import stat
import threading
from dataclasses import replace
from pathlib import Path

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
