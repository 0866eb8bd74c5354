"""What the processors need from storage, as protocols; projections/ provides the PostgreSQL
implementation and the composition root (ketenlog) wires them. Keeps processors free of I/O.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from domain.derive import PersonRow
from domain.facts import Fact

TopicPartition = tuple[str, int]
# A fact's identity: its event id within its person. An id is unique per producer reference;
# one reused for another person (an agency's error) is that person's fact, not a duplicate.
FactKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class PersonWrite:
    """A row to store, folded from `facts` facts. The person's stored changes below
    `keep_changes` and anomalies below `keep_anomalies` are unchanged and stay as they are, and
    so do their rows of the projections named in `same_contributions` (keys of the row's
    `contributions`); every other projection's rows of the person are replaced."""

    row: PersonRow
    facts: int
    keep_changes: int = 0
    keep_anomalies: int = 0
    same_contributions: frozenset[str] = frozenset()


class ProcessingTx(Protocol):
    async def start(
        self, keys: list[FactKey], person_keys: list[str]
    ) -> tuple[set[FactKey], dict[str, int]]:
        """Lock the persons for the rest of the transaction (two workers briefly owning a
        partition during a rebalance must not interleave one person's refold), then which
        (event id, person key) pairs are stored already, and how many facts each person's
        stored state was folded from (absent: no state)."""
        ...

    async def histories(self, person_keys: list[str]) -> dict[str, list[Fact]]: ...
    async def add_facts(self, facts: list[Fact]) -> None: ...
    async def replace_facts(self, facts: list[Fact]) -> None: ...
    async def put_persons(self, writes: list[PersonWrite]) -> None: ...
    async def advance(self, consumer: str, positions: dict[TopicPartition, int]) -> None: ...


class ProcessingStore(Protocol):
    async def positions(self, consumer: str) -> dict[TopicPartition, int]: ...
    def transaction(self) -> AbstractAsyncContextManager[ProcessingTx]: ...
    def refusal(self, error: BaseException) -> str | None:
        """Why the store refused a transaction because of what it was asked to hold (a value
        it cannot store, a limit it enforces), or None when `error` is a fault of the store or
        the connection, which a retry may cure."""
        ...

    async def reconnect(self) -> None:
        """Drop the connection and open a new one (after a fault of the store)."""
        ...

    async def close(self) -> None: ...
