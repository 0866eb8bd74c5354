"""docs/lifecycle.md lists every dead-letter reason the gate can give, and no other."""

from __future__ import annotations

import re
from pathlib import Path

from processors.checks import Reason

DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"


def test_every_reason_is_in_the_docs_list() -> None:
    section = DOC.read_text().split("## 8. Dead letters", 1)[1]
    listed = re.findall(r"^\| ([A-Z_]+) \|", section, flags=re.MULTILINE)
    assert set(listed) == {r.value for r in Reason}
