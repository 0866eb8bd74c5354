"""The worker's memory of the persons it folded lately: their facts and the row it stored, so
the next batch that touches them folds without reloading the history from PostgreSQL and
rewrites only the state changes and anomalies that moved.

The store stays the system of record: an entry is used only while its fact count equals the
count stored with the person's state (another worker may have folded the person in between,
e.g. during a rebalance), and the cache is bounded (least recently used go first).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from domain.derive import PersonRow
from domain.facts import Fact


@dataclass
class Entry:
    facts: list[Fact]
    row: PersonRow


class HistoryCache:
    def __init__(self, max_persons: int) -> None:
        self.max_persons = max_persons
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def valid(self, person_key: str, stored_facts: int | None) -> Entry | None:
        """The entry, if it still describes what the store holds for this person."""
        entry = self._entries.get(person_key)
        if entry is None or stored_facts is None or len(entry.facts) != stored_facts:
            if entry is not None:
                del self._entries[person_key]
            self.misses += 1
            return None
        self._entries.move_to_end(person_key)
        self.hits += 1
        return entry

    def put(self, person_key: str, facts: list[Fact], row: PersonRow) -> None:
        self._entries[person_key] = Entry(facts, row)
        self._entries.move_to_end(person_key)
        while len(self._entries) > self.max_persons:
            self._entries.popitem(last=False)

    def forget(self, person_keys: list[str]) -> None:
        for key in person_keys:
            self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


def common_prefix(old: Sequence[object], new: Sequence[object]) -> int:
    """How many leading items two lists share: the rows before it need not be rewritten."""
    n = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        n += 1
    return n


def same_contributions(old: PersonRow, new: PersonRow) -> frozenset[str]:
    """The projections to which `new` contributes exactly the rows `old` did: the store leaves
    those rows alone. None when either row has no contributions at all (a row without them
    leaves the stored rows as they were, so `old`'s say nothing about the store)."""
    if not old.contributions or not new.contributions:
        return frozenset()
    return frozenset(
        name for name, rows in new.contributions.items() if old.contributions.get(name) == rows
    )
