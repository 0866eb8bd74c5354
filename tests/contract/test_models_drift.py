"""schemas/models.py is generated from the .avsc files and committed; it must not drift."""

from __future__ import annotations

import dataclasses
import uuid

from schemas import models
from schemas.codec import decode, encode
from schemas.codegen import MODELS_PATH, generate
from schemas.registry import Registry, default_registry
from schemas.samples import SAMPLE_DATE, SAMPLE_PERSON_KEY, SAMPLE_TIME


def test_models_match_the_avsc_files() -> None:
    expected = generate(Registry.load())
    assert MODELS_PATH.read_text("utf-8") == expected, (
        "models drifted from the .avsc files: run python -m schemas.codegen"
    )


def test_there_is_a_model_for_every_type_at_its_latest_version() -> None:
    registry = default_registry()
    assert sorted(models.EVENT_MODELS) == registry.event_types()
    for event_type, model in models.EVENT_MODELS.items():
        assert (
            event_type,
            registry.latest_version(event_type),
        ) == (model.EVENT_TYPE, model.VERSION)


def test_a_model_encodes_and_is_frozen() -> None:
    envelope = models.Envelope(
        event_id=uuid.uuid4(),
        event_type="DecisionIssued",
        producer="IND",
        person_key=SAMPLE_PERSON_KEY,
        occurred_at=SAMPLE_TIME,
        recorded_at=SAMPLE_TIME,
        producer_seq=3,
    )
    event = models.DecisionIssued(
        envelope=envelope,
        outcome=models.DecisionOutcome.REJECTED,
        departure_deadline=SAMPLE_DATE,
    )
    record = event.to_record()
    assert record["outcome"] == "REJECTED"
    assert record["envelope"]["sensitivity"] == "NORMAL"
    assert decode(encode("DecisionIssued", record)).record == record
    try:
        event.outcome = models.DecisionOutcome.GRANTED  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("models must be frozen")


def test_arrays_become_lists() -> None:
    envelope = models.Envelope(
        event_id=uuid.uuid4(),
        event_type="LocationOpened",
        producer="COA",
        person_key="location:AZC-0042",
        occurred_at=SAMPLE_TIME,
        recorded_at=SAMPLE_TIME,
        producer_seq=1,
    )
    event = models.LocationOpened(
        envelope=envelope,
        location_id="AZC-0042",
        location_type=models.LocationType.AZC,
        municipality_code="GM0014",
        target_groups=(models.TargetGroup.ASYLUM_SEEKERS, models.TargetGroup.STATUS_HOLDERS),
        capacity=400,
    )
    record = event.to_record()
    assert record["target_groups"] == ["ASYLUM_SEEKERS", "STATUS_HOLDERS"]
    encode("LocationOpened", record)
