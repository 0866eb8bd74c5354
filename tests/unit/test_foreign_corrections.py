"""An organisation may correct or retract only its own events: the fold's rule (whatever the
order the facts arrive in), the gate's split where the target is known, the person timeline,
and the live path against the replay's batch path on one log."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from itertools import permutations
from typing import Any

from domain.derive import derive
from domain.facts import Fact
from domain.lifecycle import AnomalyKind, CaseStatus, fold
from domain.person_timeline import person_timeline
from processors.replay import fold_records
from processors.timeline import refuse_foreign
from producers.identity import event_id
from producers.prepare import Preparer
from producers.pseudonym import person_key
from producers.submission import Submission
from schemas.codec import default_codec
from schemas.records import Raw
from schemas.topics import event_topic
from tests.unit.builders import PERSON, T0, arrival, decision, ev, lawyer, lodged, track
from tests.unit.memory_store import NOW, MemoryStore, processor

GRANTED = [arrival(), lodged(), lawyer(1.5), track(2, "GENERAL"), decision(20, "GRANTED", "A")]
THE_DECISION = GRANTED[-1]


def by(org: str, fact: Fact) -> Fact:
    return dataclasses.replace(fact, producer=org)


def status(facts: list[Fact]) -> CaseStatus | None:
    case = fold(facts).case("ZK1")
    assert case is not None
    return case.status


def retraction(org: str, target: str, day: float = 30) -> Fact:
    return by(org, ev("EventRetracted", day, event_id=f"r-{org}", retracts=target, reason="OTHER"))


def test_another_organisations_retraction_is_refused_in_any_order() -> None:
    foreign = retraction("COA", THE_DECISION.event_id)
    facts = [*GRANTED, foreign]
    assert status(GRANTED) is CaseStatus.GRANTED_A
    for order in permutations(facts[-3:]):
        state = fold([*facts[:-3], *order])
        assert [a.kind for a in state.anomalies] == [AnomalyKind.FOREIGN_CORRECTION], order
        assert state.to_json() == fold(facts).to_json()
    assert status(facts) is CaseStatus.GRANTED_A
    assert "r-COA" not in fold(facts).event_ids
    (anomaly,) = fold(facts).anomalies
    assert anomaly.event_id == "r-COA" and "COA retracts" in anomaly.detail
    assert "an event of IND" in anomaly.detail


def test_an_organisations_own_retraction_still_applies() -> None:
    own = retraction("IND", THE_DECISION.event_id)
    assert status([*GRANTED, own]) is CaseStatus.IN_GENERAL
    assert fold([*GRANTED, own]).anomalies == ()


def test_another_organisations_correction_neither_replaces_nor_counts() -> None:
    fix = by(
        "COA",
        ev(
            "DecisionIssued",
            21,
            event_id="coa-fix",
            corrects=THE_DECISION.event_id,
            outcome="REJECTED",
            status=None,
            departure_deadline=None,
        ),
    )
    state = fold([*GRANTED, fix])
    assert status([*GRANTED, fix]) is CaseStatus.GRANTED_A
    assert "coa-fix" not in state.event_ids and THE_DECISION.event_id in state.event_ids
    assert [a.kind for a in state.anomalies] == [AnomalyKind.FOREIGN_CORRECTION]
    # The figures are those of the log without it: as if the gate had dead-lettered it.
    assert derive(PERSON, [*GRANTED, fix]).contributions == derive(PERSON, GRANTED).contributions


def test_retracting_a_refused_correction_is_no_retraction_of_an_unknown_event() -> None:
    fix = by("COA", ev("ReceptionStarted", 21, event_id="c1", corrects=THE_DECISION.event_id))
    undo = retraction("COA", "c1", day=22)
    kinds = [a.kind for a in fold([*GRANTED, fix, undo]).anomalies]
    assert kinds == [AnomalyKind.FOREIGN_CORRECTION]
    assert status([*GRANTED, fix, undo]) is CaseStatus.GRANTED_A


def test_the_person_timeline_says_the_correction_was_refused() -> None:
    foreign = retraction("COA", THE_DECISION.event_id)
    seen = person_timeline(PERSON, [*GRANTED, foreign])
    statuses = {e["event_id"]: e["status"] for e in seen["events"]}
    assert statuses["r-COA"] == f"refused: retracts {THE_DECISION.event_id}, an event of IND"
    assert statuses[THE_DECISION.event_id] == "as recorded"
    assert [a["kind"] for a in seen["anomalies"]] == ["FOREIGN_CORRECTION"]


def test_the_gate_refuses_only_what_it_can_judge() -> None:
    foreign = retraction("COA", THE_DECISION.event_id)
    own = retraction("IND", THE_DECISION.event_id)
    raw = Raw("keten.coa.events", 0, 0, b"k", b"v", [], 0)
    known = {PERSON: {f.event_id: f.producer for f in GRANTED}}
    split = refuse_foreign([(raw, foreign), (raw, own)], known, NOW)
    assert [f.event_id for _, f in split.refused] == ["r-COA"]
    assert [f.event_id for _, f in split.accepted] == ["r-IND"]
    (dead,) = split.deadletters
    headers = dict(dead.headers)
    assert headers["dl_reason"] == b"FOREIGN_CORRECTION"
    assert b"an event of IND" in headers["dl_detail"]
    # The target not stored yet, nor earlier in the batch: cannot be judged, goes on.
    assert refuse_foreign([(raw, foreign)], {}, NOW).refused == []
    # The target earlier in the same batch counts.
    later = refuse_foreign([(raw, THE_DECISION), (raw, foreign)], {}, NOW)
    assert [f.event_id for _, f in later.refused] == ["r-COA"]


KEY = b"foreign-corrections-test-chain-key-0123"
PREPARER = Preparer(KEY, "urn:x", clock=lambda: NOW)
PERSON_KEY = person_key("1234567890", KEY)


def _record(org: str, offset: int, sub: Submission) -> Raw:
    p = PREPARER.prepare(org, sub)
    return Raw(event_topic(org), 0, offset, p.key, p.value, p.headers, int(NOW.timestamp() * 1000))


def _sub(type_: str, day: int, ref: str, **fields: Any) -> Submission:
    return Submission(
        type=type_,
        v_nummer="1234567890",
        case_id="ZK1",
        occurred_at=T0 + timedelta(days=day),
        ref=ref,
        **fields,
    )


RETRACT = {"reason": "OTHER"}


def _log() -> list[list[Raw]]:
    """Batches: IND lodges; COA retracts it (refused at the gate); COA retracts a second IND
    event before it is on the log (judged by the fold once it arrives); then that event."""
    lodged_ = _sub(
        "AsylumApplicationLodged",
        1,
        "ind-1",
        data={"application_type": "FIRST", "unaccompanied_minor": False},
    )
    ahead = event_id("IND", "ind-2")
    return [
        [_record("IND", 0, lodged_)],
        [
            _record(
                "COA",
                0,
                _sub(
                    "EventRetracted", 2, "coa-r1", retracts=event_id("IND", "ind-1"), data=RETRACT
                ),
            ),
            _record("COA", 1, _sub("EventRetracted", 3, "coa-r2", retracts=ahead, data=RETRACT)),
        ],
        [_record("IND", 1, _sub("TrackAssigned", 4, "ind-2", data={"track": "GENERAL"}))],
    ]


def test_live_and_replay_refuse_alike() -> None:
    batches = _log()
    store = MemoryStore()
    live = processor(store)
    sent: dict[str, list[Any]] = {"keten.timeline": [], "keten.deadletter": []}

    async def send(topic: str, outs: list[Any]) -> None:
        sent[topic] += outs

    live._send = send

    async def feed() -> None:
        for batch in batches:
            await live.handle(batch)

    asyncio.run(feed())
    reasons = [dict(d.headers)["dl_reason"] for d in sent["keten.deadletter"]]
    assert reasons == [b"FOREIGN_CORRECTION"], "the judged one, and only it, is a dead letter"
    assert len(sent["keten.timeline"]) == 3, "the target came later: it went on"
    r1 = event_id("COA", "coa-r1")
    on_timeline = {dict(r.headers)["ce_id"].decode() for r in sent["keten.timeline"]}
    assert r1 not in on_timeline and (r1, PERSON_KEY) in store.facts, "stored for the fold"
    (person,) = store.states
    kinds = [a.kind for a in store.anomalies[person]]
    assert kinds.count("FOREIGN_CORRECTION") == 2 and "RETRACTION_OF_UNKNOWN_EVENT" not in kinds
    assert fold(list(store.facts.values())).case("ZK1") is not None

    # The replay reads topic by topic (IND's partition before COA's): it has seen both
    # targets, so both retractions are dead letters there. Which path saw a target first
    # differs; what is stored and derived does not.
    records = [r for batch in batches for r in batch]
    folded = fold_records(
        default_codec(),
        sorted(records, key=lambda r: (r.topic != "keten.ind.events", r.offset)),
        set(),
        partitions=None,
        now=NOW,
    )
    assert folded.deadletters == {"FOREIGN_CORRECTION": 2}
    assert {f.event_id for f in folded.refused} == {r1, event_id("COA", "coa-r2")}
    assert {f.key for f in folded.facts} == set(store.facts)
    ((row, n),) = folded.persons
    assert row.anomalies == store.anomalies[person]
    assert row.state_json == store.states[person] and n == store.counts[person]
