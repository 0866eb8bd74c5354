"""Released schema versions are frozen (schemas/avro/released.json): archived bytes carry their
fingerprint forever. New versions are added with `python -m schemas.release`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from schemas.lock import LOCK_PATH, lock_problems, read_lock, unreleased
from schemas.registry import Registry, default_registry
from schemas.release import main as release_main
from schemas.release import release_problems

AVRO_DIR = Path(__file__).resolve().parents[2] / "schemas" / "avro"
RELEASED = read_lock(LOCK_PATH)


def test_released_files_are_unchanged() -> None:
    problems = lock_problems(default_registry(), RELEASED)
    assert not problems, "\n".join(problems)


def test_every_version_is_released() -> None:
    pending = [sv.path for sv in unreleased(default_registry(), RELEASED)]
    assert not pending, f"not in the lock yet: {pending}; run python -m schemas.release"


def test_release_tool_has_nothing_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert release_main(["--check"]) == 0
    assert "nothing to release" in capsys.readouterr().out


@pytest.fixture
def copied_tree(tmp_path: Path) -> Path:
    return Path(shutil.copytree(AVRO_DIR, tmp_path / "avro"))


def _edit(tree: Path, relative: str, field: Mapping[str, object]) -> None:
    path = tree / relative
    schema = json.loads(path.read_text("utf-8"))
    schema["fields"].append(field)
    path.write_text(json.dumps(schema), "utf-8")


def test_incompatible_edit_names_schema_and_field(copied_tree: Path) -> None:
    _edit(copied_tree, "ind/DecisionIssued.v1.avsc", {"name": "court", "type": "string"})
    problems = lock_problems(Registry.load(copied_tree), RELEASED)
    assert len(problems) == 1
    assert problems[0].startswith("ind/DecisionIssued.v1.avsc: released DecisionIssued v1")
    assert "incompatibly" in problems[0]
    assert "'court' is new and has no default" in problems[0]
    assert "add ind/DecisionIssued.v3.avsc instead" in problems[0]


def test_compatible_edit_in_place_is_still_refused(copied_tree: Path) -> None:
    field = {"name": "note", "type": ["null", "string"], "default": None}
    _edit(copied_tree, "coa/Relocated.v1.avsc", field)
    [problem] = lock_problems(Registry.load(copied_tree), RELEASED)
    assert "coa/Relocated.v1.avsc" in problem
    assert "edited in place (fingerprint" in problem
    assert "add coa/Relocated.v2.avsc instead" in problem


def test_changed_logical_type_is_caught_though_the_fingerprint_is_not(copied_tree: Path) -> None:
    path = copied_tree / "dji/DetentionExtended.v1.avsc"
    path.write_text(path.read_text("utf-8").replace('"date"', '"time-millis"'), "utf-8")
    [problem] = lock_problems(Registry.load(copied_tree), RELEASED)
    assert "logical type" in problem


def test_doc_edits_are_allowed(copied_tree: Path) -> None:
    path = copied_tree / "dji/DetentionEnded.v1.avsc"
    schema = json.loads(path.read_text("utf-8"))
    schema["doc"] = "Immigration detention ended (clearer wording)."
    path.write_text(json.dumps(schema), "utf-8")
    assert lock_problems(Registry.load(copied_tree), RELEASED) == []


def test_removed_release_is_refused(copied_tree: Path) -> None:
    (copied_tree / "dji/DetentionEnded.v1.avsc").unlink()
    [problem] = lock_problems(Registry.load(copied_tree), RELEASED)
    assert "dji/DetentionEnded.v1.avsc" in problem
    assert "gone" in problem


def test_a_new_version_that_avro_cannot_parse_is_refused(copied_tree: Path) -> None:
    # Each file is self-contained: a named type from another file is not defined here.
    path = copied_tree / "rvr/LawyerAssigned.v2.avsc"
    schema = json.loads((copied_tree / "rvr/LawyerAssigned.v1.avsc").read_text("utf-8"))
    schema["ce_type"] = schema["ce_type"].replace(".v1", ".v2")
    schema["fields"].append(
        {"name": "reason", "type": ["null", "nl.keten.ind.Track"], "default": None, "doc": "x"}
    )
    path.write_text(json.dumps(schema), "utf-8")
    [problem] = release_problems(Registry.load(copied_tree), RELEASED)
    assert problem.startswith("rvr/LawyerAssigned.v2.avsc: not a valid Avro schema")
    assert "nl.keten.ind.Track" in problem
