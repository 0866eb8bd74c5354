"""The released-versions lock (schemas/avro/released.json): once a schema version is released, its
canonical form and fingerprint are frozen, because archived bytes carry that fingerprint forever.
Documentation may still be improved; anything that changes parsing or meaning needs a new version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from schemas.compat import check_pair
from schemas.errors import SchemaError
from schemas.registry import Registry, SchemaVersion

LOCK_PATH = Path(__file__).parent / "avro" / "released.json"
ABOUT = (
    "Released schema versions since the 2026-12-01 reset of this lock (schemas/CHANGELOG.md says "
    "why). Written by `python -m schemas.release`; never edit."
)


@dataclass(frozen=True)
class ReleasedVersion:
    event_type: str
    version: int
    path: str
    fingerprint: str
    """16 lowercase hex digits (a JSON number would lose precision above 2**53)."""
    schema_digest: str
    """SHA-256 of the schema without its docs: catches edits the canonical form ignores, such as a
    changed default or logical type."""
    canonical_form: str


def schema_digest(schema: Mapping[str, Any]) -> str:
    text = json.dumps(_without_docs(schema), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _without_docs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_docs(v) for k, v in node.items() if k != "doc"}
    if isinstance(node, list):
        return [_without_docs(v) for v in node]
    return node


def released_entry(sv: SchemaVersion) -> ReleasedVersion:
    return ReleasedVersion(
        event_type=sv.event_type,
        version=sv.version,
        path=sv.path,
        fingerprint=f"{sv.fingerprint:016x}",
        schema_digest=schema_digest(sv.schema),
        canonical_form=sv.canonical_form,
    )


def read_lock(path: Path = LOCK_PATH) -> list[ReleasedVersion]:
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text("utf-8"))
        return [ReleasedVersion(**entry) for entry in data["released"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise SchemaError(f"{path}: not a valid released-versions lock: {exc}") from exc


def write_lock(entries: Iterable[ReleasedVersion], path: Path = LOCK_PATH) -> None:
    ordered = sorted(entries, key=lambda e: (e.event_type, e.version))
    data = {
        "about": ABOUT,
        "released": [asdict(e) for e in ordered],
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


def lock_problems(registry: Registry, released: Iterable[ReleasedVersion]) -> list[str]:
    """Why the schema files no longer match what was released; empty when they do."""
    problems = []
    for entry in released:
        try:
            sv = registry.get(entry.event_type, entry.version)
        except KeyError:
            problems.append(
                f"{entry.path}: {entry.event_type} v{entry.version} was released and its file "
                "is gone; released versions must stay so archived events stay decodable"
            )
            continue
        current = released_entry(sv)
        if (
            current.canonical_form == entry.canonical_form
            and current.schema_digest == entry.schema_digest
        ):
            continue
        next_path = sv.path.replace(
            f".v{sv.version}.", f".v{registry.latest_version(sv.event_type) + 1}."
        )
        advice = f"released versions are frozen: add {next_path} instead"
        old = json.loads(entry.canonical_form)
        breaks = [
            p
            for p in (
                check_pair(sv.schema, old, f"{sv.path} as edited", f"{sv.path} as released"),
                check_pair(old, sv.schema, f"{sv.path} as released", f"{sv.path} as edited"),
            )
            if p is not None
        ]
        if breaks:
            detail = "; ".join("; ".join(b.problems) for b in breaks)
            problems.append(
                f"{sv.path}: released {entry.event_type} v{entry.version} was edited in place "
                f"incompatibly ({detail}); {advice}"
            )
        elif current.canonical_form != entry.canonical_form:
            problems.append(
                f"{sv.path}: released {entry.event_type} v{entry.version} was edited in place "
                f"(fingerprint {entry.fingerprint} -> {current.fingerprint}); {advice}"
            )
        else:
            problems.append(
                f"{sv.path}: released {entry.event_type} v{entry.version} was edited in place "
                f"(a default, logical type or other attribute changed); {advice}"
            )
    return problems


def unreleased(registry: Registry, released: Iterable[ReleasedVersion]) -> list[SchemaVersion]:
    done = {(e.event_type, e.version) for e in released}
    return [sv for sv in registry.all() if (sv.event_type, sv.version) not in done]
