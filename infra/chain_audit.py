"""The producers' hash chains on the live log: every organisation topic-partition walked from
its start up to the end offsets taken when the audit begins (records through
infra.kafka_log, the walk is schemas.chain). What `ketenlog verify-chains` and `verify` report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from infra import kafka_log
from schemas import chain, signature
from schemas.access import KafkaAccess
from schemas.records import Raw
from schemas.signature import Verifier
from schemas.topics import event_topics, owner_of


@dataclass(frozen=True)
class PartitionAudit:
    """One topic-partition walked from `start` to `stop`: what it holds, where it breaks and
    its last link (the head to publish or countersign: it pins everything before it)."""

    topic: str
    partition: int
    start: int
    stop: int
    records: int
    chained: int
    breaks: list[chain.Break]
    head: bytes


@dataclass(frozen=True)
class TopicSummary:
    topic: str
    records: int
    chained: int
    breaks: int


@dataclass(frozen=True)
class ChainAudit:
    partitions: list[PartitionAudit] = field(default_factory=list)

    @property
    def breaks(self) -> list[chain.Break]:
        return [b for p in self.partitions for b in p.breaks]

    def by_topic(self) -> list[TopicSummary]:
        """One line per topic, in the order the partitions were walked."""
        topics: dict[str, TopicSummary] = {}
        for p in self.partitions:
            t = topics.get(p.topic, TopicSummary(p.topic, 0, 0, 0))
            topics[p.topic] = TopicSummary(
                p.topic, t.records + p.records, t.chained + p.chained, t.breaks + len(p.breaks)
            )
        return list(topics.values())


def audit_records(
    topic: str,
    partition: int,
    start: int,
    stop: int,
    records: Iterable[Raw],
    *,
    signatures: Verifier | None = None,
) -> PartitionAudit:
    """Walk one partition's records (offset order). Pure. Every organisation topic is kept
    forever (schemas/topics.py) and ketenlog deletes nothing, so a log that no longer starts at
    offset 0 lost its first records to someone with the broker's delete rights: that is a break
    (kind "truncated"), and the first chained record after it is taken as given, since its
    predecessor is gone. Offsets without a record are not breaks here: on a live log they are
    transaction markers some client's commits left, and a record removed from the middle shows
    as the link of the record after it. With `signatures`, every chained record must carry
    the topic owner's valid signature (schemas/signature.py): a forger who computes a correct
    link cannot sign, so the record is named (kind "unsigned" or "signature")."""
    walk = chain.ChainWalk()
    owner = owner_of(topic)
    breaks: list[chain.Break] = []
    if start > 0:
        breaks.append(
            chain.Break(
                topic,
                partition,
                start,
                f"the log starts at offset {start}: offsets 0..{start - 1} were deleted, and "
                "this log is kept forever (no retention or erasure removes records)",
                "truncated",
            )
        )
    trust_next_link = start > 0
    for r in records:
        found = [b for b in walk.step(r) if b.kind != "missing"]
        if trust_next_link and chain.link_of(r) is not None:
            found = [b for b in found if b.kind != "mismatch"]
            trust_next_link = False
        breaks += found
        if signatures is not None and owner is not None and chain.link_of(r) is not None:
            breaks += signature_breaks(signatures, owner.value, r)
    return PartitionAudit(
        topic, partition, start, stop, walk.records, walk.chained, breaks, walk.prev
    )


def signature_breaks(signatures: Verifier, org: str, r: Raw) -> list[chain.Break]:
    problem = signatures.problem(org, r)
    if problem is None:
        return []
    kind = "unsigned" if signature.header_of(r.headers) is None else "signature"
    return [chain.Break(r.topic, r.partition, r.offset, problem, kind)]


def walk_all(
    kafka: KafkaAccess,
    topics: Iterable[str] | None = None,
    on_record: Callable[[], None] | None = None,
    signatures: Verifier | None = None,
) -> ChainAudit:
    """Every partition of `topics` (default: every organisation topic), from the first offset
    still in the log up to the end offsets of now. `on_record` is called per record read
    (progress). Raises kafka_log.KafkaLogError when the log cannot be read."""
    names = list(topics) if topics is not None else event_topics()
    ends = kafka_log.end_offsets(kafka, names)
    begins = kafka_log.begin_offsets(kafka, names)
    audits = []
    for topic in names:
        for (t, partition), stop in sorted(ends.items()):
            if t != topic:
                continue
            start = begins.get((t, partition), 0)
            read = kafka_log.read(kafka, topic, partition, start, stop)
            records = read if on_record is None else _ticking(read, on_record)
            audits.append(
                audit_records(topic, partition, start, stop, records, signatures=signatures)
            )
    return ChainAudit(audits)


def _ticking(records: Iterator[Raw], on_record: Callable[[], None]) -> Iterator[Raw]:
    for r in records:
        on_record()
        yield r
