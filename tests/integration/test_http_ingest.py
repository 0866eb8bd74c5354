"""Issue 15's judgement of the HTTP ingest, over real sockets against `ketenlog serve`, the
session's secured broker and a fresh database: a CloudEvent posted with an organisation's token
is on that organisation's topic (signed), on the timeline once and in the figures; a request
with an invalid field is refused whole with problem+json naming the event and field, and
nothing of it is published; a source of another organisation is refused; the same events sent
again get the same ids and no duplicate on the timeline; too large is 413, too many is 429."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from producers.identity import event_id
from schemas import signature
from schemas.access import org_principal
from schemas.cloudevents import ce_source
from schemas.registry import default_registry
from schemas.topics import Org, event_topic
from tests.conftest import RunningServices
from tests.integration.kafka_tools import end_offsets, read_from
from tests.integration.pipeline import ketenlog, until_idle
from tests.integration.serving import get, post, serving, tokens

pytestmark = pytest.mark.integration

BATCH = "application/cloudevents-batch+json"
LODGED = default_registry().ce_type("AsylumApplicationLodged")
# A day years before any other test's, and one per run, so the figure's cell holds only these
# applications even on a log that earlier runs wrote to.
FIRST_DAY = date(2012, 1, 1)
# With the partial request's one more, 10: a multiple of the rounding base (5), so shown as is.
PERSONS = 9


def _day(tag: str) -> str:
    return (FIRST_DAY + timedelta(days=int(tag, 16) % 1800)).isoformat()


def _event(tag: str, i: int, source: str, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"IND-HTTP-{tag}-{i}",
        "source": source,
        "type": LODGED,
        "time": f"{_day(tag)}T09:{i:02d}:00+01:00",
        "datacontenttype": "application/json",
        "data": {
            "v_nummer": f"77{tag[:6]}{i:02d}".translate(str.maketrans("abcdef", "123456")),
            "case_id": f"ZK-HTTP-{tag}-{i}",
            "data": {"application_type": "FIRST", "unaccompanied_minor": False, **data},
        },
    }


def _send(base: str, auth: str, events: list[dict[str, Any]], query: str = "") -> Any:
    status, headers, body = post(
        f"{base}/v1/gebeurtenissen{query}",
        json.dumps(events).encode(),
        Authorization=auth,
        **{"Content-Type": BATCH},
    )
    return status, headers, json.loads(body) if body else None


def test_agencies_publish_cloudevents_over_http_as_themselves_only(
    services: RunningServices, fresh_db: str, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    key = f"http-ingest-{uuid.uuid4().hex}"
    store, auth = tokens(tmp_path, "IND", "COA")
    ind_source = ce_source(Org.IND, services.settings.oin_prefix)
    kafka = services.settings.kafka(org_principal(Org.IND))
    topic = event_topic(Org.IND)
    env = {**services.kafka_env, **store, "KETENLOG_CHAIN_KEY": key}
    env |= {"KETENLOG_INGEST_BURST": "6", "KETENLOG_INGEST_PER_MINUTE": "6"}
    good = [_event(tag, i, ind_source) for i in range(PERSONS)]
    with serving(fresh_db, **env) as base:
        before = end_offsets(kafka, topic)
        status, _, answer = _send(base, auth["IND"], good)
        assert status == 201, answer
        ids = [e["eventId"] for e in answer["gebeurtenissen"]]
        assert ids == [event_id("IND", f"IND-HTTP-{tag}-{i}") for i in range(PERSONS)]
        assert answer["geweigerd"] == []
        published = read_from(kafka, topic, before)
        assert sorted(dict(r.headers)["ce_id"].decode() for r in published) == sorted(ids)
        assert all(signature.HEADER in dict(r.headers) for r in published)

        # The same events again: the same ids (on the topic twice, on the timeline once).
        status, _, again = _send(base, auth["IND"], good)
        assert status == 201 and [e["eventId"] for e in again["gebeurtenissen"]] == ids

        # One invalid field refuses the whole request, naming the event and the field.
        after_good = end_offsets(kafka, topic)
        bad = [_event(tag, 10, ind_source), _event(tag, 11, ind_source, application_type="X")]
        status, headers, problem = _send(base, auth["IND"], bad)
        assert status == 400 and headers["Content-Type"].startswith("application/problem+json")
        names = [p["name"] for p in problem["invalidParams"]]
        assert names and all(n.startswith("gebeurtenissen[1].data.application_type") for n in names)
        # Claiming another organisation's source: refused whole.
        coa_source = ce_source(Org.COA, services.settings.oin_prefix)
        status, _, problem = _send(base, auth["IND"], [_event(tag, 12, coa_source)])
        assert status == 403 and "itself" in problem["detail"]
        assert end_offsets(kafka, topic) == after_good, "nothing of a refused request is sent"

        # With gedeeltelijk=true the valid event goes, and the answer lists the refused one.
        status, _, partial = _send(base, auth["IND"], bad, "?gedeeltelijk=true")
        assert status == 201
        assert [e["index"] for e in partial["gebeurtenissen"]] == [0]
        assert [e["index"] for e in partial["geweigerd"]] == [1]
        ids.append(partial["gebeurtenissen"][0]["eventId"])

        # A write-only resource: another method is told which one it takes.
        status, headers, _ = get(f"{base}/v1/gebeurtenissen", Authorization=auth["IND"])
        assert status == 405 and headers["Allow"] == "POST"

        # Too large: 413 before the body is read; too many: 429 with Retry-After.
        status, _, problem = _send(base, auth["COA"], [{"x": "y" * (5 * 1024 * 1024)}])
        assert status == 413, problem
        statuses = [_send(base, auth["COA"], [])[0] for _ in range(8)]
        assert statuses[:5] == [400] * 5 and statuses[-1] == 429
        status, headers, _ = _send(base, auth["COA"], [])
        assert status == 429 and int(headers["Retry-After"]) >= 1

    until_idle(services, fresh_db, f"http-ingest-{tag}")
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute(
            "SELECT event_id::text, count(*) FROM timeline_events WHERE event_id::text = ANY(%s)"
            " GROUP BY event_id",
            (ids,),
        ).fetchall()
    assert sorted(rows) == sorted((i, 1) for i in ids), "each event once on the timeline"
    shown = ketenlog(
        services,
        fresh_db,
        *("query", "inflow", "--by", "day", "--from", _day(tag), "--to", _day(tag)),
        *("--format", "json"),
        env={"KETENLOG_DISCLOSURE_NOISE": "0"},
    )
    assert shown.returncode == 0, shown.stderr
    assert [r["applications"] for r in json.loads(shown.stdout)] == [PERSONS + 1]
