"""Topic configuration drift: what a catalogue topic on the broker differs in from the catalogue.

Pure comparison (no client), used by infra.topics: `ensure` (from `ketenlog up`) repairs what it
can, `describe` (from `ketenlog status`) names it. Only the configs the catalogue sets are
compared; the broker's defaults for the rest are not drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from schemas.topics import TopicSpec


@dataclass(frozen=True)
class Drift:
    """One topic's differences: configs (key -> (broker's value, catalogue's value)) and
    partitions (broker's count, wanted count; None when they agree)."""

    topic: str
    configs: dict[str, tuple[str | None, str]]
    partitions: tuple[int, int] | None

    @property
    def any(self) -> bool:
        return bool(self.configs) or self.partitions is not None

    @property
    def repairable_partitions(self) -> bool:
        """Partitions can be added, never removed."""
        return self.partitions is not None and self.partitions[0] < self.partitions[1]

    def describe(self) -> list[str]:
        texts = [
            f"{key} {have}, catalogue says {want}" for key, (have, want) in self.configs.items()
        ]
        if self.partitions is not None:
            have_n, want_n = self.partitions
            texts.append(f"{have_n} partitions, KETENLOG_PARTITIONS is {want_n}")
        return texts


def drift(
    spec: TopicSpec, partitions: int, configs: Mapping[str, str | None], want_partitions: int
) -> Drift:
    """How the broker's topic (its partition count and config values) differs from `spec`."""
    changed = {
        key: (configs.get(key), want)
        for key, want in sorted(spec.config.items())
        if configs.get(key) != want
    }
    count = None if partitions == want_partitions else (partitions, want_partitions)
    return Drift(spec.name, changed, count)
