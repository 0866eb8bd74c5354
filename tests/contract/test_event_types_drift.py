"""schemas/event_types.py is generated from the .avsc files and committed; it must not drift."""

from __future__ import annotations

from schemas.codegen import EVENT_TYPES_PATH, generate
from schemas.event_types import EventType
from schemas.registry import Registry, default_registry


def test_event_types_match_the_avsc_files() -> None:
    expected = generate(Registry.load())
    assert EVENT_TYPES_PATH.read_text("utf-8") == expected, (
        "event types drifted from the .avsc files: run python -m schemas.codegen"
    )


def test_one_member_per_contract_type() -> None:
    assert sorted(t.value for t in EventType) == default_registry().event_types()
