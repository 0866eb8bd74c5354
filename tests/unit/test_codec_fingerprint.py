"""Parsing Canonical Form and CRC-64-AVRO against the Avro specification's own test vectors.

Vectors: apache/avro `share/test/data/schema-tests.txt`, cases 000-033, as of commit
0ea74a36cebb2e5fbc37e599814a05c33cb7d424. The fingerprints there are Java signed longs; ours
are unsigned.
"""

from __future__ import annotations

import json

import pytest

from schemas.canonical import canonical_form, crc64_avro, fingerprint

# (case, input schema text, canonical form, fingerprint or None where the file gives none)
VECTORS: list[tuple[str, str, str, int | None]] = [
    ("000", '"null"', '"null"', 7195948357588979594),
    ("001", '{"type":"null"}', '"null"', None),
    ("002", '"boolean"', '"boolean"', -6970731678124411036),
    ("003", '{"type":"boolean"}', '"boolean"', None),
    ("004", '"int"', '"int"', 8247732601305521295),
    ("005", '{"type":"int"}', '"int"', None),
    ("006", '"long"', '"long"', -3434872931120570953),
    ("007", '{"type":"long"}', '"long"', None),
    ("008", '"float"', '"float"', 5583340709985441680),
    ("009", '{"type":"float"}', '"float"', None),
    ("010", '"double"', '"double"', -8181574048448539266),
    ("011", '{"type":"double"}', '"double"', None),
    ("012", '"bytes"', '"bytes"', 5746618253357095269),
    ("013", '{"type":"bytes"}', '"bytes"', None),
    ("014", '"string"', '"string"', -8142146995180207161),
    ("015", '{"type":"string"}', '"string"', None),
    ("016", "[  ]", "[]", -1241056759729112623),
    ("017", '[ "int"  ]', '["int"]', -5232228896498058493),
    ("018", '[ "int" , {"type":"boolean"} ]', '["int","boolean"]', 5392556393470105090),
    (
        "019",
        '{"fields":[], "type":"record", "name":"foo"}',
        '{"name":"foo","type":"record","fields":[]}',
        -4824392279771201922,
    ),
    (
        "020",
        '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
        '{"name":"x.y.foo","type":"record","fields":[]}',
        5916914534497305771,
    ),
    (
        "021",
        '{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}',
        '{"name":"a.b.foo","type":"record","fields":[]}',
        -4616218487480524110,
    ),
    (
        "022",
        '{"fields":[], "type":"record", "name":"foo", "doc":"Useful info"}',
        '{"name":"foo","type":"record","fields":[]}',
        -4824392279771201922,
    ),
    (
        "023",
        '{"fields":[], "type":"record", "name":"foo", "aliases":["foo","bar"]}',
        '{"name":"foo","type":"record","fields":[]}',
        -4824392279771201922,
    ),
    (
        "024",
        '{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}',
        '{"name":"foo","type":"record","fields":[]}',
        -4824392279771201922,
    ),
    (
        "025",
        '{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}',
        '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
        7843277075252814651,
    ),
    (
        "026",
        '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"},'
        '{"order":"descending","name":"f2","doc":"Hello","type":"int"}],'
        ' "type":"record", "name":"foo"}',
        '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},'
        '{"name":"f2","type":"int"}]}',
        -4860222112080293046,
    ),
    (
        "027",
        '{"type":"enum", "name":"foo", "symbols":["A1"]}',
        '{"name":"foo","type":"enum","symbols":["A1"]}',
        -6342190197741309591,
    ),
    (
        "028",
        '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", '
        '"symbols":["A1", "A2"]}',
        '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
        -4448647247586288245,
    ),
    (
        "029",
        '{"name":"foo","type":"fixed","size":15}',
        '{"name":"foo","type":"fixed","size":15}',
        1756455273707447556,
    ),
    (
        "030",
        '{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}',
        '{"name":"x.y.z.foo","type":"fixed","size":32}',
        -3064184465700546786,
    ),
    (
        "031",
        '{ "items":{"type":"null"}, "type":"array"}',
        '{"type":"array","items":"null"}',
        -589620603366471059,
    ),
    (
        "032",
        '{ "values":"string", "type":"map"}',
        '{"type":"map","values":"string"}',
        -8732877298790414990,
    ),
    (
        "033",
        '{"name":"PigValue","type":"record",'
        '"fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
        '{"name":"PigValue","type":"record","fields":[{"name":"value",'
        '"type":["null","int","long","PigValue"]}]}',
        -1759257747318642341,
    ),
]


def _unsigned(java_long: int) -> int:
    return java_long & 0xFFFF_FFFF_FFFF_FFFF


@pytest.mark.parametrize(("case", "source", "canonical", "expected"), VECTORS)
def test_spec_vector(case: str, source: str, canonical: str, expected: int | None) -> None:
    schema = json.loads(source)
    assert canonical_form(schema) == canonical, case
    if expected is not None:
        assert fingerprint(schema) == _unsigned(expected), case
        assert crc64_avro(canonical.encode()) == _unsigned(expected), case


def test_logical_types_are_stripped_to_the_primitive() -> None:
    # The spec's [STRIP] and [PRIMITIVES] rules; Java and fastavro agree, python-avro 1.12 does not.
    schema = {"type": "record", "name": "r", "fields": [
        {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "t", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
    ]}  # fmt: skip
    assert canonical_form(schema) == (
        '{"name":"r","type":"record","fields":[{"name":"u","type":"string"},'
        '{"name":"t","type":["null","long"]}]}'
    )


def test_nested_names_inherit_the_enclosing_namespace() -> None:
    schema = {"type": "record", "name": "E", "namespace": "a.b", "fields": [
        {"name": "k", "type": {"type": "enum", "name": "K", "symbols": ["X"]}},
        {"name": "again", "type": "K"},
        {"name": "other", "type": {"type": "enum", "name": "c.L", "symbols": ["Y"]}},
    ]}  # fmt: skip
    assert canonical_form(schema) == (
        '{"name":"a.b.E","type":"record","fields":['
        '{"name":"k","type":{"name":"a.b.K","type":"enum","symbols":["X"]}},'
        '{"name":"again","type":"a.b.K"},'
        '{"name":"other","type":{"name":"c.L","type":"enum","symbols":["Y"]}}]}'
    )
