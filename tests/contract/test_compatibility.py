"""Full transitive compatibility: every version of a type reads every other version's data, both
ways, by the reference `avro` package's checker (schemas.compat)."""

from __future__ import annotations

import copy
from typing import Any

from schemas.compat import check_pair, check_registry
from schemas.registry import default_registry


def test_every_type_is_fully_transitively_compatible() -> None:
    problems = check_registry(default_registry())
    assert not problems, "\n".join(map(str, problems))


def test_there_is_a_real_second_version_to_check() -> None:
    registry = default_registry()
    evolved = [t for t in registry.event_types() if registry.latest_version(t) > 1]
    assert "DecisionIssued" in evolved


def _with_field(schema: Any, field: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(dict(schema))
    changed["fields"].append(field)
    return changed


def test_a_field_without_default_is_rejected_naming_schema_and_field() -> None:
    old = default_registry().get("DecisionIssued", 1).schema
    new = _with_field(old, {"name": "appeal_court", "type": "string", "doc": "x"})
    problem = check_pair(new, old, "DecisionIssued v9 (new)", "DecisionIssued v1")
    assert problem is not None
    assert "DecisionIssued v9 (new) cannot read data written with DecisionIssued v1" in str(problem)
    assert "'appeal_court' is new and has no default" in str(problem)


def test_an_optional_field_with_default_is_accepted_both_ways() -> None:
    old = default_registry().get("DecisionIssued", 1).schema
    new = _with_field(old, {"name": "x", "type": ["null", "string"], "default": None, "doc": "x"})
    assert check_pair(new, old, "new", "old") is None
    assert check_pair(old, new, "old", "new") is None


def test_removing_an_enum_symbol_is_rejected() -> None:
    old = default_registry().get("TrackAssigned", 1).schema
    new = copy.deepcopy(dict(old))
    new["fields"][1]["type"]["symbols"].remove("BORDER")
    problem = check_pair(new, old, "new", "old")
    assert problem is not None
    assert "BORDER" in str(problem)


def test_enums_with_a_default_may_grow() -> None:
    # Enums that have OTHER declare it as their default, so an old reader maps a new symbol to it.
    old = default_registry().get("PermitWithdrawn", 1).schema
    new = copy.deepcopy(dict(old))
    new["fields"][1]["type"]["symbols"].append("NEW_GROUND")
    assert check_pair(old, new, "old", "new") is None
