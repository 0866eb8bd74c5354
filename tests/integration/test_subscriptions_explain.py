"""`ketenlog subscriptions --explain` against a real PostgreSQL: the person's facts as the
processors stored them, explained for one recipient; a read without a purpose is refused."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from domain.facts import Fact
from projections.db import migrate
from projections.processing_store import FACT_COLUMNS, fact_row
from tests.conftest import RunningServices
from tests.integration.pipeline import ketenlog
from tests.unit.builders import PERSON, decision, ev, lodged, track

pytestmark = pytest.mark.integration


def by(producer: str, event_type: str, day: float, **data: Any) -> Fact:
    fact = replace(ev(event_type, day, **data), producer=producer)
    return replace(fact, topic=f"keten.{producer.lower()}.events", partition=0, offset=int(day))


def stored(dsn: str, facts: list[Fact]) -> None:
    with psycopg.connect(dsn) as conn:
        migrate(conn)
        for fact in facts:
            conn.execute(
                f"INSERT INTO timeline_events {FACT_COLUMNS} VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                fact_row(replace(fact, logged_at=fact.recorded_at)),
            )


def test_explain_reads_the_persons_facts_and_names_the_rules(
    services: RunningServices, fresh_db: str
) -> None:
    link = by("COA", "LinkedToMunicipality", 20, municipality_code="GM0344", task_period="2026-I")
    stored(
        fresh_db,
        [
            lodged(1),
            by("COA", "ReceptionStarted", 1.5, reception_group="REGULAR"),
            track(2, "GENERAL"),
            decision(10, "GRANTED", "A"),
            link,
        ],
    )
    args = ("subscriptions", "--explain", "GEMEENTE:GM0344", PERSON, "--format", "json")
    refused = ketenlog(services, fresh_db, *args)
    assert refused.returncode != 0 and "--purpose" in refused.stderr

    done = ketenlog(services, fresh_db, *args, "--purpose", "audit request 2026-17")
    assert done.returncode == 0, done.stderr
    assert "purpose: audit request 2026-17" in done.stderr
    answer = json.loads(done.stdout)
    seen = {e["type"]: e for e in answer["events"] if e["delivered"]}
    assert set(seen) == {"DecisionIssued", "LinkedToMunicipality"}
    assert seen["DecisionIssued"]["why"].endswith(f"with event {link.event_id}")
    assert len(answer["events"]) == 5 and answer["purpose"] == "audit request 2026-17"

    unknown = ketenlog(
        services, fresh_db, "subscriptions", "--explain", "COA", "ff" * 32, "--purpose", "x"
    )
    assert unknown.returncode == 1 and "no events recorded" in unknown.stderr

    # A person-level read: both explanations are in the read log, with their purposes; the
    # refused one (no purpose) is not, for it read nothing.
    reads = ketenlog(services, fresh_db, "reads", "--format", "json")
    assert reads.returncode == 0, reads.stderr
    logged = [
        (r["person_key"], r["purpose"])
        for r in json.loads(reads.stdout)
        if r["operation"] == "ketenlog subscriptions --explain"
    ]
    assert logged == [(PERSON, "audit request 2026-17"), ("ff" * 32, "x")], logged
