"""Avro Parsing Canonical Form and the CRC-64-AVRO (Rabin) fingerprint, as the Avro specification
defines them. The fingerprint identifies a schema version in the single-object wire format.
"""

from __future__ import annotations

import json
from typing import Any

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})
_EMPTY = 0xC15D213AA4D7A795


def _rabin_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY if fp & 1 else 0)
        table.append(fp)
    return tuple(table)


_TABLE = _rabin_table()


def crc64_avro(data: bytes) -> int:
    """The 64-bit Rabin fingerprint of `data` (unsigned)."""
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def fingerprint(schema: Any) -> int:
    """CRC-64-AVRO of the Parsing Canonical Form of a schema given as parsed JSON (unsigned)."""
    return crc64_avro(canonical_form(schema).encode("utf-8"))


def full_name(name: str, namespace: str) -> str:
    """Resolve a (possibly short) type name against the enclosing namespace."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def namespace_of(name: str) -> str:
    return name.rpartition(".")[0]


def canonical_form(schema: Any) -> str:
    """The Parsing Canonical Form: full names, only parsing attributes, fixed order, no spaces."""
    return _canonical(schema, "")


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _canonical(node: Any, namespace: str) -> str:
    if isinstance(node, str):
        return _quote(node if node in PRIMITIVES else full_name(node, namespace))
    if isinstance(node, list):
        return "[" + ",".join(_canonical(branch, namespace) for branch in node) + "]"
    if not isinstance(node, dict):
        raise TypeError(f"not an Avro schema: {node!r}")
    kind = node["type"]
    if not isinstance(kind, str):
        return _canonical(kind, namespace)
    if kind in PRIMITIVES:
        # [STRIP] drops logicalType and everything else, so {"type": "string", ...} is "string".
        return _quote(kind)
    if kind in _NAMED:
        name = full_name(node["name"], node.get("namespace") or namespace)
        inner = namespace_of(name)
        head = f'{{"name":{_quote(name)},"type":{_quote(kind)}'
        if kind == "enum":
            return head + ',"symbols":[' + ",".join(_quote(s) for s in node["symbols"]) + "]}"
        if kind == "fixed":
            return head + f',"size":{int(node["size"])}}}'
        fields = ",".join(
            f'{{"name":{_quote(f["name"])},"type":{_canonical(f["type"], inner)}}}'
            for f in node["fields"]
        )
        return head + ',"fields":[' + fields + "]}"
    if kind == "array":
        return f'{{"type":"array","items":{_canonical(node["items"], namespace)}}}'
    if kind == "map":
        return f'{{"type":"map","values":{_canonical(node["values"], namespace)}}}'
    return _quote(full_name(kind, namespace))
