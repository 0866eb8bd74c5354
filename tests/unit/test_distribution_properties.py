"""Properties of the distribution decision on generated histories (cases, reception, links to
municipalities, guardianship, rejections, appeals, detention, departures; re-sends and a
retraction): every delivery is entitled by its rule, each entitled event is delivered once, per
recipient in valid-time order, whatever order the facts arrive in; and what a history's
valid-time prefix delivers, the whole history delivers too (a stream in valid-time order sends
nothing it would later disown)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.distribution import Delivery, History, deliveries, recipient_name
from domain.facts import Fact
from domain.lifecycle import fold, valid_time_key
from domain.subscriptions import POLICY, audiences

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PERSON = "cd" * 32

STEPS: list[tuple[str, str, dict[str, Any]]] = [
    ("AVIM", "ArrivalReported", {"applicant_group": "FIRST", "reporting_location": "TER_APEL"}),
    ("IND", "AsylumApplicationLodged", {"application_type": "FIRST", "unaccompanied_minor": True}),
    ("IND", "TrackAssigned", {"track": "GENERAL"}),
    ("IND", "TrackAssigned", {"track": "BORDER"}),
    ("COA", "ReceptionStarted", {"reception_group": "REGULAR"}),
    ("COA", "ReceptionEnded", {"reason": "OTHER"}),
    ("NIDOS", "GuardianshipAssigned", {"guardianship_kind": "TEMPORARY"}),
    ("NIDOS", "TurnedEighteen", {}),
    ("IND", "DecisionIssued", {"outcome": "GRANTED", "status": "A"}),
    ("IND", "DecisionIssued", {"outcome": "REJECTED", "status": None}),
    ("RECHTSPRAAK", "AppealLodged", {"proceeding": "APPEAL"}),
    ("RECHTSPRAAK", "FinalJudgmentIssued", {"outcome": "DISMISSED"}),
    ("DJI", "DetentionOrdered", {"ground": "ART_59"}),
    ("COA", "LinkedToMunicipality", {"municipality_code": "GM0344", "task_period": "2026-I"}),
    ("COA", "LinkedToMunicipality", {"municipality_code": "GM0363", "task_period": "2026-I"}),
    ("IND", "ResidencePermitIssued", {"permit_type": "ASYLUM_A", "valid_until": None}),
    ("DTV", "DepartedIndependently", {"destination_country": "SYR"}),
    ("IOM", "AssistedReturnRequested", {}),
    ("DTV", "TravelDocumentObtained", {"document_type": "LAISSEZ_PASSER"}),
]


def fact(n: int, step: int, hours: int, sensitivity: str) -> Fact:
    producer, event_type, data = STEPS[step]
    at = T0 + timedelta(hours=hours)
    return Fact(
        event_id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"{n}-{step}-{hours}")),
        event_type=event_type,
        producer=producer,
        person_key=PERSON,
        case_id="ZK1",
        occurred_at=at,
        recorded_at=at,
        corrects=None,
        retracts=None,
        sensitivity=sensitivity,
        data=data,
    )


@st.composite
def histories(draw: st.DrawFn) -> list[Fact]:
    steps = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(STEPS) - 1),
                st.integers(0, 24 * 60),
                st.sampled_from(["NORMAL", "NORMAL", "MINOR", "SPECIAL"]),
            ),
            min_size=1,
            max_size=14,
        )
    )
    return [fact(n, step, hours, sens) for n, (step, hours, sens) in enumerate(steps)]


@st.composite
def delivered_in_any_order(draw: st.DrawFn) -> tuple[list[Fact], list[Fact]]:
    facts = draw(histories())
    extra = list(facts)
    resent = draw(st.lists(st.sampled_from(facts), max_size=3))
    extra += resent
    if draw(st.booleans()):
        target = draw(st.sampled_from(facts))
        extra.append(
            Fact(
                event_id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"retract-{target.event_id}")),
                event_type="EventRetracted",
                producer=target.producer,
                person_key=PERSON,
                case_id=None,
                occurred_at=target.occurred_at + timedelta(minutes=1),
                recorded_at=target.occurred_at + timedelta(minutes=1),
                corrects=None,
                retracts=target.event_id,
                sensitivity="NORMAL",
                data={"reason": "ERROR"},
            )
        )
    return extra, draw(st.permutations(extra))


def holding(history: History, rule_index: int) -> dict[str, list[int]]:
    """Per recipient, the state indexes at which the rule's condition entitles it."""
    rule = POLICY.rules[rule_index]
    out: dict[str, list[int]] = {}
    for k, state in enumerate(history.states):
        for audience in audiences(rule.condition, state, history.events[:k]):
            out.setdefault(recipient_name(rule.recipient, audience), []).append(k)
    return out


def entitled(history: History) -> dict[tuple[str, str], set[str]]:
    """(recipient, event id) -> the names of the rules that entitle it, straight from the
    definition: the rule matches the event and its condition holds just before or after it,
    or (retroactive) in any later state."""
    out: dict[tuple[str, str], set[str]] = {}
    for i, rule in enumerate(POLICY.rules):
        for recipient, ks in holding(history, i).items():
            for j, event in enumerate(history.events):
                if not rule.matches(event):
                    continue
                later = [k for k in ks if k >= j]
                if later and (rule.retroactive or later[0] <= j + 1):
                    out.setdefault((recipient, event.event_id), set()).add(rule.name)
    return out


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(histories())
def test_every_delivery_is_entitled_and_every_entitled_event_is_delivered_once(
    facts: list[Fact],
) -> None:
    history = History.of(facts)
    got = deliveries(facts)
    keys = [(d.recipient, d.event_id) for d in got]
    assert len(keys) == len(set(keys)), "delivered twice"
    should = entitled(history)
    assert set(keys) == set(should)
    for d in got:
        assert d.rule in should[(d.recipient, d.event_id)]


@PROPERTY
@given(histories())
def test_per_recipient_the_deliveries_are_in_valid_time_order(facts: list[Fact]) -> None:
    order = {f.event_id: valid_time_key(f) for f in facts}
    per: dict[str, list[Delivery]] = {}
    for d in deliveries(facts):
        per.setdefault(d.recipient, []).append(d)
    for sent in per.values():
        keys = [order[d.event_id] for d in sent]
        assert keys == sorted(keys)


@PROPERTY
@given(delivered_in_any_order())
def test_the_same_deliveries_whatever_order_and_copies_the_facts_arrive_in(
    both: tuple[list[Fact], list[Fact]],
) -> None:
    facts, shuffled = both
    assert deliveries(shuffled) == deliveries(facts)


@PROPERTY
@given(histories(), st.integers(0, 14))
def test_a_valid_time_prefix_delivers_nothing_the_whole_history_does_not(
    facts: list[Fact], cut: int
) -> None:
    ordered = sorted(facts, key=valid_time_key)
    assert set(deliveries(ordered[:cut])) <= set(deliveries(ordered))


@PROPERTY
@given(delivered_in_any_order())
def test_the_states_passed_through_are_the_folds_of_the_prefixes(
    both: tuple[list[Fact], list[Fact]],
) -> None:
    history = History.of(both[1])
    for k, state in enumerate(history.states):
        whole = fold(history.events[:k])
        seen = (state.cases, state.reception, state.guardianship, state.housing, state.event_ids)
        assert seen == (
            whole.cases,
            whole.reception,
            whole.guardianship,
            whole.housing,
            whole.event_ids,
        )


def fix_of(target: Fact, step: int | None, n: int = 0) -> Fact:
    """A retraction of `target` (step None) or its correction by its own producer as the
    step's event type, a minute later."""
    at = target.occurred_at + timedelta(minutes=1)
    base = Fact(
        event_id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"fix-{n}-{step}-{target.event_id}")),
        event_type="EventRetracted",
        producer=target.producer,
        person_key=PERSON,
        case_id=None,
        occurred_at=at,
        recorded_at=at,
        corrects=None,
        retracts=target.event_id,
        sensitivity="NORMAL",
        data={"reason": "ERROR"},
    )
    if step is None:
        return base
    _, event_type, data = STEPS[step]
    return replace(base, event_type=event_type, retracts=None, corrects=target.event_id, data=data)


@PROPERTY
@given(
    histories(),
    st.data(),
    st.lists(st.one_of(st.none(), st.integers(0, len(STEPS) - 1)), min_size=1, max_size=3),
)
def test_a_retraction_or_correction_reaches_whoever_got_what_it_fixes(
    facts: list[Fact], data: st.DataObject, steps: list[int | None]
) -> None:
    # A chain: each fix fixes the one before (a retraction ends it).
    target = data.draw(st.sampled_from(facts))
    chain: list[Fact] = []
    got_any: set[str] = {d.recipient for d in deliveries(facts) if d.event_id == target.event_id}
    for n, step in enumerate(steps):
        fix = fix_of(chain[-1] if chain else target, step, n)
        before = [*facts, *chain]
        got_any |= {d.recipient for d in deliveries(before) if d.event_id == fix_of_target(fix)}
        chain.append(fix)
        after = deliveries([*facts, *chain])
        reached = {d.recipient for d in after if d.event_id == fix.event_id}
        assert got_any <= reached, f"{fix.event_type} missed {got_any - reached}"
        if fix.retracts is not None:
            break
    whole = deliveries([*facts, *chain])
    keys = [(d.recipient, d.event_id) for d in whole]
    assert len(keys) == len(set(keys)), "delivered twice"


def fix_of_target(fix: Fact) -> str:
    return fix.retracts if fix.retracts is not None else fix.corrects or ""


@PROPERTY
@given(histories(), st.data())
def test_a_refused_foreign_retraction_reaches_nobody(
    facts: list[Fact], data: st.DataObject
) -> None:
    target = data.draw(st.sampled_from(facts))
    foreign = replace(
        fix_of(target, None), producer="RECHTSPRAAK" if target.producer != "RECHTSPRAAK" else "IND"
    )
    assert not [d for d in deliveries([*facts, foreign]) if d.event_id == foreign.event_id]
