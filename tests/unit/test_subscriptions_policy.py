"""The subscription policy file (schemas/subscriptions.toml) as domain.subscriptions loads it:
every organisation that has a role receiving events has rules, every rule is checked against
the contract, a wrong rule is refused naming the rule and the field, and the digest follows the
rules' meaning, not their comments."""

from __future__ import annotations

import pytest

from domain.subscriptions import (
    PERSON_EVENT_TYPES,
    POLICY,
    Condition,
    PolicyError,
    parse_policy,
    policy_text,
)
from schemas.topics import Org

GOOD_RULE = """
version = 1
[[rule]]
name = "r"
version = 1
recipient = "COA"
events = ["DecisionIssued"]
condition = "IN_RECEPTION"
retroactive = false
basis = "why"
"""


def test_every_organisation_but_the_ministry_receives_something() -> None:
    receiving = {r.recipient for r in POLICY.rules}
    assert receiving == set(Org) - {Org.MINISTERIE}


def test_every_rule_has_a_basis_and_a_version() -> None:
    for rule in POLICY.rules:
        assert rule.basis.strip(), rule.name
        assert rule.version >= 1, rule.name


def test_the_issue_examples_are_rules() -> None:
    by_name = {r.name: r for r in POLICY.rules}
    gemeente = by_name["gemeente-housing-of-linked"]
    assert gemeente.condition == Condition.LINKED_MUNICIPALITY and gemeente.retroactive
    assert "LinkedToMunicipality" in gemeente.events
    coa = POLICY.rules_for(Org.COA)
    assert any("DecisionIssued" in r.events for r in coa)
    assert any("DepartedIndependently" in r.events for r in coa)
    assert all(r.condition == Condition.IN_RECEPTION for r in coa)
    dtv = by_name["dtv-final-rejections"]
    assert "FinalJudgmentIssued" in dtv.events and "GRANTED" not in dtv.when["outcome"]
    nidos = by_name["nidos-everything-about-its-wards"]
    assert nidos.events == PERSON_EVENT_TYPES
    assert nidos.condition == Condition.UNDER_GUARDIANSHIP


def test_no_rule_delivers_events_that_are_not_about_a_person() -> None:
    not_person = {"LocationOpened", "HousingTaskPublished", "ForecastPublished", "EventRetracted"}
    assert not_person.isdisjoint(PERSON_EVENT_TYPES)
    for rule in POLICY.rules:
        assert rule.events <= PERSON_EVENT_TYPES


def test_the_digest_follows_the_rules_not_the_comments() -> None:
    base = parse_policy(GOOD_RULE)
    assert parse_policy("# a comment\n" + GOOD_RULE).digest == base.digest
    changed = parse_policy(GOOD_RULE.replace('"IN_RECEPTION"', '"ANY_PERSON"'))
    assert changed.digest != base.digest
    assert base.label.startswith("v1+") and base.label[3:] == base.digest[:12]


def test_the_shipped_policy_parses_to_the_loaded_one() -> None:
    assert parse_policy(policy_text()).digest == POLICY.digest


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (('"DecisionIssued"', '"DecisionIsued"'), "'events'"),
        (('"DecisionIssued"', '"LocationOpened"'), "'events'"),
        (('"COA"', '"ACME"'), "'ACME' is not a valid Org"),
        (('"IN_RECEPTION"', '"SOMETIMES"'), "'SOMETIMES' is not a valid Condition"),
        (("retroactive = false", 'retroactive = "no"'), "'retroactive'"),
        (('basis = "why"', 'basis = "why"\nwhom = "x"'), "unknown field(s) whom"),
        (('basis = "why"', 'basis = "why"\nsensitivity = ["SECRET"]'), "'sensitivity'"),
        (('basis = "why"', 'basis = "why"\nwhen = { outcom = ["REJECTED"] }'), "no 'outcom'"),
        (('basis = "why"', 'basis = "why"\nwhen = { outcome = ["REJECTD"] }'), "['REJECTD']"),
    ],
)
def test_a_wrong_rule_is_refused_naming_rule_and_field(change: tuple[str, str], named: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_policy(GOOD_RULE.replace(*change))
    assert "rule 'r'" in str(refused.value) and named in str(refused.value)


def test_a_payload_filter_on_a_real_field_and_value_is_taken() -> None:
    (rule,) = parse_policy(
        GOOD_RULE.replace('basis = "why"', 'basis = "why"\nwhen = { outcome = ["REJECTED"] }')
    ).rules
    assert rule.when == {"outcome": frozenset({"REJECTED"})}


def test_rule_names_are_unique() -> None:
    rule = GOOD_RULE.split("\n", 2)[2]
    with pytest.raises(PolicyError, match="used twice: r"):
        parse_policy(GOOD_RULE + rule)
