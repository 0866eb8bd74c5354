"""`ketenlog distribute` on the session's real, secured broker and a real PostgreSQL: after the
session's simulated period is processed, the municipalities' inbox read with the gemeente
principal holds, of the simulated persons, only persons the SIMULATOR linked to (or housed in)
the delivery's municipality, each (municipality, event) once and every link in effect; a
second run delivers nothing new. Checked against the simulator's submissions, not against the
processor's own output."""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict

import psycopg
import pytest

from domain.facts import Fact
from processors.distribution import HEADER_GEMEENTE, HEADER_POLICY, HEADER_RECIPIENT, HEADER_RULE
from producers.prepare import Preparer
from schemas.codec import default_codec
from schemas.topics import inbox_topic
from tests.conftest import RunningServices
from tests.integration.kafka_tools import end_offsets, read_from
from tests.integration.pipeline import Published, ketenlog

pytestmark = pytest.mark.integration

HOUSING_STEPS = ("LinkedToMunicipality", "HousingAllocated")


def simulated_facts(services: RunningServices, published: Published) -> list[Fact]:
    """The simulator's submissions as the chain's facts (same chain key, same event ids)."""
    preparer = Preparer(published.chain_key, services.settings.oin_prefix)
    codec = default_codec()
    return [
        Fact.from_record(codec.decode(preparer.prepare(org, sub).value).record)
        for org, sub in published.submissions
        if sub.v_nummer
    ]


def test_the_municipalities_inbox_holds_linked_persons_each_entitled_event_once(
    services: RunningServices, published: Published, processed_db: str, fresh_db: str
) -> None:
    inbox = inbox_topic("GEMEENTE")
    gemeente = services.kafka("gemeente")
    start = end_offsets(gemeente, inbox)
    group = f"ketenlog-distribution-{uuid.uuid4().hex[:8]}"

    done = ketenlog(services, fresh_db, "distribute", "--until-idle", "--group", group)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "idle: all timeline records present at start are distributed" in done.stderr

    ours = [
        r
        for r in read_from(gemeente, inbox, start)
        if r.key is not None and r.key.decode() in published.person_keys
    ]
    assert ours, "the simulated period should deliver something to the municipalities"

    facts = simulated_facts(services, published)
    places: dict[str, set[str]] = defaultdict(set)
    for f in facts:
        if f.event_type in HOUSING_STEPS:
            places[f.person_key].add(f"GEMEENTE:{f.data['municipality_code']}")
    by_id = {(f.person_key, f.event_id): f for f in facts}

    sent: Counter[tuple[str, str, str]] = Counter()
    codec = default_codec()
    for r in ours:
        assert r.key is not None and r.value is not None
        headers = dict(r.headers)
        person, recipient = r.key.decode(), headers[HEADER_RECIPIENT].decode()
        # A person the simulator linked to, or housed in, that municipality.
        assert recipient in places[person], (person, recipient)
        # The label a one-municipality consumer filters the shared inbox on.
        assert headers[HEADER_GEMEENTE].decode() == recipient.split(":", 1)[1]
        # The timeline record as it was: the event the simulator made, under its own id.
        event_id = headers["ce_id"].decode()
        assert (person, event_id) in by_id
        assert str(codec.decode(r.value).record["envelope"]["event_id"]) == event_id
        assert headers[HEADER_RULE] == b"gemeente-housing-of-linked"
        assert headers[HEADER_POLICY].startswith(b"v1+")
        sent[(recipient, person, event_id)] += 1
    assert set(sent.values()) == {1}, [k for k, n in sent.items() if n > 1][:5]

    # Every link COA made is delivered to its municipality (unless later undone).
    undone = {f.retracts or f.corrects for f in facts} - {None}
    links = [f for f in facts if f.event_type == "LinkedToMunicipality"]
    assert len(links) >= 5, "the simulated period should link status holders"
    for f in links:
        if f.event_id in undone:
            continue
        code = f"GEMEENTE:{f.data['municipality_code']}"
        assert (code, f.person_key, f.event_id) in sent, f

    # What the table counts is what went out.
    with psycopg.connect(fresh_db) as conn:
        counted = conn.execute(
            "SELECT count(*) FROM distribution.deliveries"
            " WHERE org = 'GEMEENTE' AND person_key = ANY(%s)",
            (sorted(published.person_keys),),
        ).fetchone()
    assert counted is not None and counted[0] == len(sent)
    shown = ketenlog(
        services, fresh_db, "subscriptions", "--received", "GEMEENTE", "--format", "json"
    )
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [row["rule"] for row in rows] == ["gemeente-housing-of-linked"]
    assert rows[0]["deliveries"] >= len(sent)

    # Again, as another group that reads the timeline from its start (a lost position, a
    # rebalance to a worker that never saw one): the deliveries table sends nothing new.
    before = end_offsets(gemeente, inbox)
    other = f"{group}-again"
    again = ketenlog(services, fresh_db, "distribute", "--until-idle", "--group", other)
    assert again.returncode == 0, again.stderr[-3000:]
    assert end_offsets(gemeente, inbox) == before
