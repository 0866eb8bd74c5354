"""Issue 14's judgement on erasure: after `ketenlog erase` of a simulated person, a scan of
every topic, table and export finds none of that person's personal fields in clear,
`ketenlog verify` passes, and the totals of every projection equal those before the erasure."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from infra.archive import open_archive
from infra.person_keys import PersonKeyStore
from producers.prepare import Preparer
from producers.pseudonym import person_key
from producers.publisher import Publisher
from producers.simulator import SimParams, simulate
from schemas.codec import default_codec
from schemas.sealing import open_record, personal_fields
from schemas.topics import DEADLETTER, TIMELINE, event_topics
from tests.conftest import RunningServices
from tests.integration.kafka_tools import Record, read_from
from tests.integration.pipeline import ketenlog

pytestmark = pytest.mark.integration


def _publish(
    services: RunningServices, keys: PersonKeyStore
) -> tuple[str, dict[str, Any], set[str]]:
    """A short simulated period, sealed with `keys`: one person with an identity, that
    identity, and every person published."""
    chain = f"erase-{uuid.uuid4().hex}".encode()
    sim = simulate(
        SimParams(seed=14, scale=0.002, start=date(2026, 4, 1), end=date(2026, 4, 30)),
        chain_key=chain,
    )
    preparer = Preparer(chain, services.settings.oin_prefix, person_keys=keys.key_for)
    publishers: dict[str, Publisher] = {}
    chosen: tuple[str, dict[str, Any]] | None = None
    persons: set[str] = set()
    for org, sub in sim.submissions():
        pub = publishers.get(org.value)
        if pub is None:
            pub = publishers[org.value] = Publisher(
                org, preparer, services.kafka(org.value), signer=services.signer(org.value)
            )
        pub.publish(sub)
        if sub.v_nummer:
            persons.add(person_key(sub.v_nummer, chain))
        if chosen is None and sub.type == "IdentityRegistered" and sub.v_nummer:
            chosen = (person_key(sub.v_nummer, chain), dict(sub.data))
    for pub in publishers.values():
        pub.flush()
        pub.close()
    assert chosen is not None
    return (*chosen, persons)


def _process(services: RunningServices, dsn: str, group: str, env: dict[str, str]) -> None:
    done = ketenlog(services, dsn, "process", "--group", group, "--until-idle", env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _totals(dsn: str) -> dict[str, int]:
    """Rows of every projection table, and inflow by kind (what each figure counts)."""
    with psycopg.connect(dsn) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename NOT IN"
                " ('timeline_events', 'consumer_positions', 'schema_migrations')"
                " AND tablename NOT LIKE 'worker%' ORDER BY 1"
            )
        ]
        out = {}
        for t in tables:
            (out[t],) = conn.execute(f"SELECT count(*) FROM public.{t}").fetchall()[0]
        for kind, n in conn.execute("SELECT kind, count(*) FROM inflow_items GROUP BY kind"):
            out[f"inflow:{kind}"] = n
    return out


def _person_rows(dsn: str, person: str) -> str:
    """Every row of every table that names the person, as text."""
    with psycopg.connect(dsn) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
                " AND column_name = 'person_key'"
            )
        ]
        return "\n".join(
            text
            for t in tables
            for (text,) in conn.execute(
                f"SELECT row_to_json(x)::text FROM public.{t} x WHERE person_key = %s", (person,)
            )
        )


def _clear_on_log(
    records: list[Record], person: str, nationality: str, keys: PersonKeyStore
) -> list[str]:
    """Personal values of the person readable in records: in clear bytes, or opened."""
    codec = default_codec()
    found = []
    for r in records:
        if r.key != person.encode() or r.value is None:
            continue
        if b"\x06" + nationality.encode() in r.value:
            found.append(f"{r.topic}@{r.offset}: nationality in clear")
        decoded = codec.decode(r.value)
        reader = codec.registry.get(decoded.event_type, decoded.reader_version)
        writer = codec.registry.get(decoded.event_type, decoded.version)
        record = dict(decoded.record)
        assert not open_record(writer, reader, record, keys.key)
        opened = {f: record[f] for f in personal_fields(reader) if record[f] is not None}
        if opened:
            found.append(f"{r.topic}@{r.offset}: {opened}")
    return found


def test_erase_leaves_no_clear_personal_value_and_every_total_as_it_was(
    services: RunningServices, fresh_db: str, tmp_path: Path
) -> None:
    store = tmp_path / "keys" / "persons.sqlite"
    env = {"KETENLOG_PERSON_KEYS": str(store)}
    keys = PersonKeyStore(store)
    person, identity, published = _publish(services, keys)
    nationality = str(identity["nationality"])
    group = f"erase-{uuid.uuid4().hex[:8]}"
    _process(services, fresh_db, group, env)

    before = _totals(fresh_db)
    rows = _person_rows(fresh_db, person)
    assert f'"{nationality}"' in rows, "the scan finds the person's clear values before erasure"
    topics = [*event_topics(), TIMELINE]
    log = [r for t in topics for r in read_from(services.kafka("auditor"), t)]
    assert _clear_on_log(log, person, nationality, keys), "the store's key opens them before"

    erased = ketenlog(
        services, fresh_db, "erase", person, "--reason", "test: request 14", "--org", "AVIM",
        env=env,
    )  # fmt: skip
    assert erased.returncode == 0, erased.stderr[-3000:]
    _process(services, fresh_db, group, env)

    keys = PersonKeyStore(store)  # a new reader: nothing cached from before
    log = [r for t in topics for r in read_from(services.kafka("auditor"), t)]
    assert any(r.key == person.encode() for r in log)
    assert _clear_on_log(log, person, nationality, keys) == []
    rows = _person_rows(fresh_db, person)
    assert f'"{nationality}"' not in rows
    assert '"nationality":"UNKNOWN"' in rows.replace(" ", "")
    with psycopg.connect(fresh_db) as conn:
        facts = [
            json.loads(text)
            for (text,) in conn.execute(
                "SELECT fact::text FROM timeline_events WHERE person_key = %s", (person,)
            )
        ]
    erasures = [f for f in facts if f["type"] == "PersonErased"]
    assert [(e["producer"], e["data"]["reason"]) for e in erasures] == [
        ("AVIM", "test: request 14")
    ]
    personal = [(f["type"], k, v) for f in facts for k, v in f["data"].items() if k in identity]
    assert personal and all(v is None for _, _, v in personal), personal
    assert not [
        r for r in read_from(services.kafka("auditor"), DEADLETTER) if r.key == person.encode()
    ]

    assert _totals(fresh_db) == before, "every total as before the erasure"
    timeline = ketenlog(
        services, fresh_db, "timeline", person, "--format", "json",
        "--purpose", "test: the erasure of request 14 checked",
    )  # fmt: skip
    assert timeline.returncode == 0, timeline.stderr
    assert nationality not in timeline.stdout and "PersonErased" in timeline.stdout
    marked = [e["erased"] for e in json.loads(timeline.stdout)["events"]]
    assert ["nationality", "birth_year", "sex", "documents_presented"] in marked

    archive = tmp_path / "archive"
    exported = ketenlog(services, fresh_db, "export", str(archive), env=env)
    assert exported.returncode == 0, exported.stderr[-3000:]
    exported_log = [
        Record(raw.topic, raw.partition, raw.offset, raw.key, raw.value, raw.headers)
        for topic, partition in open_archive(archive).partitions()
        for raw in open_archive(archive).records(topic, partition)
    ]
    assert any(r.key == person.encode() for r in exported_log)
    assert _clear_on_log(exported_log, person, nationality, keys) == []

    verified = ketenlog(services, fresh_db, "verify", "--no-chains", "--group", group, env=env)
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]

    # Retention under a simulated clock: ten years after the last event, and not again after
    # an erasure.
    early = ketenlog(services, fresh_db, "retention", "--now", "2030-01-01", "--dry-run", env=env)
    assert early.returncode == 0, early.stderr[-3000:]
    late = ketenlog(services, fresh_db, "retention", "--now", "2040-01-01", "--dry-run", env=env)
    assert late.returncode == 0, late.stderr[-3000:]
    mine = published - {person}
    assert not set(early.stdout.split()) & mine
    due = set(late.stdout.split())
    assert mine and mine <= due and person not in due
