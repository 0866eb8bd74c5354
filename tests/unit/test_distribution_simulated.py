"""The distribution decision over the session's small simulation, checked against the raw
simulated facts, not against the decision's own reasoning: a municipality receives events only
of persons the simulator linked to it (or housed in it), and every link COA made is
delivered to its municipality once (unless retracted or corrected)."""

from __future__ import annotations

from collections import Counter

from domain.distribution import deliveries
from tests.unit.simulated import SUBJECT_KEYS, Folded, facts_by_subject

HOUSING_STEPS = ("LinkedToMunicipality", "HousingAllocated")


def test_municipalities_receive_their_linked_persons_and_all_of_their_links(
    small_run: Folded,
) -> None:
    persons = {
        k: fs for k, fs in facts_by_subject(small_run.sim).items() if not k.startswith(SUBJECT_KEYS)
    }
    linked_persons = 0
    for facts in persons.values():
        got = deliveries(facts)
        to_municipalities = [d for d in got if d.recipient.startswith("GEMEENTE:")]
        places = {
            f"GEMEENTE:{f.data['municipality_code']}"
            for f in facts
            if f.event_type in HOUSING_STEPS
        }
        assert {d.recipient for d in to_municipalities} <= places
        sent = Counter((d.recipient, d.event_id) for d in to_municipalities)
        assert set(sent.values()) <= {1}
        # A link the simulator retracted or corrected later is no longer in effect.
        undone = {f.retracts or f.corrects for f in facts} - {None}
        for f in facts:
            if f.event_type == "LinkedToMunicipality" and f.event_id not in undone:
                assert (f"GEMEENTE:{f.data['municipality_code']}", f.event_id) in sent
        linked_persons += bool(places)
    assert linked_persons >= 50, "the simulation should link enough status holders to test"
