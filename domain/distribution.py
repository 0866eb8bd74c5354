"""The distribution decision (issue 15), pure: from one person's facts, which events each
organisation's inbox receives and by which rule of the subscription policy (domain.subscriptions).
A function of the person's history alone — the effective events in valid-time order and the
lifecycle states the fold passes through — so a restart or replay decides the same deliveries;
the distribution processor sends each (recipient, event id) once.

An event matches a rule by type, payload and sensitivity (never the recipient's own event). It
is entitled when the rule's condition holds in the state just before the event or just after it,
or, for a retroactive rule, in any later state too: then it is due with the event that made the
condition true (a person linked to a municipality: their earlier relevant events, then, once).

A retraction or correction follows its target: every recipient entitled to the target in the
history without that retraction or correction (and what corrects or retracts it in turn) gets
it too, whether or not its own type would entitle it; along a chain of corrections, who got any
link gets the next. A refused (foreign) one follows nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.facts import Fact
from domain.lifecycle import PersonState, effective, valid_time_key
from domain.lifecycle.effective import foreign_target, target_of
from domain.lifecycle.person import states_through
from domain.subscriptions import ORG_WIDE, POLICY, Condition, Policy, Rule, audiences
from schemas.topics import Org


def recipient_name(org: Org, audience: str) -> str:
    """`COA`, or `GEMEENTE:GM0344` for a condition that entitles one municipality."""
    return org.value if audience == ORG_WIDE else f"{org.value}:{audience}"


@dataclass(frozen=True, slots=True)
class Delivery:
    recipient: str
    """The organisation (recipient_name): the inbox is its org's, the audience part names the
    municipality within it."""
    event_id: str
    event_type: str
    occurred_at: datetime
    rule: str
    rule_version: int
    due_with: str
    """The event whose arrival made it due: the event itself, or for a retroactive rule the
    later one that made the condition true."""

    @property
    def org(self) -> Org:
        return Org(self.recipient.split(":", 1)[0])

    @property
    def retroactive(self) -> bool:
        return self.due_with != self.event_id


@dataclass(frozen=True, slots=True)
class History:
    """A person's effective events in valid-time order and the state after each prefix:
    `states[0]` before any event, `states[i + 1]` after `events[i]`."""

    events: tuple[Fact, ...]
    states: tuple[PersonState, ...]

    @classmethod
    def of(cls, facts: Iterable[Fact]) -> History:
        facts = list(facts)
        events = effective(facts).events
        person_key = min((f.person_key for f in facts), default="")
        return cls(events, tuple(states_through(person_key, events)))


def deliveries(facts: Iterable[Fact], policy: Policy = POLICY) -> tuple[Delivery, ...]:
    """Every delivery the person's history entitles: each (recipient, event) once, by the
    rule that made it due first (ties: the policy's order); per recipient in valid-time order
    of the events."""
    facts = list(facts)
    base = _entitled(facts, policy)
    out = list(base)
    have = {(d.recipient, d.event_id) for d in base}
    for d in _followers(facts, policy):
        if (d.recipient, d.event_id) not in have:
            have.add((d.recipient, d.event_id))
            out.append(d)
    order = {f.event_id: valid_time_key(f) for f in facts}
    out.sort(key=lambda d: (d.recipient, order[d.event_id]))
    return tuple(out)


def _followers(facts: list[Fact], policy: Policy) -> list[Delivery]:
    """The retractions and corrections, each to whoever got its target (module docstring)."""
    producer_of = {f.event_id: f.producer for f in facts}
    fixes = {
        f.event_id: f
        for f in facts
        if target_of(f) is not None
        and target_of(f) in producer_of
        and foreign_target(f, producer_of) is None
    }
    by_target: dict[str, list[str]] = {}
    for fix in fixes.values():
        by_target.setdefault(target_of(fix) or "", []).append(fix.event_id)

    def descendants(event_id: str) -> set[str]:
        out: set[str] = set()
        todo = [event_id]
        while todo:
            for child in by_target.get(todo.pop(), []):
                if child not in out:
                    out.add(child)
                    todo.append(child)
        return out

    memo: dict[str, dict[str, Delivery]] = {}

    def got(event_id: str) -> dict[str, Delivery]:
        """Recipient -> the delivery by which it got `event_id` before anything fixed it."""
        if event_id in memo:
            return memo[event_id]
        memo[event_id] = {}
        without = descendants(event_id)
        view = [f for f in facts if f.event_id not in without]
        found = {d.recipient: d for d in _entitled(view, policy) if d.event_id == event_id}
        target = target_of(fixes[event_id]) if event_id in fixes else None
        if target is not None:
            for recipient, d in got(target).items():
                found.setdefault(recipient, d)
        memo[event_id] = found
        return found

    out: list[Delivery] = []
    for fix in fixes.values():
        for recipient, original in got(target_of(fix) or "").items():
            out.append(
                Delivery(
                    recipient,
                    fix.event_id,
                    fix.event_type,
                    fix.occurred_at,
                    original.rule,
                    original.rule_version,
                    fix.event_id,
                )
            )
    return out


def _entitled(facts: list[Fact], policy: Policy) -> list[Delivery]:
    """The deliveries the effective history entitles by the rules alone."""
    history = History.of(facts)
    present = _presence(history, {r.condition for r in policy.rules})
    chosen: dict[tuple[str, int], tuple[int, int, Rule]] = {}
    for order, rule in enumerate(policy.rules):
        for j, fact in enumerate(history.events):
            if not rule.matches(fact):
                continue
            for audience, states in present[rule.condition].items():
                due = _due(states, j, rule.retroactive)
                if due is None:
                    continue
                key = (recipient_name(rule.recipient, audience), j)
                if key not in chosen or (due, order) < chosen[key][:2]:
                    chosen[key] = (due, order, rule)
    out = [
        Delivery(
            recipient,
            history.events[j].event_id,
            history.events[j].event_type,
            history.events[j].occurred_at,
            rule.name,
            rule.version,
            history.events[due].event_id,
        )
        for (recipient, j), (due, _, rule) in chosen.items()
    ]
    return out


def _presence(
    history: History, conditions: set[Condition]
) -> dict[Condition, dict[str, list[int]]]:
    """Per condition and audience, the indexes of `history.states` in which it holds (sorted)."""
    out: dict[Condition, dict[str, list[int]]] = {}
    for condition in conditions:
        per: dict[str, list[int]] = {}
        for k, state in enumerate(history.states):
            for audience in audiences(condition, state, history.events[:k]):
                per.setdefault(audience, []).append(k)
        out[condition] = per
    return out


def _due(states: list[int], j: int, retroactive: bool) -> int | None:
    """The index of the event with which event j is due, given the state indexes in which the
    condition holds (state j is just before event j, state j + 1 just after); None: never."""
    first = bisect.bisect_left(states, j)
    if first == len(states):
        return None
    k = states[first]
    if k > j + 1 and not retroactive:
        return None
    # Holding just before or just after the event makes it due with the event itself.
    return max(j, k - 1)


def for_recipient(
    recipient: str, facts: Iterable[Fact], policy: Policy = POLICY
) -> dict[str, Delivery]:
    """One recipient's deliveries of the person, by event id (`subscriptions --explain`)."""
    return {d.event_id: d for d in deliveries(facts, policy) if d.recipient == recipient}
