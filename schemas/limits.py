"""The contract's limits on the strings of every event: what PostgreSQL, Kafka and the readers
downstream can hold. The publisher's validation (schemas.validation, so `ketenlog publish` and
`producers.publisher`) and the timeline gate (processors.checks) apply these same functions, so
a record the publisher refuses is one the gate would dead-letter, and the reverse.

- Every string is at most MAX_STRING characters unless its field in the .avsc declares its own
  `"maxLength"` (free text such as a policy's description).
- No string holds a control character (U+0000..U+001F, U+007F): a NUL cannot be stored by
  PostgreSQL, and the others have no business in identifiers, codes or short texts.
- No free-text string holds a V-nummer: ten digits (`1234567890`) or grouped as agencies
  write them (`1234.567.890`, `1234 567 890`, `1234-567-890`), standing on their own (not
  touching another letter or digit: `IND-1234567890` is refused, a hex id is not). The
  V-nummer never leaves the agency (only its keyed pseudonym does); a reference, case id or
  correlation id is no place for it. Free text is every string field the .avsc does not
  constrain (a `pattern`, an enum, a UUID).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

MAX_STRING = 128
CONTROL = re.compile("[\x00-\x1f\x7f]")
# Standing on its own: not touching another letter or digit, so that hex ids and hashes
# (`H-5f1234567890ab…`), which hold ten digits in a row by chance, pass.
V_NUMMER_SHAPED = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9]{10}|[0-9]{4}[. -][0-9]{3}[. -][0-9]{3})(?![0-9A-Za-z])"
)
V_NUMMER_PROBLEM = (
    "holds a V-nummer (ten digits): no personal identifier may be in free text; refer to the "
    "person by the person key, to the fact by the agency's own reference"
)
# The values a decoded record holds besides strings and containers: skipped without asking
# whether they are a Mapping (an ABC check, the walk's largest cost).
_SCALARS = frozenset(
    {int, float, bool, type(None), bytes, dt.datetime, dt.date, uuid.UUID, Decimal}
)
# One search on the hot path finds every string that may break a limit.
_SUSPECT = re.compile(f"{CONTROL.pattern}|{V_NUMMER_SHAPED.pattern}")


def string_problem(value: str, max_length: int = MAX_STRING, free_text: bool = True) -> str | None:
    """Why `value` breaks the limits, or None. `free_text`: the field is not constrained by
    its schema (a pattern, an enum, a UUID), so it may not hold a V-nummer."""
    if len(value) > max_length:
        return f"{len(value):,} characters: longer than the contract's maximum of {max_length:,}"
    control = CONTROL.search(value)
    if control is not None:
        return f"holds control character U+{ord(control.group()):04X} at position {control.start()}"
    if free_text and V_NUMMER_SHAPED.search(value) is not None:
        return V_NUMMER_PROBLEM
    return None


def suspicious_strings(record: Any, path: str = "") -> list[tuple[str, str]]:
    """(dotted path, value) of every string in a decoded record that is longer than MAX_STRING,
    holds a control character or something shaped like a V-nummer: the only ones that can
    break a limit. On the gate's hot path:
    exact type tests (decoded records are plain dicts, lists and strs) and a path built only
    for what is found."""
    found: list[tuple[str, str]] = []
    search = _SUSPECT.search
    stack: list[tuple[str, Any]] = [(path, record)]
    while stack:
        where, node = stack.pop()
        kind = type(node)
        if kind is dict:
            items: Any = node.items()
        elif kind is list or kind is tuple:
            items = enumerate(node)
        elif kind is str:
            if len(node) > MAX_STRING or search(node) is not None:
                found.append((where, node))
            continue
        elif isinstance(node, Mapping):
            items = node.items()
        else:
            continue
        for key, value in items:
            value_kind = type(value)
            if value_kind is str:
                if len(value) <= MAX_STRING and search(value) is None:
                    continue
            elif value_kind in _SCALARS or (
                value_kind not in (dict, list, tuple) and not isinstance(value, Mapping)
            ):
                continue
            if kind is list or kind is tuple:
                stack.append((f"{where}[{key}]", value))
            else:
                stack.append((f"{where}.{key}" if where else str(key), value))
    found.sort()
    return found
