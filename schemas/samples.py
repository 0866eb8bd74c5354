"""Minimal valid records built generically from the schemas: for contract tests, examples and
smoke checks of a deployment. Not for production data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from schemas.canonical import PRIMITIVES, full_name, namespace_of
from schemas.registry import SchemaVersion
from schemas.validation import expected_subject_key

SAMPLE_PERSON_KEY = "5e" * 32
SAMPLE_TIME = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)
SAMPLE_DATE = dt.date(2026, 3, 30)
_PATTERN_EXAMPLES = {
    r"^[A-Z]{3}$": "SYR",
    r"^GM[0-9]{4}$": "GM0363",
    r"^[0-9]{4}-(I|II)$": "2026-I",
    r"^[0-9a-f]{32,128}$": SAMPLE_PERSON_KEY,
    r"^[A-Z][A-Z0-9]{1,15}$": "IND",
}


def sample_record(sv: SchemaVersion, *, seq: int = 1) -> dict[str, Any]:
    """A valid record for `sv`: first enum symbols, non-null union branches, fixed values."""
    builder = _Builder(sv.named_types)
    record: dict[str, Any] = builder.build(sv.schema, "", None)
    envelope = record["envelope"]
    envelope["event_id"] = uuid.uuid5(uuid.NAMESPACE_URL, f"sample:{sv.event_type}:{seq}")
    envelope["event_type"] = sv.event_type
    envelope["producer"] = sv.org.value if sv.org else "IND"
    envelope["producer_seq"] = seq
    envelope["sensitivity"] = "NORMAL"
    envelope["corrects"] = None
    if sv.event_type != "EventRetracted":
        envelope["retracts"] = None
    envelope["person_key"] = expected_subject_key(sv, record) or SAMPLE_PERSON_KEY
    return record


class _Builder:
    def __init__(self, named: Mapping[str, Mapping[str, Any]]) -> None:
        self.named = named

    def build(self, node: Any, ns: str, field: Mapping[str, Any] | None) -> Any:
        if isinstance(node, str):
            if node in PRIMITIVES:
                return self.primitive(node, field)
            name = full_name(node, ns)
            return self.build(self.named[name], namespace_of(name), field)
        if isinstance(node, list):
            branch = next((b for b in node if b != "null"), "null")
            return self.build(branch, ns, field)
        logical = node.get("logicalType")
        if logical in ("timestamp-micros", "timestamp-millis"):
            return SAMPLE_TIME
        if logical == "date":
            return SAMPLE_DATE
        if logical == "uuid":
            return uuid.UUID(int=1)
        kind = node["type"]
        if kind in PRIMITIVES:
            return self.primitive(kind, field)
        if kind == "enum":
            return node["symbols"][0]
        if kind == "array":
            return [self.build(node["items"], ns, None)]
        if kind == "map":
            return {"key": self.build(node["values"], ns, None)}
        if kind == "record":
            inner = namespace_of(full_name(node["name"], node.get("namespace") or ns))
            return {f["name"]: self.build(f["type"], inner, f) for f in node["fields"]}
        return self.build(kind, ns, field)

    def primitive(self, kind: str, field: Mapping[str, Any] | None) -> Any:
        props = field or {}
        if kind == "string":
            pattern = props.get("pattern")
            if pattern is None:
                return f"sample-{props.get('name', 'value')}"
            return _PATTERN_EXAMPLES[pattern]
        if kind in ("int", "long"):
            return max(int(props.get("minimum", 0)), 1) if "minimum" in props else 7
        if kind == "boolean":
            return True
        if kind in ("float", "double"):
            return 0.5
        if kind == "bytes":
            return b"\x00"
        return None
