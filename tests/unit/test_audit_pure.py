"""The auditors' pure parts: a person's timeline marks what was corrected and retracted and
names the states passed; moments parse as documented; checksum comparison names every table
period that differs or exists on one side only."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from domain.facts import Fact
from domain.person_timeline import person_timeline
from projections.as_known_at import parse_moment
from projections.checksums import Checksum, compare, per_table
from tests.unit.memory_store import T0

PERSON = "ab" * 16


def event_id(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


def fact(n: int, type_: str, days: int, data: Mapping[str, object], **kw: str) -> Fact:
    return Fact(
        event_id=event_id(n),
        event_type=type_,
        producer="COA",
        person_key=PERSON,
        case_id="ZK-1",
        occurred_at=T0 + timedelta(days=days),
        recorded_at=T0 + timedelta(days=days + 1),
        corrects=kw.get("corrects"),
        retracts=kw.get("retracts"),
        sensitivity="NORMAL",
        data=data,
        topic="keten.coa.events",
        partition=0,
        offset=n,
    )


def test_the_timeline_marks_corrections_and_retractions_and_lists_states() -> None:
    azc = {"location_id": "AZC-1", "location_type": "AZC"}
    facts = [
        fact(1, "ReceptionStarted", 1, {"reception_group": "ASYLUM_SEEKER"}),
        fact(2, "PlacedAtLocation", 2, azc),
        fact(
            3,
            "PlacedAtLocation",
            2,
            {**azc, "location_type": "POL"},
            corrects=fact(2, "", 0, {}).event_id,
        ),
        fact(4, "ReceptionEnded", 9, {"reason": "DEPARTED"}),
        fact(
            5,
            "EventRetracted",
            10,
            {"reason": "RECORDED_IN_ERROR"},
            retracts=fact(4, "", 0, {}).event_id,
        ),
    ]
    timeline = person_timeline(PERSON, facts)
    status = {e["event_id"][-1]: e["status"] for e in timeline["events"]}
    assert status["1"] == "as recorded"
    assert status["2"] == f"corrected by {facts[2].event_id}"
    assert status["3"] == f"corrects {facts[1].event_id}"
    assert status["4"] == f"retracted by {facts[4].event_id}"
    assert status["5"] == f"retracts {facts[3].event_id}"
    assert [e["occurred_at"] for e in timeline["events"]] == sorted(
        e["occurred_at"] for e in timeline["events"]
    )
    reception = [s for s in timeline["states"] if s["lifecycle"] == "RECEPTION"]
    assert reception and reception[-1]["to"] != "ENDED", "the retracted end does not count"
    assert not any(e["changed_state"] for e in timeline["events"] if e["event_id"][-1] in "245")


def test_moments_parse_as_documented() -> None:
    assert parse_moment("2026-03-02") == datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_moment("2026-03-02T12:00:00") == datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert parse_moment("2026-03-02T13:00:00+01:00") == datetime(2026, 3, 2, 12, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_moment("yesterday")


def test_checksum_comparison_names_each_differing_period() -> None:
    live = [
        Checksum("inflow_items", "2026-01", 10, "00aa"),
        Checksum("inflow_items", "2026-02", 12, "00bb"),
        Checksum("coa_stays", "2026-01", 3, "00cc"),
    ]
    replay = [
        Checksum("inflow_items", "2026-01", 10, "00aa"),
        Checksum("inflow_items", "2026-02", 12, "00bc"),
        Checksum("coa_stays", "2026-03", 1, "00dd"),
    ]
    found = {(d.table, d.period) for d in compare(live, replay)}
    assert found == {
        ("inflow_items", "2026-02"),
        ("coa_stays", "2026-01"),
        ("coa_stays", "2026-03"),
    }
    assert compare(live, list(live)) == []
    totals = {c.table: (c.rows, c.digest) for c in per_table(live)}
    assert totals["inflow_items"] == (22, format(0xAA + 0xBB, "016x"))
