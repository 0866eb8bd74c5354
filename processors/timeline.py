"""One batch of agency records through the timeline gate: which records go to `keten.timeline`,
which to `keten.deadletter` (with why), and which facts are new. Pure: the faust app feeds it
records, the store answers which event ids it has seen, the app does the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.facts import Fact
from domain.lifecycle.effective import foreign_target, target_of
from processors.checks import Accepted, Reason, Rejected, check
from processors.ports import FactKey, TopicPartition
from schemas.codec import Codec
from schemas.records import Headers, Raw
from schemas.sealing import KeyLookup
from schemas.signature import Verifier


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass
class Gate:
    """What a batch produced: accepted facts (in arrival order), dead letters, new positions."""

    accepted: list[tuple[Raw, Fact]] = field(default_factory=list)
    deadletters: list[Outgoing] = field(default_factory=list)
    rejected: list[Raw] = field(default_factory=list)
    """The records behind `deadletters`, in the same order."""
    positions: dict[TopicPartition, int] = field(default_factory=dict)


def deadletter(raw: Raw, rejected: Rejected, now: datetime) -> Outgoing:
    """The original bytes, untouched, with where they came from and why in the headers."""
    headers = [
        *raw.headers,
        ("dl_reason", rejected.reason.value.encode()),
        ("dl_detail", rejected.detail.encode()),
        ("dl_source_topic", raw.topic.encode()),
        ("dl_source_partition", str(raw.partition).encode()),
        ("dl_source_offset", str(raw.offset).encode()),
        ("dl_at", now.isoformat().encode()),
    ]
    return Outgoing(raw.key, raw.value, headers)


def gate(
    codec: Codec,
    records: Iterable[Raw],
    now: datetime,
    *,
    partitions: int | None,
    signatures: Verifier | None = None,
    keys: KeyLookup | None = None,
) -> Gate:
    """Check every record; the last offset seen per partition sets the next position.
        `partitions`: the agency topics' partition count (None only where no partitioner applies);
        `signatures`: the public keys the records must be signed with (None: not checked); `keys`:
    the person key store that opens sealed personal fields (None: they read as None)."""
    out = Gate()
    for raw in records:
        tp = (raw.topic, raw.partition)
        out.positions[tp] = max(out.positions.get(tp, 0), raw.offset + 1)
        verdict = check(codec, raw, partitions, signatures, keys)
        if isinstance(verdict, Rejected):
            out.deadletters.append(deadletter(raw, verdict, now))
            out.rejected.append(raw)
            continue
        assert isinstance(verdict, Accepted)
        try:
            fact = Fact.from_record(
                verdict.record, raw.topic, raw.partition, raw.offset, raw.broker_time
            )
        except (KeyError, TypeError, ValueError) as exc:
            reason = Rejected(Reason.ENVELOPE_INCOMPLETE, f"not a fact: {exc!r}")
            out.deadletters.append(deadletter(raw, reason, now))
            out.rejected.append(raw)
            continue
        out.accepted.append((raw, fact))
    return out


def new_facts(accepted: list[tuple[Raw, Fact]], seen: set[FactKey]) -> list[tuple[Raw, Fact]]:
    """Drop facts seen before or earlier in this batch (same event id for the same person):
    passed on once. A person's records share one partition, so "first" is the same for the
    live path and a replay, whatever the interleaving of partitions."""
    fresh: list[tuple[Raw, Fact]] = []
    keys = set(seen)
    for raw, fact in accepted:
        key = fact.key
        if key in keys:
            continue
        keys.add(key)
        fresh.append((raw, fact))
    return fresh


@dataclass
class Foreign:
    """New facts split by the ownership rule: those that go on to the timeline, and those that
    correct or retract another organisation's event (dead letters, but kept in the store so
    the person's fold records the anomaly)."""

    accepted: list[tuple[Raw, Fact]] = field(default_factory=list)
    refused: list[tuple[Raw, Fact]] = field(default_factory=list)
    deadletters: list[Outgoing] = field(default_factory=list)


def refuse_foreign(
    new: list[tuple[Raw, Fact]], known: Mapping[str, Mapping[str, str]], now: datetime
) -> Foreign:
    """Refuse every new fact that corrects or retracts an event of another producer.
    `known`: person key -> event id -> producer of the person's facts already stored; the new
    facts join it in arrival order, so a target earlier in the batch counts. A target not known
    yet (later in the log) cannot be judged here: the fact goes on, and the fold refuses it
    once the target arrives (domain.lifecycle.effective). A person's records share one
    partition and arrive in offset order on every path, so live and replay decide alike."""
    out = Foreign()
    producers: dict[str, dict[str, str]] = {}
    for raw, fact in new:
        person = producers.get(fact.person_key)
        if person is None:
            person = producers[fact.person_key] = dict(known.get(fact.person_key, {}))
        owner = foreign_target(fact, person)
        person.setdefault(fact.event_id, fact.producer)
        if owner is None:
            out.accepted.append((raw, fact))
            continue
        verb = "retracts" if fact.retracts is not None else "corrects"
        reason = Rejected(
            Reason.FOREIGN_CORRECTION,
            f"{fact.producer} {verb} {target_of(fact)}, an event of {owner}: an organisation "
            "may correct or retract only its own events",
        )
        out.refused.append((raw, fact))
        out.deadletters.append(deadletter(raw, reason, now))
    return out
