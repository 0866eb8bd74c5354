"""The distribution decision on hand-made histories: the issue's examples (a municipality's
status holder, COA's resident, DT&V's rejection, Nidos's ward), the retroactive delivery when a
link is made, and what is never delivered (own events, the ministry, what no rule names)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from domain.distribution import Delivery, deliveries, for_recipient
from domain.facts import Fact
from tests.unit.builders import decision, ev, lodged, track


def by(producer: str, event_type: str, day: float, **data: Any) -> Fact:
    return replace(ev(event_type, day, **data), producer=producer)


def reception(day: float) -> Fact:
    return by("COA", "ReceptionStarted", day, reception_group="REGULAR")


def linked(day: float, municipality: str = "GM0344") -> Fact:
    return by(
        "COA", "LinkedToMunicipality", day, municipality_code=municipality, task_period="2026-I"
    )


def permit(day: float) -> Fact:
    return ev("ResidencePermitIssued", day, permit_type="ASYLUM_A", valid_until=None)


def status_holder() -> list[Fact]:
    return [
        by("AVIM", "ArrivalReported", 0, applicant_group="FIRST", reporting_location="TER_APEL"),
        lodged(1),
        reception(1.5),
        track(2, "GENERAL"),
        decision(10, "GRANTED", "A"),
        linked(20),
        permit(21),
    ]


def to(recipient: str, facts: list[Fact]) -> list[Delivery]:
    return [d for d in deliveries(facts) if d.recipient == recipient]


def test_the_linked_municipality_gets_the_earlier_decision_when_linked_once() -> None:
    facts = status_holder()
    got = to("GEMEENTE:GM0344", facts)
    link = facts[5].event_id
    assert [(d.event_type, d.due_with) for d in got] == [
        ("DecisionIssued", link),
        ("LinkedToMunicipality", link),
        ("ResidencePermitIssued", facts[6].event_id),
    ]
    assert got[0].retroactive and not got[2].retroactive
    assert {d.rule for d in got} == {"gemeente-housing-of-linked"}


def test_no_other_municipality_gets_anything() -> None:
    recipients = {d.recipient for d in deliveries(status_holder())}
    assert [r for r in recipients if r.startswith("GEMEENTE")] == ["GEMEENTE:GM0344"]


def test_a_relinked_person_goes_to_the_new_municipality_from_the_relink() -> None:
    facts = [*status_holder(), linked(30, "GM0363"), ev("PermitWithdrawn", 40, reason="FRAUD")]
    old = {d.event_type for d in to("GEMEENTE:GM0344", facts)}
    new = {d.event_type for d in to("GEMEENTE:GM0363", facts)}
    assert "PermitWithdrawn" not in old and "PermitWithdrawn" in new
    assert "DecisionIssued" in new, "the new municipality gets the file when linked"


def test_coa_hears_of_decisions_and_departures_only_while_in_reception() -> None:
    facts = [
        *status_holder()[:2],
        decision(3, "REJECTED"),
        reception(4),
        track(5, "GENERAL"),
        by("DTV", "DepartedIndependently", 6, destination_country="SYR"),
        by("COA", "ReceptionEnded", 7, reason="DEPARTED"),
        by("KMAR", "DepartureObservedAtBorder", 8, border_post="SCHIPHOL"),
    ]
    got = [d.event_type for d in to("COA", facts)]
    assert got == ["TrackAssigned", "DepartedIndependently"]


def test_dtv_gets_rejections_and_not_grants() -> None:
    rejected = [*status_holder()[:4], decision(10, "REJECTED")]
    assert [d.event_type for d in to("DTV", rejected)] == ["DecisionIssued"]
    assert to("DTV", status_holder()) == []


def test_nidos_gets_its_wards_whole_file_and_nothing_after_eighteen() -> None:
    facts = [
        *status_holder()[:4],
        by("NIDOS", "GuardianshipAssigned", 3, guardianship_kind="TEMPORARY"),
        by("NIDOS", "TurnedEighteen", 8),
        decision(10, "GRANTED", "A"),
    ]
    got = to("NIDOS", facts)
    assert [d.event_type for d in got] == [
        "ArrivalReported",
        "AsylumApplicationLodged",
        "ReceptionStarted",
        "TrackAssigned",
    ]
    assert {d.due_with for d in got} == {facts[4].event_id}


def test_minor_and_special_events_only_where_a_rule_allows_them() -> None:
    facts = [
        *status_holder()[:4],
        by("NIDOS", "GuardianshipAssigned", 3, guardianship_kind="TEMPORARY"),
        replace(by("COA", "IncidentRecorded", 5, kind="HEALTH"), sensitivity="SPECIAL"),
    ]
    special = facts[-1].event_id
    assert [d.recipient for d in deliveries(facts) if d.event_id == special] == ["NIDOS"]


def test_nobody_receives_their_own_events_and_the_ministry_nothing() -> None:
    facts = status_holder()
    producer = {f.event_id: f.producer for f in facts}
    for d in deliveries(facts):
        assert producer[d.event_id] != d.org.value
        assert d.org.value != "MINISTERIE"


def test_explain_is_the_deliveries_of_one_recipient() -> None:
    facts = status_holder()
    explained = for_recipient("GEMEENTE:GM0344", facts)
    assert set(explained) == {d.event_id for d in to("GEMEENTE:GM0344", facts)}
    assert for_recipient("MINISTERIE", facts) == {}


def test_a_retracted_event_is_not_delivered_but_its_retraction_follows_it() -> None:
    facts = status_holder()
    assert "ResidencePermitIssued" in {d.event_type for d in to("GEMEENTE:GM0344", facts)}
    retraction = ev("EventRetracted", 22, retracts=facts[6].event_id, reason="ERROR")
    got = {d.event_type for d in to("GEMEENTE:GM0344", [*facts, retraction])}
    assert got == {"DecisionIssued", "LinkedToMunicipality", "EventRetracted"}
    unentitled = ev("EventRetracted", 22, retracts=facts[1].event_id, reason="ERROR")
    got = {d.event_id for d in to("GEMEENTE:GM0344", [*facts, unentitled])}
    assert unentitled.event_id not in got
