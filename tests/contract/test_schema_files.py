"""The .avsc files are the contract: they parse, follow the conventions, cover every
organisation, and carry nothing that must not travel on the chain topics."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import avro.schema
import pytest

from schemas.codec import Codec, decode, encode
from schemas.registry import ENVELOPE_FILE, Registry, SchemaVersion, default_registry
from schemas.samples import sample_record
from schemas.topics import Org
from schemas.validation import find_problems

AVRO_DIR = Path(__file__).resolve().parents[2] / "schemas" / "avro"
SCHEMAS_DIR = AVRO_DIR.parent
REGISTRY = default_registry()
ALL = REGISTRY.all()

# Special categories (GDPR art. 9) and direct identifiers: no field or symbol may name them.
FORBIDDEN = (
    "religio", "orientation", "lgbt", "sexual", "health", "medical", "diagnos", "disab",
    "ethnic", "race", "political", "trade_union", "biometric_data", "bsn", "v_nummer",
    "vnummer", "surname", "first_name", "given_name", "full_name", "date_of_birth",
    "birth_date", "address", "phone", "email",
)  # fmt: skip


def _ids(sv: SchemaVersion) -> str:
    return sv.path


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_every_file_is_loaded() -> None:
    files = {p.relative_to(AVRO_DIR).as_posix() for p in AVRO_DIR.rglob("*.avsc")}
    assert files - {ENVELOPE_FILE} == {sv.path for sv in ALL}


@pytest.mark.parametrize("sv", ALL, ids=_ids)
def test_parses_with_the_reference_implementation(sv: SchemaVersion) -> None:
    avro.schema.parse((AVRO_DIR / sv.path).read_text("utf-8"))


def test_every_schema_compiles_for_the_codec() -> None:
    Codec(REGISTRY)


@pytest.mark.parametrize("sv", ALL, ids=_ids)
def test_inlined_envelope_is_identical_to_envelope_avsc(sv: SchemaVersion) -> None:
    envelope = json.loads((AVRO_DIR / ENVELOPE_FILE).read_text("utf-8"))
    inlined = sv.schema["fields"][0]["type"]
    assert inlined == envelope, (
        f"{sv.path}: the inlined envelope differs from {ENVELOPE_FILE}; copy it over verbatim"
    )


def test_the_organisation_set_is_open() -> None:
    # A closed enum here would make a new organisation an incompatible change of every schema
    # (schemas/CHANGELOG.md, 2026-12-01): the contract fixes the code's form, the catalogue
    # lists the codes.
    producer = REGISTRY.envelope["fields"][2]
    assert (producer["name"], producer["type"]) == ("producer", "string")
    assert all(re.fullmatch(producer["pattern"], org.value) for org in Org)
    for sv in ALL:
        assert not any(name.endswith(".Producer") for name in sv.named_types), sv.path


def test_a_producer_code_outside_the_pattern_is_named() -> None:
    sv = REGISTRY.latest("EventRetracted")
    record = sample_record(sv)
    record["envelope"]["producer"] = "ind"
    problems = find_problems(sv, record)
    assert [p.path for p in problems] == ["envelope.producer"]
    assert "does not match" in problems[0].message


@pytest.mark.parametrize("org", list(Org))
def test_every_organisation_has_at_least_three_types(org: Org) -> None:
    assert len(REGISTRY.event_types_of(org)) >= 3, org


def test_every_type_has_a_distinct_versioned_ce_type() -> None:
    seen: dict[str, str] = {}
    for sv in ALL:
        assert sv.ce_type.endswith(f".v{sv.version}"), sv.path
        assert sv.ce_type not in seen, f"{sv.path} and {seen[sv.ce_type]} share {sv.ce_type}"
        seen[sv.ce_type] = sv.path
        assert REGISTRY.ce_type(sv.event_type, sv.version) == sv.ce_type


def test_the_lifecycle_types_exist() -> None:
    needed = {
        "ArrivalReported", "IdentityRegistered", "ScreeningStarted", "ScreeningCompleted",
        "BorderDetentionImposed", "DepartureObservedAtBorder", "EurodacHitReceived",
        "AsylumApplicationLodged", "TrackAssigned", "InterviewHeld", "DublinClaimSent",
        "DecisionIssued", "ResidencePermitIssued", "FamilyReunificationRequested",
        "FamilyReunificationDecided", "PermitWithdrawn", "DecisionDeadlineExceeded",
        "NaturalisationDecided", "ReceptionStarted", "PlacedAtLocation", "Relocated",
        "LinkedToMunicipality", "ReceptionEnded", "LocationOpened", "LocationCapacityChanged",
        "LocationClosed", "ReturnCaseOpened", "DepartedIndependently", "ForcedReturnExecuted",
        "DepartedWithoutSupervision", "ReturnCaseClosed", "DetentionOrdered", "DetentionEnded",
        "GuardianshipAssigned", "AgeAssessed", "TurnedEighteen", "MinorReportedMissing",
        "HousingAllocated", "RegisteredInBRP", "ShelterPlacementStarted",
        "ShelterPlacementEnded", "IntegrationStarted", "AppealLodged", "JudgmentIssued",
        "FurtherAppealLodged", "FinalJudgmentIssued", "AssistedReturnRequested",
        "AssistedReturnDeparted", "HousingTaskPublished", "PolicyChanged", "EventRetracted",
        "PersonErased",
    }  # fmt: skip
    assert needed <= set(REGISTRY.event_types())


@pytest.mark.parametrize("sv", ALL, ids=_ids)
def test_records_enums_and_fields_are_documented(sv: SchemaVersion) -> None:
    for node in _walk(sv.schema):
        if node.get("type") in ("record", "enum"):
            assert node.get("doc"), f"{sv.path}: {node['name']} has no doc"
        for field in node.get("fields", []) if node.get("type") == "record" else []:
            assert field.get("doc"), f"{sv.path}: field {field['name']} has no doc"


@pytest.mark.parametrize("sv", ALL, ids=_ids)
def test_no_special_category_data_or_direct_identifiers(sv: SchemaVersion) -> None:
    names = []
    for node in _walk(sv.schema):
        if node.get("type") == "record":
            names += [f["name"].lower() for f in node["fields"]]
        if node.get("type") == "enum":
            names += [s.lower() for s in node["symbols"]]
    for name in names:
        for word in FORBIDDEN:
            assert word not in name, f"{sv.path}: {name!r} looks like {word!r}: keep it off"


@pytest.mark.parametrize("sv", ALL, ids=_ids)
def test_instants_and_dates_use_logical_types(sv: SchemaVersion) -> None:
    for node in _walk(sv.schema):
        for field in node.get("fields", []) if node.get("type") == "record" else []:
            if field["name"].endswith("_at"):
                assert field["type"] == {"type": "long", "logicalType": "timestamp-micros"}
            if field["name"].endswith(("_date", "_deadline", "_from", "_until")):
                branches = field["type"] if isinstance(field["type"], list) else [field["type"]]
                assert {"type": "int", "logicalType": "date"} in branches, field["name"]


def test_enums_with_one_name_have_one_definition() -> None:
    # One name, one meaning across the contract: every type's latest version defines an enum
    # of a given name alike. A later version of a type may add symbols to its own enum (the
    # enum then has a default, so readers of the earlier version read them as it).
    latest: dict[str, list[str]] = {}
    by_type: dict[tuple[str, str], list[str]] = {}
    for sv in ALL:
        is_latest = REGISTRY.latest(sv.event_type).version == sv.version
        for full, node in sv.named_types.items():
            if node.get("type") != "enum":
                continue
            short = full.rpartition(".")[2]
            symbols = list(node["symbols"])
            earlier = by_type.setdefault((sv.event_type, short), symbols)
            assert set(earlier) <= set(symbols), f"{sv.path}: {short} lost symbols"
            if earlier != symbols:
                assert "default" in node, f"{sv.path}: {short} grew without a default"
            by_type[(sv.event_type, short)] = symbols
            if is_latest:
                assert latest.setdefault(short, symbols) == symbols, f"{sv.path}: {short}"


def test_subject_keyed_types_say_so_in_their_doc() -> None:
    for sv in ALL:
        if sv.subject_key is not None:
            prefix = sv.subject_key.partition(":")[0]
            assert f"'{prefix}:" in str(sv.schema["doc"]), sv.path


@pytest.mark.parametrize("sv", ALL, ids=_ids)
def test_sample_round_trip(sv: SchemaVersion) -> None:
    record = sample_record(sv)
    decoded = decode(encode(sv.event_type, record, version=sv.version))
    assert (decoded.event_type, decoded.version) == (sv.event_type, sv.version)
    latest = REGISTRY.latest(sv.event_type)
    added = {f["name"] for f in latest.schema["fields"]} - set(record)
    assert {k: v for k, v in decoded.record.items() if k not in added} == record


def test_registry_loads_from_a_plain_directory() -> None:
    assert [sv.path for sv in Registry.load(AVRO_DIR).all()] == [sv.path for sv in ALL]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", sorted(SCHEMAS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_schemas_imports_nothing_of_ours_and_only_codec_imports_fastavro(path: Path) -> None:
    imported = _imports(path)
    assert not imported & {"ketenlog", "producers", "processors", "projections", "infra"}
    if path.name != "codec.py":
        assert "fastavro" not in imported
