"""The contract's limits on the strings of every event: what PostgreSQL, Kafka and the readers
downstream can hold. The publisher's validation (schemas.validation, so `ketenlog publish` and
`producers.publisher`) and the timeline gate (processors.checks) apply these same functions, so
a record the publisher refuses is one the gate would dead-letter, and the reverse.

- Every string is at most MAX_STRING characters unless its field in the .avsc declares its own
  `"maxLength"` (free text such as a policy's description).
- No string holds a control character (U+0000..U+001F, U+007F): a NUL cannot be stored by
  PostgreSQL, and the others have no business in identifiers, codes or short texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

MAX_STRING = 128
CONTROL = re.compile("[\x00-\x1f\x7f]")


def string_problem(value: str, max_length: int = MAX_STRING) -> str | None:
    """Why `value` breaks the limits, or None."""
    if len(value) > max_length:
        return f"{len(value):,} characters: longer than the contract's maximum of {max_length:,}"
    control = CONTROL.search(value)
    if control is not None:
        return f"holds control character U+{ord(control.group()):04X} at position {control.start()}"
    return None


def suspicious_strings(record: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, value) of every string in a decoded record that is longer than MAX_STRING
    or holds a control character: the only ones that can break a limit. Cheap enough for the
    gate's hot path (one length test and one regex scan per string)."""
    if isinstance(record, str):
        if len(record) > MAX_STRING or CONTROL.search(record) is not None:
            yield path, record
    elif isinstance(record, Mapping):
        for key, value in record.items():
            if isinstance(value, str | Mapping | list | tuple):
                yield from suspicious_strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(record, list | tuple):
        for i, item in enumerate(record):
            yield from suspicious_strings(item, f"{path}[{i}]")
