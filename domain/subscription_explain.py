"""What auditors ask of the subscription policy (issue 15), pure: which of a person's events
one recipient may see and by which rule (`ketenlog subscriptions --explain`), and the policy
itself as rows (`ketenlog subscriptions`) and as the generated part of docs/subscriptions.md.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from typing import Any

from domain.distribution import Delivery, for_recipient
from domain.facts import Fact
from domain.lifecycle import effective, valid_time_key
from domain.subscriptions import ALL_TYPES, PERSON_EVENT_TYPES, POLICY, Policy, Rule
from schemas.topics import Org

_CBS_CODE = re.compile(r"GM[0-9]{4}")


class RecipientError(ValueError):
    """A recipient the policy cannot name."""


def parse_recipient(text: str) -> tuple[Org, str | None]:
    """`COA`, or `GEMEENTE:GM0344` (a municipality is a recipient of its own)."""
    org_text, _, unit = text.partition(":")
    try:
        org = Org(org_text.upper())
    except ValueError as exc:
        known = ", ".join(o.value for o in Org)
        raise RecipientError(f"unknown organisation {org_text!r} (one of {known})") from exc
    if org == Org.GEMEENTE and not unit:
        raise RecipientError("a municipality is named by its CBS code: GEMEENTE:GM0344")
    if org == Org.GEMEENTE and not _CBS_CODE.fullmatch(unit):
        raise RecipientError(f"{unit!r} is not a CBS municipality code (GM and four digits)")
    if org != Org.GEMEENTE and unit:
        raise RecipientError(f"{org.value} has no parts: name it without ':{unit}'")
    return org, unit or None


def explain(recipient: str, facts: Iterable[Fact], policy: Policy = POLICY) -> dict[str, Any]:
    """JSON-able: every event of the person in valid-time order, each with whether the
    recipient may see it, by which rule, and why not where it may not."""
    org, unit = parse_recipient(recipient)
    name = org.value if unit is None else f"{org.value}:{unit}"
    facts = list(facts)
    sent = for_recipient(name, facts, policy)
    live = {f.event_id for f in effective(facts).events}
    rules = policy.rules_for(org)
    events = []
    seen: set[str] = set()
    for fact in sorted(facts, key=valid_time_key):
        if fact.event_id in seen:
            continue
        seen.add(fact.event_id)
        delivery = sent.get(fact.event_id)
        events.append(
            {
                "event_id": fact.event_id,
                "type": fact.event_type,
                "producer": fact.producer,
                "occurred_at": fact.occurred_at.isoformat(),
                "delivered": delivery is not None,
                "rule": None if delivery is None else f"{delivery.rule} v{delivery.rule_version}",
                "why": _why(fact, delivery, org, rules, live),
            }
        )
    return {
        "recipient": name,
        "person_key": min((f.person_key for f in facts), default=""),
        "policy": policy.label,
        "events": events,
        "delivered": sum(1 for e in events if e["delivered"]),
    }


def _why(
    fact: Fact, delivery: Delivery | None, org: Org, rules: tuple[Rule, ...], live: set[str]
) -> str:
    if delivery is not None:
        if fact.retracts is not None or fact.corrects is not None:
            verb, target = (
                ("retracts", fact.retracts) if fact.retracts else ("corrects", fact.corrects)
            )
            return f"{delivery.rule}: follows event {target}, which it {verb}"
        if delivery.retroactive:
            return f"{delivery.rule}: delivered later, with event {delivery.due_with}"
        return f"{delivery.rule}: delivered with the event"
    if fact.producer == org.value:
        return "its own event"
    if fact.event_id not in live:
        return "not in effect (retracted, corrected or refused)"
    by_type = [r for r in rules if fact.event_type in r.events]
    if not by_type:
        return f"no rule gives {org.value} {fact.event_type}"
    matching = [r for r in by_type if r.matches(fact)]
    if not matching:
        names = ", ".join(r.name for r in by_type)
        return f"{names}: excluded by payload or sensitivity {fact.sensitivity}"
    return f"{', '.join(r.name for r in matching)}: condition did not hold"


def explain_lines(answer: dict[str, Any]) -> list[str]:
    lines = [
        f"recipient {answer['recipient']}, person {answer['person_key']}, "
        f"policy {answer['policy']}",
        f"{'OCCURRED':<26} {'PRODUCER':<11} {'EVENT':<30} {'SEES':<5} WHY",
    ]
    for e in answer["events"]:
        sees = "yes" if e["delivered"] else "no"
        lines.append(
            f"{e['occurred_at']:<26} {e['producer']:<11} {e['type']:<30} {sees:<5} {e['why']}"
        )
    lines.append(f"\n{answer['delivered']} of {len(answer['events'])} event(s) delivered")
    return lines


def _events_text(rule: Rule) -> str:
    if rule.events == PERSON_EVENT_TYPES:
        return f"{ALL_TYPES} (every event about the person)"
    return ", ".join(sorted(rule.events))


def _when_text(rule: Rule) -> str:
    return "; ".join(f"{k} in {', '.join(sorted(v))}" for k, v in sorted(rule.when.items()))


def policy_lines(policy: Policy = POLICY) -> list[str]:
    """The policy, organisation by organisation (`ketenlog subscriptions`)."""
    lines = [f"subscription policy {policy.label} (sha256 {policy.digest})"]
    for org in Org:
        rules = policy.rules_for(org)
        lines.append(f"\n{org.value}: {len(rules)} rule(s)" if rules else f"\n{org.value}: nothing")
        for rule in rules:
            retro = ", retroactive" if rule.retroactive else ""
            lines.append(f"  {rule.name} v{rule.version}: {rule.condition.value}{retro}")
            lines += textwrap.wrap(
                f"events: {_events_text(rule)}",
                width=100,
                initial_indent="    ",
                subsequent_indent="      ",
            )
            if rule.when:
                lines.append(f"    when: {_when_text(rule)}")
            lines.append(f"    sensitivity: {', '.join(sorted(rule.sensitivity))}")
    return lines


def policy_markdown(policy: Policy = POLICY) -> str:
    """The rule-by-rule part of docs/subscriptions.md (tests keep the file in step)."""
    out = [f"Policy version {policy.version}, label `{policy.label}`.", ""]
    for org in Org:
        rules = policy.rules_for(org)
        out.append(f"#### {org.value}")
        out.append("")
        if not rules:
            out += ["No rule: receives nothing.", ""]
        for rule in rules:
            retro = "retroactive" if rule.retroactive else "not retroactive"
            out.append(
                f"- **{rule.name}** (v{rule.version}) — condition `{rule.condition.value}`, {retro}"
            )
            out.append(f"  - events: {_events_text(rule)}")
            if rule.when:
                out.append(f"  - when: {_when_text(rule)}")
            out.append(f"  - sensitivity: {', '.join(sorted(rule.sensitivity))}")
            out.append(f"  - basis: {rule.basis}")
            if rule.design_choice:
                out.append(f"  - *design choice*: {rule.design_choice}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
