"""JSON has no dates: payload fields that are Avro `date` or `timestamp-*` arrive as ISO strings
in JSONL files. This turns them into the Python values the codec writes, guided by the schema.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from schemas.registry import SchemaVersion

Convert = Callable[[str], Any]


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _converter(node: Any) -> Convert | None:
    branches = node if isinstance(node, list) else [node]
    for branch in branches:
        if isinstance(branch, Mapping):
            logical = branch.get("logicalType")
            if logical == "date":
                return _date
            if logical in ("timestamp-micros", "timestamp-millis"):
                return _timestamp
    return None


_CACHE: dict[int, dict[str, Convert]] = {}


def _converters(sv: SchemaVersion) -> dict[str, Convert]:
    cached = _CACHE.get(sv.fingerprint)
    if cached is not None:
        return cached
    out = {}
    for field in sv.schema["fields"]:
        convert = _converter(field["type"])
        if convert is not None and field["name"] != "envelope":
            out[field["name"]] = convert
    _CACHE[sv.fingerprint] = out
    return out


def payload_from_json(sv: SchemaVersion, data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `data` with ISO date/time strings turned into dates/datetimes where the schema
    says so. A string that is no valid date is left as it is: validation then names the field."""
    converters = _converters(sv)
    out = dict(data)
    for name, convert in converters.items():
        value = out.get(name)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                out[name] = convert(value)
    return out
