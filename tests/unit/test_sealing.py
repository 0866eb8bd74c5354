"""Personal fields sealed per person (schemas/sealing.py): what the publisher seals the gate
opens; a ciphertext is bound to its event and field; a destroyed key reads as None, never as
an error; an erasure purges earlier facts (domain/erasure.py); the key store deletes securely."""

from __future__ import annotations

import dataclasses
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.erasure import erase_personal
from domain.facts import Fact
from domain.person_timeline import person_timeline
from infra.person_keys import PersonKeyStore
from processors.checks import Accepted, Reason, Rejected, check
from producers.prepare import Preparer
from producers.submission import Submission
from schemas.codec import default_codec
from schemas.records import Raw
from schemas.sealing import SealError, new_key, open_value, seal_value

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
IDENTITY = {"nationality": "ERI", "birth_year": 1991, "sex": "F", "documents_presented": True}


class Keys:
    """An in-memory person key store."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[bytes, bytes]] = {}

    def key_for(self, person: str) -> tuple[bytes, bytes]:
        return self.keys.setdefault(person, new_key())

    def key(self, person: str, key_id: bytes) -> bytes | None:
        found = self.keys.get(person)
        return found[1] if found is not None and found[0] == key_id else None


def raw_of(keys: Keys, ref: str = "AVIM-1", data: dict[str, Any] | None = None) -> Raw:
    preparer = Preparer(b"s" * 32, "urn:x", clock=lambda: NOW, person_keys=keys.key_for)
    sub = Submission(
        type="IdentityRegistered",
        v_nummer="1234567890",
        occurred_at=NOW - timedelta(days=1),
        ref=ref,
        data=data or IDENTITY,
    )
    prepared = preparer.prepare("AVIM", sub)
    return Raw(
        "keten.avim.events", 0, 0, prepared.key, prepared.value, prepared.headers,
        int(NOW.timestamp() * 1000),
    )  # fmt: skip


def test_the_gate_opens_what_the_publisher_sealed_and_the_topic_holds_no_clear_value() -> None:
    keys = Keys()
    raw = raw_of(keys)
    assert raw.value is not None
    assert b"ERI" not in raw.value
    verdict = check(default_codec(), raw, keys=keys.key)
    assert isinstance(verdict, Accepted)
    assert {k: verdict.record[k] for k in IDENTITY} == IDENTITY
    assert "sealed" not in verdict.record


def test_a_destroyed_key_reads_as_none_and_is_no_dead_letter() -> None:
    keys = Keys()
    raw = raw_of(keys)
    keys.keys.clear()
    verdict = check(default_codec(), raw, keys=keys.key)
    assert isinstance(verdict, Accepted)
    assert {k: verdict.record[k] for k in IDENTITY} == dict.fromkeys(IDENTITY)


def test_a_ciphertext_moved_to_another_event_or_field_does_not_open() -> None:
    key_id, key = new_key()
    blob = seal_value(key_id, key, "event-1", "nationality", "ERI")
    assert open_value(key, blob, "event-1", "nationality") == "ERI"
    with pytest.raises(SealError, match="nationality"):
        open_value(key, blob, "event-2", "nationality")
    with pytest.raises(SealError, match="sex"):
        open_value(key, blob, "event-1", "sex")


def test_a_record_whose_sealed_field_was_swapped_is_a_contract_violation() -> None:
    keys = Keys()
    codec = default_codec()
    raw = raw_of(keys)
    decoded = codec.decode(raw.value or b"")
    record = decoded.record
    sealed = record["sealed"]
    sealed["sex"], sealed["nationality"] = sealed["nationality"], sealed["sex"]
    forged = dataclasses.replace(raw, value=codec.encode("IdentityRegistered", record, check=False))
    verdict = check(codec, forged, keys=keys.key)
    assert isinstance(verdict, Rejected)
    assert verdict.reason is Reason.CONTRACT_VIOLATION
    assert "nationality: does not open" in verdict.detail


def test_a_sealed_value_of_the_wrong_type_is_refused_naming_the_field() -> None:
    keys = Keys()
    raw = raw_of(keys)
    codec = default_codec()
    record = codec.decode(raw.value or b"").record
    key_id, key = keys.key_for(record["envelope"]["person_key"])
    record["sealed"]["birth_year"] = seal_value(
        key_id, key, str(record["envelope"]["event_id"]), "birth_year", "nineteen"
    )
    forged = dataclasses.replace(raw, value=codec.encode("IdentityRegistered", record, check=False))
    verdict = check(codec, forged, keys=keys.key)
    assert isinstance(verdict, Rejected)
    assert "birth_year: sealed value str is not its type" in verdict.detail


def test_the_publisher_checks_the_clear_value_before_sealing() -> None:
    with pytest.raises(ValueError, match="nationality"):
        raw_of(Keys(), data={**IDENTITY, "nationality": "eritrea"})


def _fact(event_type: str, data: dict[str, Any], logged: datetime) -> Fact:
    return Fact(
        event_id=f"{event_type}-{logged.isoformat()}", event_type=event_type, producer="AVIM",
        person_key="ab" * 16, case_id=None, occurred_at=logged, recorded_at=logged,
        corrects=None, retracts=None, sensitivity="NORMAL", data=data, logged_at=logged,
    )  # fmt: skip


def test_an_erasure_purges_the_personal_fields_logged_before_it_in_any_order() -> None:
    before = _fact("IdentityRegistered", IDENTITY, NOW)
    erased = _fact("PersonErased", {"ground": "DATA_SUBJECT_REQUEST"}, NOW + timedelta(days=1))
    after = _fact("IdentityRegistered", IDENTITY, NOW + timedelta(days=2))
    for history in ([before, erased, after], [after, erased, before]):
        facts, changed = erase_personal(history)
        by_time = {f.logged_at: f for f in facts}
        assert dict(by_time[NOW].data) == dict.fromkeys(IDENTITY)
        assert dict(by_time[NOW + timedelta(days=2)].data) == IDENTITY
        assert [f.logged_at for f in changed] == [NOW]


def test_no_erasure_changes_nothing() -> None:
    history = [_fact("IdentityRegistered", IDENTITY, NOW)]
    assert erase_personal(history) == (history, [])


def test_the_key_store_is_owner_only_and_overwrites_a_destroyed_key(tmp_path: Path) -> None:
    path = tmp_path / "persons" / "keys.sqlite"
    store = PersonKeyStore(path)
    key_id, key = store.key_for("ab" * 16)
    assert store.key_for("ab" * 16) == (key_id, key)
    other_id, _ = store.key_for("cd" * 16)
    assert other_id != key_id
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert key in path.read_bytes()
    reopened = PersonKeyStore(path)
    assert reopened.key("ab" * 16, key_id) == key
    assert reopened.key("cd" * 16, key_id) is None, "a key opens only its own person's fields"
    assert reopened.erase("ab" * 16, NOW) == 1
    assert reopened.key("ab" * 16, key_id) is None
    assert reopened.erased() == {"ab" * 16: NOW.isoformat()}
    assert key not in path.read_bytes()
    assert all(key not in f.read_bytes() for f in path.parent.iterdir()), "nor in the WAL"
    reopened.close()
    assert key not in path.read_bytes()


def test_the_person_timeline_names_the_erased_fields() -> None:
    before = _fact("IdentityRegistered", IDENTITY, NOW)
    erased = _fact("PersonErased", {"ground": "DATA_SUBJECT_REQUEST"}, NOW + timedelta(days=1))
    after = _fact("IdentityRegistered", IDENTITY, NOW + timedelta(days=2))
    facts, _ = erase_personal([before, erased, after])
    events = {e["event_id"]: e for e in person_timeline("ab" * 16, facts)["events"]}
    assert events[before.event_id]["erased"] == list(IDENTITY)
    assert events[before.event_id]["data"] == dict.fromkeys(IDENTITY)
    assert events[after.event_id]["erased"] == []
    assert events[erased.event_id]["erased"] == []


def test_a_sealed_value_that_breaks_the_contract_is_named_but_not_repeated() -> None:
    keys = Keys()
    raw = raw_of(keys)
    codec = default_codec()
    record = codec.decode(raw.value or b"").record
    key_id, key = keys.key_for(record["envelope"]["person_key"])
    record["sealed"]["nationality"] = seal_value(
        key_id, key, str(record["envelope"]["event_id"]), "nationality", "eritrea"
    )
    forged = dataclasses.replace(raw, value=codec.encode("IdentityRegistered", record, check=False))
    verdict = check(codec, forged, keys=keys.key)
    assert isinstance(verdict, Rejected)
    assert verdict.detail.startswith("nationality: breaks the contract")
    assert "eritrea" not in verdict.detail


def test_preloaded_keys_open_what_the_store_holds_and_later_keys_still_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.sqlite"
    writer = PersonKeyStore(path)
    first = writer.key_for("ab" * 16)
    reader = PersonKeyStore(path)
    assert reader.preload() == 1
    later = writer.key_for("cd" * 16)  # made after the preload, by another process
    assert reader.key("ab" * 16, first[0]) == first[1]
    assert reader.key("cd" * 16, later[0]) == later[1]
    assert reader.key("cd" * 16, first[0]) is None, "a key opens only its own person's fields"
    writer.close()
    reader.close()
