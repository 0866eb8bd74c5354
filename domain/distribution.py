"""The distribution decision (issue 15), pure: from one person's facts, which events each
organisation's inbox receives and by which rule of the subscription policy (domain.subscriptions).
A function of the person's history alone — the effective events in valid-time order and the
lifecycle states the fold passes through — so a restart or replay decides the same deliveries;
the distribution processor sends each (recipient, event id) once.

An event matches a rule by type, payload and sensitivity (never the recipient's own event). It
is entitled when the rule's condition holds in the state just before the event or just after it,
or, for a retroactive rule, in any later state too: then it is due with the event that made the
condition true (a person linked to a municipality: their earlier relevant events, then, once).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.facts import Fact
from domain.lifecycle import PersonState, effective
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
    position = {f.event_id: j for j, f in enumerate(history.events)}
    out.sort(key=lambda d: (d.recipient, position[d.event_id]))
    return tuple(out)


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
