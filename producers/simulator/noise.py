"""What real feeds do to the clean facts: late recording, out-of-order delivery across
organisations, re-sends (same ref, same event id), corrections (`corrects`) and retractions
(EventRetracted with `retracts`). Also, separately, malformed raw records for the dead letters.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from producers.identity import event_id
from producers.simulator.calendar import DAY, HOUR, MINUTE
from producers.simulator.facts import Fact
from producers.simulator.params import Noise


@dataclass
class Noisy:
    facts: list[Fact]
    """Every fact that is sent at least once, wrong versions and retractions included."""
    superseded: set[int]
    """id() of the facts a later fact corrects or retracts (not effective)."""
    deliveries: list[tuple[int, int, Fact]]
    """(delivery time, tie-break, fact) in delivery order; re-sends appear twice."""


def apply(
    facts: list[Fact],
    noise: Noise,
    rng: random.Random,
    locations: dict[str, list[str]],
    horizon: int,
) -> Noisy:
    low, high = noise.late_days
    for f in facts:
        if rng.random() < noise.late_share:
            f.rec = f.occ + int(rng.uniform(low, high) * DAY)
        else:
            f.rec = f.occ + rng.randrange(MINUTE, 6 * HOUR)
    out: list[Fact] = []
    superseded: set[int] = set()
    for f in facts:
        if f.person is None:
            out.append(f)
            continue
        u = rng.random()
        if u < noise.correction_share:
            wrong = _wrong_version(f, rng, locations, horizon)
            fix = f.clone(f.ref + "-c")
            fix.corrects = event_id(f.org, wrong.ref)
            fix.rec = max(f.occ, wrong.rec) + rng.randrange(DAY, 20 * DAY)
            out.append(wrong)
            out.append(fix)
            superseded.add(id(wrong))
        elif u < noise.correction_share + noise.retraction_share:
            out.append(f)
            error = f.clone(f.ref + "-e")
            same = rng.random() < 0.5
            if not same:
                error.occ = max(0, f.occ - rng.randrange(DAY, 10 * DAY))
                error.rec = max(error.occ, f.rec - DAY)
            retraction = Fact(
                f.org,
                "EventRetracted",
                error.rec + rng.randrange(DAY, 10 * DAY),
                f.person,
                f.subject,
                f.case_id,
                f.ref + "-r",
                {"reason": "DUPLICATE" if same else "RECORDED_IN_ERROR"},
                f.sensitivity,
            )
            retraction.rec = retraction.occ + rng.randrange(MINUTE, HOUR)
            retraction.retracts = event_id(f.org, error.ref)
            out.append(error)
            # A retraction after the horizon is never sent: the error then stays in the log,
            # is effective, and the ground truth must count it.
            if retraction.occ < horizon:
                out.append(retraction)
                superseded.add(id(error))
        else:
            out.append(f)
    deliveries = [(f.rec, i, f) for i, f in enumerate(out)]
    n = len(out)
    for i, f in enumerate(out):
        if rng.random() < noise.duplicate_share:
            deliveries.append((f.rec + rng.randrange(10 * MINUTE, 3 * DAY), n + i, f))
    deliveries.sort(key=lambda d: (d[0], d[1]))
    return Noisy(out, superseded, deliveries)


def _wrong_version(
    f: Fact, rng: random.Random, locations: dict[str, list[str]], horizon: int
) -> Fact:
    wrong = f.clone(f.ref)
    key = {"PlacedAtLocation": "location_id", "Relocated": "to_location_id"}.get(f.type)
    kind = f.data.get("location_type") or f.data.get("to_location_type")
    others = [x for x in locations.get(str(kind), []) if x != f.data.get(key or "")]
    if key and others:
        wrong.data[key] = rng.choice(others)
    else:
        shift = rng.randrange(DAY, 5 * DAY)
        wrong.occ = (
            f.occ - shift if f.occ + shift >= horizon or rng.random() < 0.5 else f.occ + shift
        )
        wrong.rec = max(wrong.rec, wrong.occ + MINUTE)
    return wrong


@dataclass(frozen=True)
class Malformed:
    """A raw record for a topic that the timeline processor must dead-letter."""

    org: str
    kind: str
    description: str
    value: bytes


def malformed(rng: random.Random, share: float, events_per_org: dict[str, int]) -> list[Malformed]:
    """Garbage bytes, a wrong magic, an unknown schema fingerprint, a truncated header, JSON
    instead of Avro, an empty value; in stable order per organisation."""
    out: list[Malformed] = []
    for org in sorted(events_per_org):
        for _ in range(round(events_per_org[org] * share)):
            kind = rng.choice(
                ("garbage", "wrong_magic", "unknown_fingerprint", "truncated", "json", "empty")
            )
            body = rng.randbytes(rng.randrange(8, 120))
            if kind == "garbage":
                value, text = body, "random bytes"
            elif kind == "wrong_magic":
                value, text = b"\xc3\x02" + body, "single-object marker C3 02 instead of C3 01"
            elif kind == "unknown_fingerprint":
                value, text = b"\xc3\x01" + rng.randbytes(8) + body, "fingerprint of no schema"
            elif kind == "truncated":
                value, text = b"\xc3\x01" + rng.randbytes(rng.randrange(0, 8)), "header cut short"
            elif kind == "json":
                value = json.dumps({"type": "ArrivalReported", "data": {}}).encode()
                text = "a JSON submission instead of an Avro record"
            else:
                value, text = b"", "empty value"
            out.append(Malformed(org, kind, text, value))
    return out
