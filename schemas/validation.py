"""Checks a record against its event schema before it is encoded, reporting every problem with
the dotted path of the field. Agencies' input passes through here; so does every `encode`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.canonical import PRIMITIVES, full_name, namespace_of
from schemas.errors import ContractError, Problem
from schemas.limits import MAX_STRING, string_problem, suspicious_strings
from schemas.registry import SchemaVersion
from schemas.topics import CO_PUBLISHERS

_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
_PERSON_KEY = "envelope.person_key"


def validate(sv: SchemaVersion, record: Any) -> None:
    """Raise ContractError listing every problem of `record` against schema version `sv`."""
    problems = find_problems(sv, record)
    if problems:
        raise ContractError(sv.event_type, problems)


def find_problems(
    sv: SchemaVersion, record: Any, *, trusted_envelope: bool = False
) -> list[Problem]:
    """Every problem of `record`. `trusted_envelope`: the envelope was built by our own publisher
    from already-checked input, so only the payload is walked (the publisher's hot path)."""
    checker = _Checker(sv.named_types, exempt={_PERSON_KEY} if sv.subject_key else set())
    if trusted_envelope:
        checker.skip_top = {"envelope"}
    checker.check(sv.schema, record, "", "")
    if not checker.problems:
        checker.problems.extend(_semantic_problems(sv, record))
        checker.problems.extend(limit_problems(sv, record))
    return checker.problems


def decoded_problems(sv: SchemaVersion, record: Mapping[str, Any]) -> list[Problem]:
    """The checks a decoded record still needs (decoding proved its types): the .avsc's field
    constraints (the person key's pattern, minimums), the semantic rules (producer, subject
    key, correct-or-retract) and the string limits. The timeline gate runs this on every record,
    so it is the publisher's validation less what Avro decoding already guarantees."""
    exempt = _PERSON_KEY if sv.subject_key else None
    problems: list[Problem] = []
    # A compiled pattern and a minimum clear a value cheaply; only a value that fails one goes
    # through the checker, which words the problem as the publisher's validation does.
    for path, dotted, pattern, minimum, fld in _plan(sv).checks:
        value: Any = record
        for name in path:
            value = value.get(name) if isinstance(value, dict | Mapping) else None
        if value is None:
            continue
        if (
            pattern is not None
            and isinstance(value, str)
            and dotted != exempt
            and pattern.fullmatch(value) is None
        ) or (minimum is not None and isinstance(value, int) and value < minimum):
            checker = _Checker(sv.named_types, exempt={_PERSON_KEY} if exempt else set())
            checker.constraints(fld, value, dotted)
            problems.extend(checker.problems)
    return [*problems, *_semantic_problems(sv, record), *limit_problems(sv, record)]


@dataclass(frozen=True)
class _FieldPlan:
    """What the decoded-record checks need from a schema version, found by one walk."""

    constrained: list[tuple[tuple[str, ...], Mapping[str, Any]]]
    """(path, field) of every field declaring a `pattern` or a `minimum`, outside arrays and
    maps (none of the contract's constrained fields is inside one)."""
    max_lengths: dict[str, int]
    """Dotted field path (array items as `[]`) -> the `maxLength` its .avsc field declares."""
    identifiers: set[str]
    """Dotted paths of the string fields the .avsc constrains (a `pattern`, an enum, a UUID):
    not free text, so not checked for a V-nummer (schemas/limits.py)."""
    checks: list[tuple[tuple[str, ...], str, re.Pattern[str] | None, int | None, Any]] = field(
        default_factory=list
    )
    """`constrained` ready for the gate: (path, dotted path, compiled pattern, minimum, field)."""


# By the version object, not its fingerprint: `maxLength`, `pattern` and `minimum` are not in
# Avro's canonical form, so two schemas that differ only in them share a fingerprint. The entry
# keeps the version alive, so its id is not reused.
_PLANS: dict[int, tuple[SchemaVersion, _FieldPlan]] = {}


def _plan(sv: SchemaVersion) -> _FieldPlan:
    cached = _PLANS.get(id(sv))
    if cached is not None and cached[0] is sv:
        return cached[1]
    plan = _FieldPlan([], {}, set())

    def constrained_string(node: Any, ns: str) -> bool:
        if isinstance(node, list):
            return any(constrained_string(b, ns) for b in node if b != "null")
        if isinstance(node, str):
            named = sv.named_types.get(full_name(node, ns)) if node not in PRIMITIVES else None
            return named is not None and named.get("type") == "enum"
        return bool(node.get("type") == "enum" or node.get("logicalType") == "uuid")

    def walk(node: Any, path: tuple[str, ...], ns: str, seen: frozenset[str]) -> None:
        if isinstance(node, list):
            for branch in node:
                walk(branch, path, ns, seen)
        elif isinstance(node, str):
            name = full_name(node, ns) if node not in PRIMITIVES else ""
            if name and name not in seen and name in sv.named_types:
                walk(sv.named_types[name], path, namespace_of(name), seen | {name})
        elif node.get("type") == "record":
            inner = namespace_of(full_name(node["name"], node.get("namespace") or ns))
            for fld in node["fields"]:
                where = (*path, fld["name"])
                if ("pattern" in fld or "minimum" in fld) and not {"[]", "*"} & set(path):
                    plan.constrained.append((where, fld))
                dotted = ".".join(where).replace(".[]", "[]")
                if isinstance(fld.get("maxLength"), int):
                    plan.max_lengths[dotted] = fld["maxLength"]
                if "pattern" in fld or constrained_string(fld["type"], inner):
                    plan.identifiers.add(dotted)
                walk(fld["type"], where, inner, seen)
        elif node.get("type") == "array":
            walk(node["items"], (*path, "[]"), ns, seen)
        elif node.get("type") == "map":
            walk(node["values"], (*path, "*"), ns, seen)
        elif isinstance(node.get("type"), dict | list):
            walk(node["type"], path, ns, seen)

    walk(sv.schema, (), "", frozenset())
    for where, fld in plan.constrained:
        pattern, minimum = fld.get("pattern"), fld.get("minimum")
        plan.checks.append(
            (
                where,
                ".".join(where),
                re.compile(pattern) if isinstance(pattern, str) else None,
                minimum if isinstance(minimum, int) else None,
                fld,
            )
        )
    _PLANS[id(sv)] = (sv, plan)
    return plan


def limit_problems(sv: SchemaVersion, record: Any) -> list[Problem]:
    """Every string of `record` that breaks the contract's limits (schemas/limits.py), with its
    path; what the timeline gate checks on each decoded record."""
    problems = []
    plan = _plan(sv)
    for path, value in suspicious_strings(record):
        declared_at = re.sub(r"\[\d+\]", "[]", path)
        declared = plan.max_lengths.get(declared_at, MAX_STRING)
        problem = string_problem(value, declared, free_text=declared_at not in plan.identifiers)
        if problem is not None:
            problems.append(Problem(path, problem))
    return problems


def expected_subject_key(sv: SchemaVersion, record: Mapping[str, Any]) -> str | None:
    """The envelope.person_key a non-person event must carry (e.g. `location:AZC-0123`)."""
    if sv.subject_key is None:
        return None
    return sv.subject_key.format_map({k: v for k, v in record.items() if k != "envelope"})


def _semantic_problems(sv: SchemaVersion, record: Mapping[str, Any]) -> list[Problem]:
    envelope = record["envelope"]
    problems = []
    if envelope["event_type"] != sv.event_type:
        problems.append(
            Problem("envelope.event_type", f"is {envelope['event_type']!r}, not {sv.event_type!r}")
        )
    allowed = CO_PUBLISHERS.get(sv.event_type, frozenset())
    producer = envelope["producer"]
    if sv.org is not None and producer != sv.org.value and producer not in allowed:
        who = " or ".join(sorted({sv.org.value, *allowed}))
        problems.append(Problem("envelope.producer", f"{sv.event_type} is published by {who} only"))
    age = record.get("age_at_application")
    if record.get("unaccompanied_minor") is True and isinstance(age, int) and age >= 18:
        # Eurostat: an applicant considered an unaccompanied minor is under 18.
        problems.append(
            Problem("age_at_application", f"is {age}: an unaccompanied minor is under 18")
        )
    expected = expected_subject_key(sv, record)
    if expected is not None and envelope["person_key"] != expected:
        problems.append(
            Problem(_PERSON_KEY, f"must be {expected!r}: {sv.event_type} is keyed by subject")
        )
    if envelope.get("corrects") is not None and envelope.get("retracts") is not None:
        problems.append(Problem("envelope.retracts", "an event cannot both correct and retract"))
    if sv.event_type == "EventRetracted" and envelope.get("retracts") is None:
        problems.append(Problem("envelope.retracts", "missing: EventRetracted must name an event"))
    return problems


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if len(repr(value)) <= 60 else type(value).__name__


class _Checker:
    def __init__(self, named: Mapping[str, Mapping[str, Any]], exempt: set[str]) -> None:
        self.named = named
        self.exempt = exempt
        self.skip_top: set[str] = set()
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def check(self, node: Any, value: Any, path: str, ns: str) -> None:
        if isinstance(node, str):
            if node in PRIMITIVES:
                self.primitive(node, value, path)
            else:
                name = full_name(node, ns)
                self.check(self.named[name], value, path, namespace_of(name))
        elif isinstance(node, list):
            self.union(node, value, path, ns)
        else:
            self.complex(node, value, path, ns)

    def union(self, branches: list[Any], value: Any, path: str, ns: str) -> None:
        if value is None:
            if "null" not in branches:
                self.fail(path, "missing: a value is required")
            return
        candidates = [b for b in branches if b != "null"]
        attempts = []
        for branch in candidates:
            trial = _Checker(self.named, self.exempt)
            trial.check(branch, value, path, ns)
            if not trial.problems:
                return
            attempts.append(trial.problems)
        if len(attempts) == 1:
            self.problems.extend(attempts[0])
        else:
            self.fail(path, f"{_describe(value)} matches none of the types allowed here")

    def complex(self, node: Mapping[str, Any], value: Any, path: str, ns: str) -> None:
        kind = node["type"]
        logical = node.get("logicalType")
        if logical is not None:
            self.logical(logical, kind, value, path)
        elif kind in PRIMITIVES:
            self.primitive(kind, value, path)
        elif kind == "record":
            self.record(node, value, path, ns)
        elif kind == "enum":
            if not isinstance(value, str):
                self.fail(
                    path, f"wrong type: expected an enum symbol (str), got {_describe(value)}"
                )
            elif value not in node["symbols"]:
                allowed = ", ".join(node["symbols"])
                self.fail(path, f"unknown enum symbol {value!r} (expected one of {allowed})")
        elif kind == "array":
            if not isinstance(value, list | tuple):
                self.fail(path, f"wrong type: expected a list, got {_describe(value)}")
            else:
                for i, item in enumerate(value):
                    self.check(node["items"], item, f"{path}[{i}]", ns)
        elif kind == "map":
            if not isinstance(value, Mapping):
                self.fail(path, f"wrong type: expected a mapping, got {_describe(value)}")
            else:
                for key, item in value.items():
                    self.check(node["values"], item, f"{path}.{key}", ns)
        else:
            self.check(kind, value, path, ns)

    def record(self, node: Mapping[str, Any], value: Any, path: str, ns: str) -> None:
        if not isinstance(value, Mapping):
            self.fail(path, f"wrong type: expected a record (mapping), got {_describe(value)}")
            return
        inner = namespace_of(full_name(node["name"], node.get("namespace") or ns))
        known = set()
        for fld in node["fields"]:
            name = fld["name"]
            known.add(name)
            where = f"{path}.{name}" if path else name
            if name not in value:
                if "default" not in fld:
                    self.fail(where, "missing")
                continue
            if not path and name in self.skip_top:
                continue
            before = len(self.problems)
            self.check(fld["type"], value[name], where, inner)
            if len(self.problems) == before and value[name] is not None:
                self.constraints(fld, value[name], where)
        for name in value:
            if name not in known:
                self.fail(f"{path}.{name}" if path else str(name), "unknown field")

    def constraints(self, fld: Mapping[str, Any], value: Any, path: str) -> None:
        pattern = fld.get("pattern")
        if (
            isinstance(pattern, str)
            and isinstance(value, str)
            and path not in self.exempt
            and not re.fullmatch(pattern, value)
        ):
            hint = " (a pseudonymous HMAC hex key, never a V-nummer)" if path == _PERSON_KEY else ""
            self.fail(path, f"{value!r} does not match {pattern}{hint}")
        minimum = fld.get("minimum")
        if isinstance(minimum, int) and isinstance(value, int) and value < minimum:
            self.fail(path, f"{value} is below the minimum {minimum}")

    def primitive(self, kind: str, value: Any, path: str) -> None:
        ok: bool
        if kind == "null":
            ok = value is None
        elif kind == "boolean":
            ok = isinstance(value, bool)
        elif kind in ("int", "long"):
            low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
            ok = isinstance(value, int) and not isinstance(value, bool)
            if ok and not low <= value <= high:
                self.fail(path, f"{value} is out of range for an Avro {kind}")
                return
        elif kind in ("float", "double"):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif kind == "bytes":
            ok = isinstance(value, bytes | bytearray)
        else:
            ok = isinstance(value, str)
        if not ok:
            self.fail(path, f"wrong type: expected {kind}, got {_describe(value)}")

    def logical(self, logical: str, kind: str, value: Any, path: str) -> None:
        if logical in ("timestamp-micros", "timestamp-millis"):
            if isinstance(value, dt.datetime):
                if value.tzinfo is None or value.utcoffset() is None:
                    self.fail(path, "naive datetime: give a timezone (UTC)")
                return
            if isinstance(value, int) and not isinstance(value, bool):
                return self.primitive(kind, value, path)
            self.fail(
                path, f"wrong type: expected a timezone-aware datetime, got {_describe(value)}"
            )
        elif logical == "date":
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return
            if isinstance(value, int) and not isinstance(value, bool):
                return self.primitive(kind, value, path)
            self.fail(path, f"wrong type: expected a date, got {_describe(value)}")
        elif logical == "uuid":
            if isinstance(value, uuid.UUID):
                return
            if isinstance(value, str):
                try:
                    uuid.UUID(value)
                except ValueError:
                    self.fail(path, f"{value!r} is not a UUID")
                return
            self.fail(path, f"wrong type: expected a UUID, got {_describe(value)}")
        else:
            self.primitive(kind, value, path)
