"""`keten.timeline` against the facts a replay of the agency topics accepts: every accepted fact
is on the timeline (nothing lost), and at rest every timeline record is an accepted fact
(nothing slipped in). The timeline is at least once, so an event id may repeat; repeats are
counted, not faults. What `ketenlog verify` reports next to its checksums.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from infra import kafka_log
from schemas.access import KafkaAccess
from schemas.records import Raw
from schemas.topics import TIMELINE

FactKey = tuple[str, str]  # (event id, person key)


@dataclass(frozen=True)
class TimelineAudit:
    records: int
    distinct: int
    repeated: int
    """Records beyond the first of their event id (a batch sent again: at least once)."""
    missing: list[FactKey] = field(default_factory=list)
    """Accepted facts that are not on the timeline."""
    unaccounted: list[tuple[int, int, str]] = field(default_factory=list)
    """(partition, offset, event id) of timeline records that are no accepted fact."""
    judged_unaccounted: bool = True
    """False when the store was still behind the log: later timeline records are not judged."""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unaccounted


def audit(
    records: Iterable[Raw],
    accepted: set[FactKey],
    *,
    at_rest: bool,
    optional: Collection[FactKey] = frozenset(),
) -> TimelineAudit:
    """Pure. `at_rest`: the accepted facts are all the log holds (the store is not behind), so
    a timeline record that is not one of them has no business there. `optional`: facts that
    may be on the timeline or not (corrections of another organisation's event: dead letters
    when the gate had seen their target, passed on when it had not)."""
    seen: set[FactKey] = set()
    unaccounted: list[tuple[int, int, str]] = []
    count = 0
    for r in records:
        count += 1
        event_id = dict(r.headers).get("ce_id", b"").decode("utf-8", "replace")
        key = (event_id, (r.key or b"").decode("utf-8", "replace"))
        if key not in accepted and key not in optional and at_rest:
            unaccounted.append((r.partition, r.offset, event_id))
        seen.add(key)
    return TimelineAudit(
        records=count,
        distinct=len(seen),
        repeated=count - len(seen),
        missing=sorted(accepted - seen),
        unaccounted=unaccounted,
        judged_unaccounted=at_rest,
    )


def audit_live(
    kafka: KafkaAccess,
    accepted: set[FactKey],
    *,
    at_rest: bool,
    optional: Collection[FactKey] = frozenset(),
) -> TimelineAudit:
    """The whole of keten.timeline as it is now, read partition by partition."""
    ends = kafka_log.end_offsets(kafka, [TIMELINE])
    begins = kafka_log.begin_offsets(kafka, [TIMELINE])

    def records() -> Iterable[Raw]:
        for (topic, partition), stop in sorted(ends.items()):
            yield from kafka_log.read(
                kafka, topic, partition, begins.get((topic, partition), 0), stop
            )

    return audit(records(), accepted, at_rest=at_rest, optional=optional)
