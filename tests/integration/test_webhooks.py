"""Webhooks on the session's real, secured broker, a real PostgreSQL and a real HTTP receiver
on loopback: after `distribute` filled the municipalities' inbox, a webhook registered for one
municipality receives, from a receiver that fails, times out and then recovers, every event of
that municipality's part of the inbox (read here directly from Kafka as the gemeente
principal), each verified by its signature, in inbox order per person, and nothing of another
municipality. A receiver that never recovers ends with everything in the dead letter, visible
in `ketenlog subscriptions --received`; a redelivery after it recovers sends it all, in order."""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from typing import Any

import pytest

from processors.distribution import HEADER_GEMEENTE
from schemas.topics import inbox_topic
from tests.conftest import RunningServices
from tests.integration.kafka_tools import Record, read_from
from tests.integration.pipeline import Published, ketenlog
from tests.integration.webhook_receiver import Received, receiver

pytestmark = pytest.mark.integration

FAST = ("--batch", "15", "--timeout", "1", "--backoff-base", "0.05", "--backoff-cap", "0.3")


def expected_order(records: list[Record], code: str) -> dict[str, list[str]]:
    """Per person, the event ids of `code`'s inbox records in inbox order (each once)."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        headers = dict(r.headers)
        if headers.get(HEADER_GEMEENTE) != code.encode():
            continue
        assert r.key is not None
        person, event_id = r.key.decode(), headers["ce_id"].decode()
        if event_id not in out[person]:
            out[person].append(event_id)
    return dict(out)


def received_order(got: Received) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for event in got.accepted:
        if event["id"] not in out[event["subject"]]:
            out[event["subject"]].append(event["id"])
    return dict(out)


def register(services: RunningServices, dsn: str, code: str, url: str, got: Received) -> int:
    done = ketenlog(services, dsn, "webhooks", "register", f"GEMEENTE:{code}", url)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    got.secret = answer["secret"]
    assert answer["secret"].startswith("whsec_")
    return int(answer["id"])


def listed(services: RunningServices, dsn: str, webhook_id: int) -> dict[str, Any]:
    shown = ketenlog(services, dsn, "webhooks", "list", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    rows = {row["id"]: row for row in json.loads(shown.stdout)}
    assert "secret" not in rows[webhook_id]
    return dict(rows[webhook_id])


def test_a_webhook_receives_every_event_in_order_after_failures_or_from_its_dead_letter(
    services: RunningServices, published: Published, processed_db: str, fresh_db: str
) -> None:
    group = f"ketenlog-distribution-{uuid.uuid4().hex[:8]}"
    done = ketenlog(services, fresh_db, "distribute", "--until-idle", "--group", group)
    assert done.returncode == 0, done.stderr[-3000:]
    inbox = read_from(services.kafka("gemeente"), inbox_topic("GEMEENTE"))
    per_code = Counter(
        dict(r.headers)[HEADER_GEMEENTE].decode()
        for r in inbox
        if HEADER_GEMEENTE in dict(r.headers)
    )
    code, _ = per_code.most_common(1)[0]
    expected = expected_order(inbox, code)
    total = sum(len(ids) for ids in expected.values())
    assert total >= 20, f"the period should give {code} a few batches, not {total}"
    # The inbox itself is at least once: an earlier distribution (another test's, a crash
    # before the commit) may hold an event twice. The sender sends each record.
    records = per_code[code]

    # 1. Three failures, one answer too late for the sender's timeout, then healthy.
    def flaky(n: int) -> tuple[int, float]:
        return (500, 0.0) if n <= 3 else (200, 2.5) if n == 4 else (200, 0.0)

    with receiver(flaky) as (url, got):
        hook = register(services, fresh_db, code, url, got)
        sent = ketenlog(
            services, fresh_db, "webhooks", "run", "--until-idle", "--id", str(hook), *FAST
        )
        assert sent.returncode == 0, sent.stderr[-3000:]
    assert not got.bad_signatures, got.bad_signatures[:3]
    assert got.statuses[:3] == [500, 500, 500]
    assert "no answer within 1 s" in sent.stderr
    assert received_order(got) == expected
    assert {e["ketenlogrecipient"] for e in got.accepted} == {f"GEMEENTE:{code}"}
    assert all(e["specversion"] == "1.0" and e["data"]["envelope"] for e in got.accepted)
    # At least once: the batch that timed out came again; each id is the key to dedupe on.
    assert len(got.accepted) > total
    row = listed(services, fresh_db, hook)
    assert (row["parked"], row["requeued"]) == (0, 0)
    assert row["delivered"] == records
    assert row["failures"] == 4

    # 2. A receiver that is down for good: every batch is tried twice, then parked.
    state = {"up": False}

    def down_then_up(n: int) -> tuple[int, float]:
        return (200, 0.0) if state["up"] else (503, 0.0)

    with receiver(down_then_up) as (url, got):
        hook = register(services, fresh_db, code, url, got)
        args = ("webhooks", "run", "--until-idle", "--id", str(hook), *FAST)
        failed = ketenlog(services, fresh_db, *args, "--max-attempts", "2")
        assert failed.returncode == 0, failed.stderr[-3000:]
        assert not got.accepted
        row = listed(services, fresh_db, hook)
        assert row["parked"] == records and row["delivered"] == 0
        assert row["last_error"] == "HTTP 503"
        shown = ketenlog(services, fresh_db, "subscriptions", "--received")
        assert shown.returncode == 0, shown.stderr
        assert f"{records:>6,}" in shown.stdout and url in shown.stdout

        # It recovers; the dead letter is requeued and sent, each person's events in order.
        state["up"] = True
        requeued = ketenlog(services, fresh_db, "webhooks", "redeliver", str(hook))
        assert requeued.returncode == 0, requeued.stderr
        again = ketenlog(services, fresh_db, *args)
        assert again.returncode == 0, again.stderr[-3000:]
    assert not got.bad_signatures
    assert received_order(got) == expected
    row = listed(services, fresh_db, hook)
    assert (row["parked"], row["requeued"], row["delivered"]) == (0, 0, records)
