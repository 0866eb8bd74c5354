"""What `ketenlog subscriptions` shows: the explanation of one person's events for one
recipient (each event once, seen or not, by which rule or why not), the recipient names it
accepts, and docs/subscriptions.md's rule-by-rule part, which must equal the policy file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from domain.facts import Fact
from domain.subscription_explain import (
    RecipientError,
    explain,
    parse_recipient,
    policy_lines,
    policy_markdown,
)
from domain.subscriptions import POLICY
from schemas.topics import Org
from tests.unit.builders import decision, ev, lodged, track

DOC = Path(__file__).resolve().parents[2] / "docs" / "subscriptions.md"
BEGIN = "<!-- generated from schemas/subscriptions.toml: begin -->\n"
END = "<!-- generated: end -->\n"


def by(producer: str, event_type: str, day: float, **data: Any) -> Fact:
    return replace(ev(event_type, day, **data), producer=producer)


def history() -> list[Fact]:
    permit = ev("ResidencePermitIssued", 21, permit_type="ASYLUM_A", valid_until=None)
    return [
        lodged(1),
        by("COA", "ReceptionStarted", 1.5, reception_group="REGULAR"),
        track(2, "GENERAL"),
        decision(10, "GRANTED", "A"),
        by("COA", "LinkedToMunicipality", 20, municipality_code="GM0344", task_period="2026-I"),
        permit,
        by("GEMEENTE", "RegisteredInBRP", 22, municipality_code="GM0344"),
        ev("EventRetracted", 23, retracts=permit.event_id, reason="ERROR"),
        lodged(1),
    ]


def test_explain_says_for_every_event_whether_and_why() -> None:
    facts = history()
    answer = explain("gemeente:GM0344", facts)
    assert answer["recipient"] == "GEMEENTE:GM0344" and answer["policy"] == POLICY.label
    why = {e["type"]: (e["delivered"], e["rule"], e["why"]) for e in answer["events"]}
    assert len(answer["events"]) == len({f.event_id for f in facts}), "each event once"
    link = facts[4].event_id
    assert why["DecisionIssued"] == (
        True,
        "gemeente-housing-of-linked v1",
        f"gemeente-housing-of-linked: delivered later, with event {link}",
    )
    assert why["RegisteredInBRP"][2] == "its own event"
    assert why["ResidencePermitIssued"][:1] == (False,)
    assert why["ResidencePermitIssued"][2].startswith("not in effect")
    assert why["TrackAssigned"][2] == "no rule gives GEMEENTE TrackAssigned"
    # The retraction follows the permit GEMEENTE got before it was retracted.
    permit = facts[5].event_id
    assert why["EventRetracted"] == (
        True,
        "gemeente-housing-of-linked v1",
        f"gemeente-housing-of-linked: follows event {permit}, which it retracts",
    )
    assert answer["delivered"] == 3


def test_explain_names_a_condition_that_did_not_hold() -> None:
    answer = explain("COA", [decision(1, "REJECTED")])
    (only,) = answer["events"]
    assert not only["delivered"]
    assert only["why"] == "coa-decisions-in-reception: condition did not hold"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("ACME", "unknown organisation 'ACME'"),
        ("GEMEENTE", "GEMEENTE:GM0344"),
        ("GEMEENTE:Amsterdam", "'Amsterdam' is not a CBS municipality code"),
        ("COA:X", "':X'"),
    ],
)
def test_a_recipient_the_policy_cannot_name_is_refused(text: str, named: str) -> None:
    with pytest.raises(RecipientError, match=named):
        parse_recipient(text)


def test_the_policy_listing_names_every_organisation_and_rule() -> None:
    text = "\n".join(policy_lines())
    assert POLICY.digest in text
    for org in Org:
        assert f"\n{org.value}:" in text
    for rule in POLICY.rules:
        assert f"  {rule.name} v{rule.version}:" in text
    assert "\nMINISTERIE: nothing" in text


def test_the_docs_show_the_policy_as_it_is() -> None:
    doc = DOC.read_text("utf-8")
    assert BEGIN in doc and END in doc
    generated = doc.split(BEGIN, 1)[1].split(END, 1)[0]
    assert generated == policy_markdown(), (
        "docs/subscriptions.md is stale: paste domain.subscription_explain.policy_markdown()"
    )
    for rule in POLICY.rules:
        if rule.design_choice:
            assert rule.design_choice in generated
