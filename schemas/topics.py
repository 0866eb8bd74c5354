"""The one topic catalogue: every topic ketenlog reads or writes, used by producers,
processors, topic creation and tests alike.

All topics are keyed by the pseudonymous person key, have the same partition count and use
the same partitioner (murmur2, as the Java client and kafka-python), so one person's events
land in the same partition number on every topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Org(StrEnum):
    """The chain organisations that publish events (domain reference §1): the one list, from
    which the topics, the schema directories' owners, `ketenlog publish --org` and the simulator's
    output files derive. The contract itself does not list them (envelope.producer is a string),
    so adding one here changes no released schema; docs/extending.md says what else to add.
    """

    IND = "IND"
    COA = "COA"
    DTV = "DTV"
    KMAR = "KMAR"
    AVIM = "AVIM"
    NIDOS = "NIDOS"
    DJI = "DJI"
    GEMEENTE = "GEMEENTE"
    RECHTSPRAAK = "RECHTSPRAAK"
    IOM = "IOM"
    MINISTERIE = "MINISTERIE"
    RVR = "RVR"
    """Raad voor Rechtsbijstand: assigns asylum seekers a lawyer (legal aid)."""


# Steps two organisations take, each at its own posts: the type's owner (its schema directory)
# and the organisations named here may publish it, each on its own topic. KMar does at the
# border posts it controls (Schiphol, the seaports) what AVIM does inland: the report, the
# identification and registration, the biometrics and the Eurodac check, all part of the
# screening (Screening Regulation 2024/1356 art. 14-16). AVIM screens persons found within the
# territory (art. 7), which KMar does at the external border (art. 5).
CO_PUBLISHERS: dict[str, frozenset[Org]] = {
    "ArrivalReported": frozenset({Org.KMAR}),
    "BiometricsCaptured": frozenset({Org.KMAR}),
    "IdentityRegistered": frozenset({Org.KMAR}),
    "EurodacHitReceived": frozenset({Org.KMAR}),
    "ScreeningStarted": frozenset({Org.AVIM}),
    "ScreeningCompleted": frozenset({Org.AVIM}),
}

TIMELINE = "keten.timeline"
DEADLETTER = "keten.deadletter"

# -1 = keep forever: agency topics are the system of record.
RETAIN_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
# System time the publisher cannot set: the broker refuses an agency record whose timestamp
# (set by the publisher, covered by its chain link) is more than this off the broker's own
# clock, so the timestamp on the log is the broker's time within this tolerance. "As known
# at" rests on it, not on the publisher's recorded_at (docs/audit.md). LogAppendTime would
# overwrite the timestamp the chain link covers; CreateTime with bounds keeps it.
TIMESTAMP_TOLERANCE_MS = 5 * 60 * 1000
BROKER_TIME = {
    "message.timestamp.type": "CreateTime",
    "message.timestamp.before.max.ms": str(TIMESTAMP_TOLERANCE_MS),
    "message.timestamp.after.max.ms": str(TIMESTAMP_TOLERANCE_MS),
}
# The dead-letter topic is evidence for operators; keep it too.
RETAIN_DEADLETTER = RETAIN_FOREVER


def event_topic(org: Org | str) -> str:
    """The topic an organisation publishes on: `keten.<org>.events`."""
    return f"keten.{Org(org).value.lower()}.events"


def inbox_topic(org: Org | str) -> str:
    """The topic an organisation receives on: `keten.<org>.inbox`, what the subscription policy
    (schemas/subscriptions.toml) lets it see of the other organisations' events. Written by the
    distribution principal alone, read by the organisation alone (schemas/access.py)."""
    return f"keten.{Org(org).value.lower()}.inbox"


def owner_of(topic: str) -> Org | None:
    """The organisation that owns an event topic, or None for a topic no organisation owns."""
    return _OWNERS.get(topic)


# The processors ask for every record; a dict answers in a lookup.
_OWNERS = {event_topic(org): org for org in Org}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    purpose: str
    config: dict[str, str]


def catalogue() -> list[TopicSpec]:
    """Every topic, in a stable order: one per organisation, then the timeline and dead letters,
    then one inbox per organisation."""
    specs = [
        TopicSpec(
            event_topic(org), f"events published by {org.value}", RETAIN_FOREVER | BROKER_TIME
        )
        for org in Org
    ]
    specs.append(
        TopicSpec(TIMELINE, "the one validated, de-duplicated chain timeline", dict(RETAIN_FOREVER))
    )
    specs.append(
        TopicSpec(
            DEADLETTER, "records that failed validation, with the reason", dict(RETAIN_DEADLETTER)
        )
    )
    # Kept forever like the timeline it is derived from: what each organisation was sent, and
    # under which rule, is evidence for auditors.
    specs += [
        TopicSpec(
            inbox_topic(org),
            f"what {org.value} may see of other organisations' events",
            dict(RETAIN_FOREVER),
        )
        for org in Org
    ]
    return specs


def event_topics() -> list[str]:
    return [event_topic(org) for org in Org]
