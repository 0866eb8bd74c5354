"""Every personal field of the contract is named (docs/security.md, "Personal data and
erasure"), marked `"personal": true` in the version that seals it, and sealed: the marks, the
documented list and the schemas agree, and no field that looks personal is left unmarked."""

from __future__ import annotations

import re
from pathlib import Path

from schemas.registry import default_registry
from schemas.sealing import SEALED, personal_fields, seals

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
# Names that say "about who the person is" rather than "what the chain did".
LOOKS_PERSONAL = re.compile(r"nationality|birth|^sex$|^age_|sponsor|vulnerab|documents_presented")


def documented() -> set[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8").split("## Personal data and erasure", 1)[1]
    table = text.split("| personal fields |", 1)[1].split("\n\n", 1)[0]
    found = set()
    for row in table.splitlines()[2:]:
        event_type = re.search(r"`(\w+)`", row)
        fields = re.findall(r"`(\w+)`", row.split("|")[2])
        assert event_type is not None
        found |= {(event_type[1], f) for f in fields}
    return found


def test_the_documented_list_is_what_the_schemas_mark() -> None:
    registry = default_registry()
    marked = {(t, f) for t in registry.event_types() for f in personal_fields(registry.latest(t))}
    assert marked == documented()


def test_every_version_that_marks_personal_fields_seals_them() -> None:
    for sv in default_registry().all():
        has_map = any(f["name"] == SEALED for f in sv.schema["fields"])
        assert bool(personal_fields(sv)) == has_map == seals(sv), sv.path


def test_no_field_that_looks_personal_is_unmarked() -> None:
    registry = default_registry()
    unmarked = [
        f"{t}.{f['name']}"
        for t in registry.event_types()
        if registry.latest(t).subject_key is None
        for f in registry.latest(t).schema["fields"][1:]
        if LOOKS_PERSONAL.search(f["name"]) and f.get("personal") is not True
    ]
    assert unmarked == []
