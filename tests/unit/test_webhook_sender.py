"""The webhook sender's core (processors.webhook_sender, processors.webhook_events) over an
in-memory store and a scripted receiver: what a webhook is sent, signed how, in which order,
what is parked and when, and that a redelivery keeps each person's order. The edges (aiokafka,
aiohttp, PostgreSQL) are tested in tests/integration/test_webhooks.py."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from domain.webhook_signing import new_secret, secret_key, verify
from ketenlog.webhooks import WebhookError, check_url
from processors.distribution import (
    HEADER_DUE_WITH,
    HEADER_GEMEENTE,
    HEADER_POLICY,
    HEADER_RECIPIENT,
    HEADER_RULE,
)
from processors.webhook_events import UnreadableRecordError, is_for, outgoing
from processors.webhook_sender import (
    WAITS_BEHIND,
    Answer,
    DeadLetterRow,
    Parked,
    SenderOptions,
    StoppedError,
    Webhook,
    WebhookSender,
)
from processors.webhook_worker import http_post
from producers.prepare import Preparer
from producers.submission import Submission
from projections.api_models import WebhookGebeurtenis
from projections.openapi import document
from schemas.cloudevents import build_headers
from schemas.codec import default_codec
from schemas.records import Raw
from schemas.registry import default_registry
from schemas.samples import SAMPLE_PERSON_KEY, sample_record
from schemas.topics import inbox_topic

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PREPARER = Preparer(b"w" * 32, "urn:x", clock=lambda: NOW)
TOPIC = inbox_topic("GEMEENTE")
SECRET = new_secret()


def inbox(offset: int, v_nummer: str, gemeente: str = "GM0344", partition: int = 0) -> Raw:
    sub = Submission(
        type="LinkedToMunicipality",
        v_nummer=v_nummer,
        occurred_at=NOW - timedelta(days=100 - offset),
        ref=f"r{offset}",
        data={"municipality_code": gemeente, "task_period": "2026-I"},
    )
    p = PREPARER.prepare("COA", sub)
    return Raw(TOPIC, partition, offset, p.key, p.value, [*p.headers, *why(gemeente)], 0)


def why(gemeente: str) -> list[tuple[str, bytes]]:
    """The distribution processor's own headers on a municipality's inbox record."""
    return [
        (HEADER_RULE, b"gemeente-housing-of-linked"),
        (HEADER_POLICY, b"v1+0123456789ab"),
        (HEADER_RECIPIENT, f"GEMEENTE:{gemeente}".encode()),
        (HEADER_DUE_WITH, b"5f0c2a4e-0000-4000-8000-000000000000"),
        (HEADER_GEMEENTE, gemeente.encode()),
    ]


def at(p: Parked) -> tuple[int, int]:
    return (p.item.partition, p.item.offset)


class MemoryStore:
    def __init__(self) -> None:
        self.positions: dict[int, int] = {}
        self.dead: list[tuple[Parked, str]] = []  # (parked, status) in seq order
        self.delivered = 0
        self.attempts: list[str | None] = []

    async def blocked(self, webhook_id: int) -> set[str]:
        return {p.item.person_key for p, _ in self.dead}

    async def requeued(self, webhook_id: int, limit: int) -> list[DeadLetterRow]:
        rows = [p.item for p, status in self.dead if status == "requeued"][:limit]
        return [(i.partition, i.offset, i.event_id, i.person_key, i.event) for i in rows]

    async def handled(
        self,
        webhook_id: int,
        *,
        positions: dict[int, int],
        delivered: int = 0,
        parked: Sequence[Parked] = (),
        redelivered: Sequence[tuple[int, int]] = (),
    ) -> None:
        for p, o in positions.items():
            self.positions[p] = max(self.positions.get(p, 0), o)
        for new in parked:
            where = (new.item.partition, new.item.offset)
            kept = [
                i
                for i, (p, _) in enumerate(self.dead)
                if (p.item.partition, p.item.offset) == where
            ]
            if kept:  # as PostgreSQL's ON CONFLICT: the tries add up, the place is kept
                old = self.dead[kept[0]][0]
                tries = old.attempts + new.attempts
                self.dead[kept[0]] = (Parked(new.item, tries, new.error, new.status), new.status)
            else:
                self.dead.append((new, new.status))
        self.dead = [
            (p, s)
            for p, s in self.dead
            if (p.item.partition, p.item.offset) not in set(redelivered)
        ]
        self.delivered += delivered

    async def attempted(self, webhook_id: int, error: str | None) -> None:
        self.attempts.append(error)

    def requeue(self) -> None:
        self.dead = [(p, "requeued") for p, _ in self.dead]


class Receiver:
    """Answers `statuses` in turn (then 200), verifying each signature; keeps accepted bodies."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.accepted: list[dict[str, Any]] = []
        self.requests: list[dict[str, str]] = []

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
        verify(secret_key(SECRET), headers, body, int(time.time()))
        self.requests.append(headers)
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.accepted.extend(json.loads(body))
        return Answer(status)


async def no_sleep(seconds: float) -> None:
    return None


def sender(
    store: MemoryStore, receiver: Receiver, gemeente: str = "GM0344", **kw: Any
) -> WebhookSender:
    hook = Webhook(1, "GEMEENTE", "GM0344", "http://127.0.0.1/hook", SECRET)
    options = SenderOptions(**{"batch": 2, "max_attempts": 3, **kw})
    return WebhookSender(
        hook,
        codec=default_codec(),
        store=store,
        post=receiver.post,
        options=options,
        say=lambda _: None,
        sleep=no_sleep,
    )


def refs(events: list[dict[str, Any]]) -> list[str]:
    """The agency's own references of the events, in the order received."""
    return [e["data"]["envelope"]["source_ref"] for e in events]


def test_a_record_becomes_a_cloudevent_with_what_the_receiver_needs_to_check_it() -> None:
    raw = inbox(7, "1111111111")
    event = outgoing(raw, default_codec()).event
    headers = dict(raw.headers)
    assert event["id"] == headers["ce_id"].decode()
    assert event["type"] == headers["ce_type"].decode()
    assert event["source"].endswith(":systeem:coa")
    assert raw.key is not None and event["subject"] == raw.key.decode()
    assert event["ketenlogrecipient"] == "GEMEENTE:GM0344"
    assert event["ketenlogtopic"] == "keten.coa.events"
    assert base64.b64decode(event["ketenlogavro"]) == raw.value
    assert event["data"]["envelope"]["event_id"] == event["id"]
    assert event["data"]["municipality_code"] == "GM0344"
    json.dumps(event)  # JSON as it is
    assert is_for(raw, "GM0344") and not is_for(raw, "GM0363") and is_for(raw, None)


def test_every_event_type_renders_as_the_openapi_webhook_says() -> None:
    codec, registry = default_codec(), default_registry()
    spec = document()
    body = spec["webhooks"]["inbox"]["post"]["requestBody"]["content"]
    item = body["application/cloudevents-batch+json"]["schema"]["items"]["$ref"]
    assert item.endswith("/WebhookGebeurtenis") and "WebhookGebeurtenis" in str(spec)
    for n, event_type in enumerate(registry.event_types()):
        sv = registry.latest(event_type)
        record = sample_record(sv, seq=n + 1)
        value = codec.encode(event_type, record)
        headers = [*build_headers(event_type, record), *why("GM0363")]
        raw = Raw(TOPIC, 0, n, SAMPLE_PERSON_KEY.encode(), value, headers, 0)
        event = outgoing(raw, codec).event
        WebhookGebeurtenis.model_validate_json(json.dumps(event))
        assert event["type"] == sv.ce_type and event["dataschema"].endswith(sv.path)


def test_a_record_that_is_no_cloudevent_is_named_not_rendered() -> None:
    raw = inbox(3, "1111111111")
    broken = Raw(raw.topic, 0, 3, raw.key, b"\x00junk", raw.headers, 0)
    with pytest.raises(UnreadableRecordError, match=r"keten.gemeente.inbox\[0\]@3"):
        outgoing(broken, default_codec())


def test_batches_are_signed_in_inbox_order_and_only_this_municipalitys() -> None:
    store, rec = MemoryStore(), Receiver()
    raws = [inbox(0, "1111111111"), inbox(1, "2222222222", "GM0363"), inbox(2, "1111111111")]
    raws += [inbox(3, "3333333333"), inbox(4, "3333333333")]
    asyncio.run(sender(store, rec).handle(raws))
    assert refs(rec.accepted) == ["r0", "r2", "r3", "r4"]
    assert len(rec.requests) == 2  # batches of two
    assert all(r["content-type"] == "application/cloudevents-batch+json" for r in rec.requests)
    assert store.positions == {0: 5} and store.delivered == 4 and not store.dead


def test_a_failing_batch_is_parked_after_its_tries_and_its_persons_later_events_wait() -> None:
    store, rec = MemoryStore(), Receiver(500, 503, 500)
    raws = [inbox(0, "1111111111"), inbox(1, "2222222222")]  # the batch that fails
    raws += [inbox(2, "3333333333"), inbox(3, "1111111111")]  # 1111 waits, 3333 goes
    s = sender(store, rec)
    asyncio.run(s.handle(raws))
    assert store.attempts == ["HTTP 500", "HTTP 503", "HTTP 500", None]
    # The same batch keeps its message id over its tries.
    assert len({r["webhook-id"] for r in rec.requests[:3]}) == 1
    assert refs(rec.accepted) == ["r2"]
    parked = [(p.item.offset, p.attempts, p.error) for p, _ in store.dead]
    assert parked == [(0, 3, "HTTP 500"), (1, 3, "HTTP 500"), (3, 0, WAITS_BEHIND)]
    assert store.positions == {0: 4}

    # Requeued: sent in the dead letter's order, and the persons are free again.
    store.requeue()
    while asyncio.run(s.redeliver_once()):
        pass
    assert refs(rec.accepted) == ["r2", "r0", "r1", "r3"]
    assert not store.dead and store.delivered == 4
    asyncio.run(s.handle([inbox(4, "1111111111")]))
    assert refs(rec.accepted)[-1] == "r4"


def test_a_redelivery_that_fails_again_goes_back_to_parked() -> None:
    store, rec = MemoryStore(), Receiver(*([500] * 9))
    s = sender(store, rec)
    asyncio.run(s.handle([inbox(0, "1111111111"), inbox(1, "2222222222"), inbox(2, "3333333333")]))
    assert [s for _, s in store.dead] == ["parked"] * 3
    store.requeue()
    assert asyncio.run(s.redeliver_once()) is False
    assert [s for _, s in store.dead] == ["parked"] * 3
    assert [p.attempts for p, _ in store.dead][:2] == [6, 6]


def test_webhook_urls_are_https_or_loopback_http() -> None:
    assert check_url("https://coa.example.nl/ketenlog") == "https://coa.example.nl/ketenlog"
    assert check_url("http://127.0.0.1:8080/hook")
    assert check_url("http://[::1]/hook")
    assert check_url("http://localhost/hook")
    for bad in ("http://coa.example.nl/hook", "ftp://x/y", "https://u:p@x.nl/", "/hook"):
        with pytest.raises(WebhookError):
            check_url(bad)


def test_a_secret_is_standard_webhooks_whsec_base64() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret_key(secret)) == 32
    assert new_secret() != secret
    for bad in ("abc", "whsec_!!", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError):
            secret_key(bad)


def test_a_stop_between_tries_commits_nothing_of_the_batch() -> None:
    store, rec = MemoryStore(), Receiver(*([500] * 9))
    s = sender(store, rec)

    async def stop_while_waiting(seconds: float) -> None:
        s.request_stop()

    s._sleep = stop_while_waiting
    with pytest.raises(StoppedError):
        asyncio.run(s.handle([inbox(0, "1111111111")]))
    # Not parked, positions not moved: the next sender sends it again.
    assert (store.dead, store.positions, len(rec.requests)) == ([], {}, 1)


def test_an_unreadable_record_is_parked_and_its_person_waits_behind_it() -> None:
    store, rec = MemoryStore(), Receiver()
    first = inbox(0, "1111111111")
    broken = Raw(first.topic, 0, 0, first.key, b"\x00junk", first.headers, 0)
    asyncio.run(sender(store, rec).handle([broken, inbox(1, "1111111111"), inbox(2, "2222222222")]))
    assert refs(rec.accepted) == ["r2"]
    assert [(p.item.offset, p.error[:20]) for p, _ in store.dead] == [
        (0, "keten.gemeente.inbox"),
        (1, WAITS_BEHIND[:20]),
    ]


def test_a_redirect_is_a_failed_try_not_a_delivery() -> None:
    """Over a real socket: aiohttp would follow a 301 with a bodiless GET."""

    async def scenario() -> Answer:
        async def moved(request: web.Request) -> web.Response:
            raise web.HTTPMovedPermanently("/elsewhere")

        async def elsewhere(request: web.Request) -> web.Response:
            return web.Response(status=200)

        app = web.Application()
        app.router.add_post("/hook", moved)
        app.router.add_route("*", "/elsewhere", elsewhere)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with aiohttp.ClientSession() as session:
                post = http_post(session)
                return await post(f"http://127.0.0.1:{port}/hook", b"[]", {}, 5.0)
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()).status == 301
