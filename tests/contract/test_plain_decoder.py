"""A consumer that has only the .avsc file, the Avro specification and the reference `avro`
package (not fastavro, no ketenlog code) can decode what `schemas.codec.encode` writes.

Decoding side below uses only json, pathlib, io and avro. The spec's single-object encoding:
two bytes C3 01, the 8-byte little-endian CRC-64-AVRO fingerprint of the schema's Parsing
Canonical Form, then the Avro binary body. The canonical form is computed here from the spec's
rules, because python-avro 1.12's `canonical_form` keeps `{"type": "string"}` for a logical type
where the spec (and Java) write `"string"`, which would give another fingerprint.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import pytest

from schemas.codec import encode
from schemas.registry import SchemaVersion, default_registry
from schemas.samples import sample_record

AVRO_DIR = Path(__file__).resolve().parents[2] / "schemas" / "avro"
PRIMITIVE = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
EMPTY = 0xC15D213AA4D7A795


def rabin(data: bytes) -> int:
    """CRC-64-AVRO as given in the specification ("Schema Fingerprints")."""
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
        table.append(fp)
    fp = EMPTY
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def pcf(node: Any, ns: str = "") -> str:
    """Parsing Canonical Form: [PRIMITIVES] [FULLNAMES] [STRIP] [ORDER] [STRINGS] [WHITESPACE]."""

    def full(name: str, space: str) -> str:
        return name if "." in name or not space else f"{space}.{name}"

    if isinstance(node, str):
        return json.dumps(node if node in PRIMITIVE else full(node, ns))
    if isinstance(node, list):
        return "[" + ",".join(pcf(n, ns) for n in node) + "]"
    kind = node["type"]
    if kind in PRIMITIVE:
        return json.dumps(kind)
    if kind in ("record", "enum", "fixed"):
        name = full(node["name"], node.get("namespace", ns))
        inner = name.rpartition(".")[0]
        out = f'{{"name":{json.dumps(name)},"type":{json.dumps(kind)}'
        if kind == "record":
            parts = [
                f'{{"name":{json.dumps(f["name"])},"type":{pcf(f["type"], inner)}}}'
                for f in node["fields"]
            ]
            return out + ',"fields":[' + ",".join(parts) + "]}"
        if kind == "enum":
            return out + ',"symbols":[' + ",".join(json.dumps(s) for s in node["symbols"]) + "]}"
        return out + f',"size":{node["size"]}}}'
    if kind == "array":
        return f'{{"type":"array","items":{pcf(node["items"], ns)}}}'
    if kind == "map":
        return f'{{"type":"map","values":{pcf(node["values"], ns)}}}'
    return pcf(kind, ns)


def plain_decode(data: bytes, avsc_file: Path) -> dict[str, Any]:
    text = avsc_file.read_text("utf-8")
    assert data[:2] == b"\xc3\x01", "not Avro single-object encoding"
    carried = int.from_bytes(data[2:10], "little")
    assert carried == rabin(pcf(json.loads(text)).encode("utf-8")), "fingerprint mismatch"
    schema = avro.schema.parse(text)
    body = io.BytesIO(data[10:])
    record: Any = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(body))
    assert body.read() == b"", "bytes left after the record"
    assert isinstance(record, dict)
    return record


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, uuid.UUID) else value


@pytest.mark.parametrize("sv", default_registry().all(), ids=lambda sv: sv.path)
def test_plain_avro_decodes_codec_output(sv: SchemaVersion) -> None:
    record = sample_record(sv)
    data = encode(sv.event_type, record, version=sv.version)
    decoded = plain_decode(data, AVRO_DIR / sv.path)
    assert decoded == _plain(record)


def test_fingerprint_of_the_spec_example() -> None:
    # Spec test vector 000 (apache/avro share/test/data/schema-tests.txt): "null".
    assert rabin(b'"null"') == 7195948357588979594
