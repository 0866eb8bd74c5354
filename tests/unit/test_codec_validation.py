"""Contract validation of agencies' input: every problem named by event type, dotted field path
and what is wrong."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from schemas.codec import ContractError, encode, validate
from schemas.registry import default_registry
from schemas.samples import sample_record


def _record(event_type: str) -> dict[str, Any]:
    return copy.deepcopy(sample_record(default_registry().latest(event_type)))


def _problems(event_type: str, record: Any) -> dict[str, str]:
    with pytest.raises(ContractError) as caught:
        validate(event_type, record)
    assert caught.value.event_type == event_type
    assert str(caught.value).startswith(f"{event_type}: ")
    return {p.path: p.message for p in caught.value.problems}


def test_a_valid_sample_passes() -> None:
    validate("DecisionIssued", _record("DecisionIssued"))


def test_missing_field() -> None:
    record = _record("DecisionIssued")
    del record["outcome"]
    assert _problems("DecisionIssued", record) == {"outcome": "missing"}


def test_missing_envelope_field_has_a_dotted_path() -> None:
    record = _record("DecisionIssued")
    del record["envelope"]["recorded_at"]
    assert _problems("DecisionIssued", record) == {"envelope.recorded_at": "missing"}


def test_optional_fields_may_be_left_out() -> None:
    record = _record("DecisionIssued")
    for name in ("status", "departure_deadline", "suspensive_effect"):
        del record[name]
    del record["envelope"]["case_id"]
    validate("DecisionIssued", record)


def test_unknown_enum_symbol_lists_the_allowed_ones() -> None:
    record = _record("DecisionIssued")
    record["outcome"] = "MAYBE"
    message = _problems("DecisionIssued", record)["outcome"]
    assert "unknown enum symbol 'MAYBE'" in message
    assert "GRANTED, REJECTED, INADMISSIBLE, MANIFESTLY_UNFOUNDED" in message


def test_wrong_type() -> None:
    record = _record("Relocated")
    record["minors_in_household"] = "two"
    assert "wrong type: expected int" in _problems("Relocated", record)["minors_in_household"]


def test_bool_is_not_an_int() -> None:
    record = _record("Relocated")
    record["minors_in_household"] = True
    assert "wrong type" in _problems("Relocated", record)["minors_in_household"]


def test_wrong_type_inside_an_optional_field() -> None:
    record = _record("DecisionIssued")
    record["departure_deadline"] = "2026-04-01"
    assert "expected a date" in _problems("DecisionIssued", record)["departure_deadline"]


def test_every_problem_is_listed() -> None:
    record = _record("DecisionIssued")
    record["outcome"] = "MAYBE"
    record["status"] = "C"
    record["envelope"]["sensitivity"] = "SECRET"
    record["unexpected"] = 1
    assert set(_problems("DecisionIssued", record)) == {
        "outcome",
        "status",
        "envelope.sensitivity",
        "unexpected",
    }


@pytest.mark.parametrize("key", ["1234567890", "V1234567890", "5E" * 32, "ab"])
def test_person_key_must_be_a_pseudonymous_hex_key(key: str) -> None:
    record = _record("AsylumApplicationLodged")
    record["envelope"]["person_key"] = key
    message = _problems("AsylumApplicationLodged", record)["envelope.person_key"]
    assert "never a V-nummer" in message


def test_location_events_are_keyed_by_location() -> None:
    record = _record("LocationOpened")
    assert record["envelope"]["person_key"] == f"location:{record['location_id']}"
    validate("LocationOpened", record)
    record["envelope"]["person_key"] = "location:elsewhere"
    message = _problems("LocationOpened", record)["envelope.person_key"]
    assert f"must be 'location:{record['location_id']}'" in message


def test_patterns_on_codes() -> None:
    record = _record("LinkedToMunicipality")
    record["municipality_code"] = "0363"
    record["task_period"] = "2026-III"
    problems = _problems("LinkedToMunicipality", record)
    assert "does not match" in problems["municipality_code"]
    assert "does not match" in problems["task_period"]


def test_nationality_is_alpha3() -> None:
    record = _record("IdentityRegistered")
    record["nationality"] = "SY"
    assert "does not match" in _problems("IdentityRegistered", record)["nationality"]


def test_naive_datetimes_are_refused() -> None:
    record = _record("DecisionIssued")
    record["envelope"]["occurred_at"] = dt.datetime(2026, 1, 1, 12, 0)
    assert "naive datetime" in _problems("DecisionIssued", record)["envelope.occurred_at"]


def test_event_id_must_be_a_uuid() -> None:
    record = _record("DecisionIssued")
    record["envelope"]["event_id"] = "not-a-uuid"
    assert "not a UUID" in _problems("DecisionIssued", record)["envelope.event_id"]
    record["envelope"]["event_id"] = "6f1c0b9e-2a43-4a53-9d57-1f2e4b8a0c11"
    validate("DecisionIssued", record)


def test_producer_must_own_the_type() -> None:
    record = _record("DecisionIssued")
    record["envelope"]["producer"] = "COA"
    assert "IND only" in _problems("DecisionIssued", record)["envelope.producer"]


def test_common_types_may_come_from_any_producer() -> None:
    record = _record("PersonErased")
    record["envelope"]["producer"] = "GEMEENTE"
    validate("PersonErased", record)


def test_event_type_must_match() -> None:
    record = _record("DecisionIssued")
    record["envelope"]["event_type"] = "TrackAssigned"
    assert "DecisionIssued" in _problems("DecisionIssued", record)["envelope.event_type"]


def test_retraction_must_name_the_event() -> None:
    record = _record("EventRetracted")
    record["envelope"]["retracts"] = None
    assert "missing" in _problems("EventRetracted", record)["envelope.retracts"]


def test_negative_sequence() -> None:
    record = _record("DecisionIssued")
    record["envelope"]["producer_seq"] = -1
    assert "minimum 0" in _problems("DecisionIssued", record)["envelope.producer_seq"]


def test_not_a_mapping() -> None:
    assert "expected a record" in _problems("DecisionIssued", ["a"])[""]


def test_encode_validates_by_default() -> None:
    record = _record("DecisionIssued")
    record["outcome"] = "MAYBE"
    with pytest.raises(ContractError, match=r"DecisionIssued: outcome: unknown enum symbol"):
        encode("DecisionIssued", record)
